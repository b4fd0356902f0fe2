import { ProblemError } from "../platform/http/problem.js";

/** The 404s of the query side, said the same way by every route that answers them. */
export const lotNotFound = (parkingLotId: string) =>
  new ProblemError("parking-lot-not-found", `Parking lot ${parkingLotId} does not exist.`, { parkingLotId });

export const reservationNotFound = (reservationId: string) =>
  new ProblemError("reservation-not-found", `Reservation ${reservationId} does not exist.`, {
    reservationId,
  });
