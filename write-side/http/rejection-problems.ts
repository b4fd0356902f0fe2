import { invalidField, ProblemError } from "../../platform/http/problem.js";
import type { CommandRejection as Rejection } from "../payment/payment-rejections.js";

/** How an instant of the answer is written: at the offset the request used. */
type Local = (isoUtc: string) => string;

type ProblemOf = {
  readonly [C in Rejection["code"]]: (
    rejection: Extract<Rejection, { code: C }>,
    local: Local,
  ) => ProblemError;
};

/** The lot and reservation a refusal names, as its problem's facts. */
const ids = (rejection: { parkingLotId: string; reservationId: string }) => ({
  parkingLotId: rejection.parkingLotId,
  reservationId: rejection.reservationId,
});

/** `1 spot`, `2 spots`. */
const count = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

const OFFSET = /(Z|z|[+-]\d{2}:\d{2})$/;

/**
 * The offset of the first instant the request's body names (`startsAt`, `endsAt`, `from`, `until`),
 * so that the answer's times read in the caller's terms; undefined when it names none (UTC then).
 */
export function requestOffset(body: unknown): string | undefined {
  if (typeof body !== "object" || body === null) return undefined;
  for (const field of ["startsAt", "endsAt", "from", "until"]) {
    const value = (body as Record<string, unknown>)[field];
    const offset = typeof value === "string" ? OFFSET.exec(value)?.[1] : undefined;
    if (offset) return offset.toUpperCase();
  }
  return undefined;
}

/** A UTC instant written at `offset` (`+09:00`: `2026-11-23T22:00:00+09:00`); unchanged for UTC. */
export function atOffset(isoUtc: string, offset: string | undefined): string {
  const epoch = Date.parse(isoUtc);
  if (offset === undefined || offset === "Z" || Number.isNaN(epoch)) return isoUtc;
  const sign = offset.startsWith("-") ? -1 : 1;
  const minutes = sign * (Number(offset.slice(1, 3)) * 60 + Number(offset.slice(4, 6)));
  const local = new Date(epoch + minutes * 60_000).toISOString();
  const withoutZone = local.endsWith(".000Z") ? local.slice(0, 19) : local.slice(0, 23);
  return `${withoutZone}${offset}`;
}

