import { ProblemError } from "../platform/http/problem.js";

/** The 404s of the query side, said the same way by every route that answers them. */
export const lotNotFound = (parkingLotId: string) =>
  new ProblemError("parking-lot-not-found", `Parking lot ${parkingLotId} does not exist.`, { parkingLotId });

/**
 * A lot outside a member of staff's grant: the same 404 and problem type as a missing lot, saying
 * only that no such lot is among the caller's lots, never whether it exists (a lot anyone may see
 * exists; one nobody may see is not theirs to learn of).
 */
export const lotNotAmongYours = (parkingLotId: string) =>
  new ProblemError("parking-lot-not-found", `No parking lot ${parkingLotId} is among your lots.`, {
    parkingLotId,
  });

export const reservationNotFound = (reservationId: string) =>
  new ProblemError("reservation-not-found", `Reservation ${reservationId} does not exist.`, {
    reservationId,
  });
