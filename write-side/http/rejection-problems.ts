import { ProblemError } from "../../platform/http/problem.js";
import type { Rejection } from "../parking-lot/decider.js";

type ProblemOf = {
  readonly [C in Rejection["code"]]: (rejection: Extract<Rejection, { code: C }>) => ProblemError;
};

const PROBLEMS: ProblemOf = {
  LotNotFound: (rejection) =>
    new ProblemError("parking-lot-not-found", `Parking lot ${rejection.parkingLotId} does not exist.`, {
      parkingLotId: rejection.parkingLotId,
    }),
  LotAlreadyRegistered: (rejection) =>
    new ProblemError(
      "parking-lot-id-taken",
      `Parking lot ${rejection.parkingLotId} is already registered with other details.`,
      {
        parkingLotId: rejection.parkingLotId,
      },
    ),
  LotFull: (rejection) =>
    new ProblemError(
      "parking-lot-full",
      `All ${rejection.capacity} spots of parking lot ${rejection.parkingLotId} are taken.`,
      {
        parkingLotId: rejection.parkingLotId,
        capacity: rejection.capacity,
      },
    ),
  ReservationNotFound: (rejection) =>
    new ProblemError(
      "reservation-not-found",
      `Reservation ${rejection.reservationId} does not exist in parking lot ${rejection.parkingLotId}.`,
      { parkingLotId: rejection.parkingLotId, reservationId: rejection.reservationId },
    ),
  ReservationIdConflict: (rejection) =>
    new ProblemError(
      "idempotency-key-reused",
      "This Idempotency-Key was already used for a reservation with a different car, amount or window; use a new key for a new booking.",
      { parkingLotId: rejection.parkingLotId },
    ),
  ReservationNotActive: (rejection) =>
    new ProblemError(
      "reservation-not-active",
      `Reservation ${rejection.reservationId} is ${rejection.status}; it can no longer change.`,
      {
        parkingLotId: rejection.parkingLotId,
        reservationId: rejection.reservationId,
        reservationStatus: rejection.status,
      },
    ),
  NotCheckedIn: (rejection) =>
    new ProblemError("not-checked-in", `Reservation ${rejection.reservationId} has not been checked in.`, {
      parkingLotId: rejection.parkingLotId,
      reservationId: rejection.reservationId,
    }),
  CheckInTooEarly: (rejection) =>
    new ProblemError(
      "check-in-too-early",
      `Reservation ${rejection.reservationId} starts at ${rejection.startsAt}.`,
      {
        parkingLotId: rejection.parkingLotId,
        reservationId: rejection.reservationId,
        startsAt: rejection.startsAt,
      },
    ),
  InvalidWindow: (rejection) =>
    new ProblemError("validation", `${rejection.field} ${rejection.detail}.`, {
      errors: [{ field: rejection.field, message: rejection.detail }],
    }),
  AmountRequired: (rejection) =>
    new ProblemError(
      "validation",
      `amount is required: parking lot ${rejection.parkingLotId} has no hourly rate to price the stay, so the booking names its price.`,
      { errors: [{ field: "amount", message: "is required for a lot without an hourly rate" }] },
    ),
  AmountNotAccepted: (rejection) =>
    new ProblemError(
      "validation",
      `amount must be left out: parking lot ${rejection.parkingLotId} prices an open-ended stay itself at check-out, at ${rejection.hourlyRate} an hour from check-in (${rejection.offered} was sent).`,
      {
        errors: [
          {
            field: "amount",
            message: `must be left out: an open-ended stay is priced at check-out at ${rejection.hourlyRate} an hour`,
          },
        ],
      },
    ),
  AmountNotPositive: () =>
    new ProblemError("validation", "amount must be positive.", {
      errors: [{ field: "amount", message: "must be greater than 0" }],
    }),
  PriceChanged: (rejection) =>
    new ProblemError(
      "price-changed",
      `This window costs ${rejection.quote}, not the ${rejection.offered} sent; send ${rejection.quote}, or no amount to accept the quote.`,
      {
        parkingLotId: rejection.parkingLotId,
        quote: rejection.quote,
        amount: rejection.quote,
        offered: rejection.offered,
      },
    ),
  TooManyActiveReservations: (rejection) =>
    new ProblemError(
      "too-many-active-reservations",
      `A customer may hold at most ${rejection.limit} active reservations in parking lot ${rejection.parkingLotId}.`,
      { parkingLotId: rejection.parkingLotId, limit: rejection.limit },
    ),
  LotClosed: (rejection) =>
    new ProblemError(
      "parking-lot-closed",
      `Parking lot ${rejection.parkingLotId} is closed from ${rejection.from} until ${rejection.until}.`,
      { parkingLotId: rejection.parkingLotId, from: rejection.from, until: rejection.until },
    ),
  CheckedIn: (rejection) =>
    new ProblemError(
      "reservation-checked-in",
      `Reservation ${rejection.reservationId} is ${rejection.status}: the car is in the lot, so it cannot be canceled; check out instead.`,
      {
        parkingLotId: rejection.parkingLotId,
        reservationId: rejection.reservationId,
        reservationStatus: rejection.status,
      },
    ),
  TooManyClosures: (rejection) =>
    new ProblemError(
      "too-many-closures",
      `Parking lot ${rejection.parkingLotId} already has ${rejection.limit} closures that have not ended; wait for one to end.`,
      { parkingLotId: rejection.parkingLotId, limit: rejection.limit },
    ),
  // Only the scheduler sends the commands these answer; no route can reach them.
  ClosureNotFound: () => new ProblemError("internal", "A time-driven command was refused."),
  NotDue: () => new ProblemError("internal", "A time-driven command was refused."),
  CapacityTooLow: (rejection) =>
    new ProblemError(
      "capacity-too-low",
      `At ${rejection.at}, ${rejection.held} spots of parking lot ${rejection.parkingLotId} are reserved.`,
      { parkingLotId: rejection.parkingLotId, at: rejection.at, held: rejection.held },
    ),
};

/** The problem each refusal of the decider is answered with: its type, a sentence and its facts. */
export const rejectionProblem = (rejection: Rejection): ProblemError =>
  (PROBLEMS[rejection.code] as (rejection: Rejection) => ProblemError)(rejection);