const PROBLEMS: ProblemOf = {
  AmountBelowMinimum: (rejection) =>
    new ProblemError(
      "amount-below-minimum",
      `amount ${rejection.amount} ${rejection.currency} is below the smallest card payment the payment provider takes in ${rejection.currency} (${rejection.minimum}): book a longer stay, or pay at the lot.`,
      {
        parkingLotId: rejection.parkingLotId,
        amount: rejection.amount,
        minimum: rejection.minimum,
        currency: rejection.currency,
        errors: [
          {
            field: "body.amount",
            message: `the booking would pay ${rejection.amount}, below the provider's minimum of ${rejection.minimum} ${rejection.currency}`,
          },
        ],
      },
    ),
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
  LotFull: (rejection, local) =>
    new ProblemError(
      "parking-lot-full",
      rejection.capacity === 0
        ? `Parking lot ${rejection.parkingLotId} has no spots.`
        : `Parking lot ${rejection.parkingLotId} is full at ${local(rejection.at)}: ${rejection.capacity === 1 ? "its 1 spot is" : `all ${rejection.capacity} spots are`} taken then. Try another time or lot (GET /parking-lots/${rejection.parkingLotId}/timeline shows when spots are free).`,
      {
        parkingLotId: rejection.parkingLotId,
        capacity: rejection.capacity,
        at: local(rejection.at),
      },
    ),
  ReservationNotFound: (rejection) =>
    new ProblemError(
      "reservation-not-found",
      `Reservation ${rejection.reservationId} does not exist in parking lot ${rejection.parkingLotId}.`,
      ids(rejection),
    ),
  ReservationIdConflict: (rejection) =>
    new ProblemError(
      "idempotency-key-reused",
      "This Idempotency-Key was already used for a reservation with a different car, amount or window; use a new key for a new booking.",
      { parkingLotId: rejection.parkingLotId },
    ),
  ClosureIdConflict: (rejection) =>
    new ProblemError(
      "idempotency-key-reused",
      "This Idempotency-Key was already used for a closure of this lot over another window; use a new key for a new closure.",
      { parkingLotId: rejection.parkingLotId },
    ),
  ReservationNotActive: (rejection) =>
    new ProblemError(
      "reservation-not-active",
      `Reservation ${rejection.reservationId} is ${rejection.status}; it can no longer change.`,
      { ...ids(rejection), reservationStatus: rejection.status },
    ),
  NotCheckedIn: (rejection) =>
    new ProblemError(
      "not-checked-in",
      `Reservation ${rejection.reservationId} has not been checked in.`,
      ids(rejection),
    ),
  StayPriceTooHigh: (rejection) =>
    new ProblemError(
      "stay-price-too-high",
      `Reservation ${rejection.reservationId}'s stay would cost ${rejection.price}, more than one check-out can charge (${rejection.maximum}): settle it at the lot; an operator ends the stay by canceling the reservation.`,
      { ...ids(rejection), price: rejection.price, maximum: rejection.maximum },
    ),
  CheckInTooEarly: (rejection, local) =>
    new ProblemError(
      "check-in-too-early",
      `Check-in for reservation ${rejection.reservationId} opens at ${local(rejection.opensAt)} (its window starts at ${local(rejection.startsAt)}); check in from then on.`,
      { ...ids(rejection), startsAt: local(rejection.startsAt), opensAt: local(rejection.opensAt) },
    ),
  InvalidWindow: (rejection) => invalidField(`body.${rejection.field}`, rejection.detail),
  AmountRequired: (rejection) =>
    invalidField(
      "body.amount",
      "is required for a lot without an hourly rate",
      `amount is required: parking lot ${rejection.parkingLotId} has no hourly rate to price the stay, so the booking names its price.`,
    ),
  AmountNotAccepted: (rejection) =>
    new ProblemError(
      "validation",
      `amount must be left out: parking lot ${rejection.parkingLotId} prices an open-ended stay itself at check-out, at ${rejection.hourlyRate} an hour from check-in (${rejection.offered} was sent).`,
      {
        errors: [
          {
            field: "body.amount",
            message: `must be left out: an open-ended stay is priced at check-out at ${rejection.hourlyRate} an hour`,
          },
        ],
      },
    ),
  AmountNotPositive: () => invalidField("body.amount", "must be greater than 0", "amount must be positive."),
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
  CouponNotAccepted: (rejection) =>
    new ProblemError(
      "coupon-not-accepted",
      rejection.why === "no-discount"
        ? `Parking lot ${rejection.parkingLotId} takes no coupons (it has no coupon discount); book without \`couponId\`.`
        : `An open-ended booking at parking lot ${rejection.parkingLotId} is priced at check-out: there is no price yet to take coupon ${rejection.couponId} off. Spend it on a window (\`startsAt\`, \`endsAt\`), or book without \`couponId\`.`,
      {
        parkingLotId: rejection.parkingLotId,
        couponId: rejection.couponId,
        errors: [{ field: "body.couponId", message: "this lot takes no coupon for this booking" }],
      },
    ),
  CouponNotFound: (rejection) =>
    new ProblemError(
      "coupon-not-found",
      `Coupon ${rejection.couponId} is not one of this customer's coupons (GET /customers/{customerId}/coupons lists them; a coupon issued a moment ago may take a moment to show).`,
      {
        couponId: rejection.couponId,
        errors: [{ field: "body.couponId", message: "not one of this customer's coupons" }],
      },
    ),
  CouponNotSpendable: (rejection) =>
    new ProblemError(
      "coupon-not-spendable",
      {
        REVOKED: `Coupon ${rejection.couponId} was revoked (its reservation was canceled, missed, or its stay too short); it cannot be spent.`,
        REDEEMED: `Coupon ${rejection.couponId} was already spent on another booking; a coupon is spent once (it comes back if that booking is canceled before it starts).`,
        PENDING: `Coupon ${rejection.couponId} is not earned yet: it is spendable once its own stay has lasted the lot's minimum stay or checked out${rejection.spendableFrom ? ` (from ${rejection.spendableFrom})` : ""}.`,
      }[rejection.status],
      {
        couponId: rejection.couponId,
        couponStatus: rejection.status,
        ...(rejection.spendableFrom ? { spendableFrom: rejection.spendableFrom } : {}),
        errors: [{ field: "body.couponId", message: `the coupon is ${rejection.status}` }],
      },
    ),
  TooManyActiveReservations: (rejection) =>
    new ProblemError(
      "too-many-active-reservations",
      `A customer may hold at most ${count(rejection.limit, "active reservation")} in parking lot ${rejection.parkingLotId}.`,
      { parkingLotId: rejection.parkingLotId, limit: rejection.limit },
    ),
  LotClosed: (rejection, local) =>
    new ProblemError(
      "parking-lot-closed",
      `Parking lot ${rejection.parkingLotId} is closed from ${local(rejection.from)} until ${local(rejection.until)}.`,
      { parkingLotId: rejection.parkingLotId, from: local(rejection.from), until: local(rejection.until) },
    ),
  CheckedIn: (rejection) =>
    new ProblemError(
      "reservation-checked-in",
      `Reservation ${rejection.reservationId} is ${rejection.status}: the car is in the lot, so it cannot be canceled; check out instead.`,
      { ...ids(rejection), reservationStatus: rejection.status },
    ),
  TooManyClosures: (rejection) =>
    new ProblemError(
      "too-many-closures",
      `Parking lot ${rejection.parkingLotId} already has ${count(rejection.limit, "closure")} that ${rejection.limit === 1 ? "has" : "have"} not ended; wait for one to end.`,
      { parkingLotId: rejection.parkingLotId, limit: rejection.limit },
    ),
  PaymentPending: (rejection, local) =>
    new ProblemError(
      "payment-pending",
      `Reservation ${rejection.reservationId} is waiting for its payment (until ${local(rejection.holdUntil)}); it can be checked in once the payment is authorized.`,
      { ...ids(rejection), holdUntil: local(rejection.holdUntil) },
    ),
  NotPaid: (rejection) =>
    new ProblemError(
      "not-paid",
      `Reservation ${rejection.reservationId} has no captured payment to refund.`,
      ids(rejection),
    ),
  RefundExceedsCaptured: (rejection) =>
    new ProblemError(
      "refund-exceeds-captured",
      `At most ${rejection.refundable} of reservation ${rejection.reservationId}'s payment can still be refunded (${rejection.asked} was asked).`,
      { ...ids(rejection), refundable: rejection.refundable, asked: rejection.asked },
    ),
  RefundWindowPassed: (rejection, local) =>
    new ProblemError(
      "refund-window-passed",
      `Reservation ${rejection.reservationId}'s refund window has passed${rejection.refundableUntil ? ` (it closed at ${local(rejection.refundableUntil)})` : ""}: the service can no longer refund it.`,
      {
        ...ids(rejection),
        ...(rejection.refundableUntil ? { refundableUntil: local(rejection.refundableUntil) } : {}),
      },
    ),
  // Only the payments process manager sends the command this answers; no route can reach it.
  PaymentNotPending: () => new ProblemError("internal", "A payment command was refused."),
  PaymentMismatch: () => new ProblemError("internal", "A payment command was refused."),
  // Only the scheduler sends the commands these answer; no route can reach them.
  ClosureNotFound: () => new ProblemError("internal", "A time-driven command was refused."),
  NotDue: () => new ProblemError("internal", "A time-driven command was refused."),
  CapacityTooLow: (rejection, local) =>
    new ProblemError(
      "capacity-too-low",
      `At ${local(rejection.at)}, ${count(rejection.held, "spot")} of parking lot ${rejection.parkingLotId} ${rejection.held === 1 ? "is" : "are"} reserved: the capacity cannot go below ${rejection.held}.`,
      { parkingLotId: rejection.parkingLotId, at: local(rejection.at), held: rejection.held },
    ),
};

/**
 * The problem each refusal of the decider is answered with: its type, a sentence and its facts,
 * the times in them at `offset` (the one the request used; UTC without one).
 */
export const rejectionProblem = (rejection: Rejection, offset?: string): ProblemError =>
  (PROBLEMS[rejection.code] as (rejection: Rejection, local: Local) => ProblemError)(rejection, (iso) =>
    atOffset(iso, offset),
  );
