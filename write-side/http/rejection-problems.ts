import { invalidField, ProblemError, type ProblemName } from "../../platform/http/problem.js";
import type { CommandRejection as Rejection } from "../payment/payment-rejections.js";

/** How an instant of the answer is written: at the offset the request used. */
type Local = (isoUtc: string) => string;

/**
 * Each refusal's answer: its problem, or only its sentence; then the problem is its code in kebab
 * case (PriceChanged: `price-changed`, unless TYPES names another) with the refusal's facts (factsOf).
 */
type ProblemOf = {
  readonly [C in Rejection["code"]]: (
    rejection: Rejection & { readonly code: C },
    local: Local,
  ) => ProblemError | string;
};

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

/** The instants a refusal names: written at the request's offset. */
const INSTANTS = new Set(["at", "startsAt", "opensAt", "from", "until", "holdUntil", "refundableUntil"]);

/** What factsOf reads of a refusal by name (each refusal has its lot; most a reservation, some a status). */
type Named = { readonly parkingLotId?: string; readonly reservationId?: string; readonly status?: string };

/**
 * The facts of a refusal's problem: what the refusal names (its lot, its reservation, then the rest
 * in its order), the instants at the request's offset, a reservation's status as `reservationStatus`.
 */
function factsOf(
  { code: _, parkingLotId, reservationId, status, ...rest }: Rejection & Named,
  local: Local,
): Record<string, unknown> {
  const facts: Record<string, unknown> = { parkingLotId, ...(reservationId && { reservationId }) };
  for (const [key, value] of Object.entries(rest))
    facts[key] = INSTANTS.has(key) ? local(String(value)) : value;
  if (status !== undefined) facts.reservationStatus = status;
  return facts;
}

/** The problems not named by their refusal's code. */
const TYPES: Partial<Record<Rejection["code"], ProblemName>> = {
  LotNotFound: "parking-lot-not-found",
  LotAlreadyRegistered: "parking-lot-id-taken",
  LotFull: "parking-lot-full",
  LotClosed: "parking-lot-closed",
  CheckedIn: "reservation-checked-in",
};

/** A 500: only the payments process manager and the scheduler send the commands these answer. */
const unreachable = (what: string) => () => new ProblemError("internal", `A ${what} command was refused.`);

const PROBLEMS: ProblemOf = {
  AmountBelowMinimum: (rejection, local) =>
    new ProblemError(
      "amount-below-minimum",
      `amount ${rejection.amount} ${rejection.currency} is below the smallest card payment the payment provider takes in ${rejection.currency} (${rejection.minimum}): book a longer stay, or pay at the lot.`,
      {
        ...factsOf(rejection, local),
        errors: [
          {
            field: "body.amount",
            message: `the booking would pay ${rejection.amount}, below the provider's minimum of ${rejection.minimum} ${rejection.currency}`,
          },
        ],
      },
    ),
  LotNotFound: (r) => `Parking lot ${r.parkingLotId} does not exist.`,
  LotAlreadyRegistered: (r) => `Parking lot ${r.parkingLotId} is already registered with other details.`,
  LotFull: (r, local) =>
    r.capacity === 0
      ? `Parking lot ${r.parkingLotId} has no spots.`
      : `Parking lot ${r.parkingLotId} is full at ${local(r.at)}: ${r.capacity === 1 ? "its 1 spot is" : `all ${r.capacity} spots are`} taken then. Try another time or lot (GET /parking-lots/${r.parkingLotId}/timeline shows when spots are free).`,
  ReservationNotFound: (r) =>
    `Reservation ${r.reservationId} does not exist in parking lot ${r.parkingLotId}.`,
  // The reservation or closure id a key derives is not the caller's to learn: the lot only.
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
  ReservationNotActive: (r) => `Reservation ${r.reservationId} is ${r.status}; it can no longer change.`,
  NotCheckedIn: (r) => `Reservation ${r.reservationId} has not been checked in.`,
  StayPriceTooHigh: (r) =>
    `Reservation ${r.reservationId}'s stay would cost ${r.price}, more than one check-out can charge (${r.maximum}): settle it at the lot; an operator ends the stay by canceling the reservation.`,
  CheckInTooEarly: (r, local) =>
    `Check-in for reservation ${r.reservationId} opens at ${local(r.opensAt)} (its window starts at ${local(r.startsAt)}); check in from then on.`,
  InvalidWindow: (rejection) => invalidField(`body.${rejection.field}`, rejection.detail),
  AmountRequired: (rejection) =>
    invalidField(
      "body.amount",
      "is required for a lot without an hourly rate",
      `amount is required: parking lot ${rejection.parkingLotId} has no hourly rate to price the stay, so the booking names its price.`,
    ),
  AmountNotAccepted: (rejection) =>
    invalidField(
      "body.amount",
      `must be left out: an open-ended stay is priced at check-out at ${rejection.hourlyRate} an hour`,
      `amount must be left out: parking lot ${rejection.parkingLotId} prices an open-ended stay itself at check-out, at ${rejection.hourlyRate} an hour from check-in (${rejection.offered} was sent).`,
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
  TooManyActiveReservations: (r) =>
    `A customer may hold at most ${count(r.limit, "active reservation")} in parking lot ${r.parkingLotId}.`,
  LotClosed: (r, local) =>
    `Parking lot ${r.parkingLotId} is closed from ${local(r.from)} until ${local(r.until)}.`,
  CheckedIn: (r) =>
    `Reservation ${r.reservationId} is ${r.status}: the car is in the lot, so it cannot be canceled; check out instead.`,
  TooManyClosures: (r) =>
    `Parking lot ${r.parkingLotId} already has ${count(r.limit, "closure")} that ${r.limit === 1 ? "has" : "have"} not ended; wait for one to end.`,
  PaymentPending: (r, local) =>
    `Reservation ${r.reservationId} is waiting for its payment (until ${local(r.holdUntil)}); it can be checked in once the payment is authorized.`,
  NotPaid: (r) => `Reservation ${r.reservationId} has no captured payment to refund.`,
  RefundExceedsCaptured: (r) =>
    `At most ${r.refundable} of reservation ${r.reservationId}'s payment can still be refunded (${r.asked} was asked).`,
  RefundWindowPassed: (r, local) =>
    `Reservation ${r.reservationId}'s refund window has passed${r.refundableUntil ? ` (it closed at ${local(r.refundableUntil)})` : ""}: the service can no longer refund it.`,
  PaymentNotPending: unreachable("payment"),
  PaymentMismatch: unreachable("payment"),
  ClosureNotFound: unreachable("time-driven"),
  NotDue: unreachable("time-driven"),
  CapacityTooLow: (r, local) =>
    `At ${local(r.at)}, ${count(r.held, "spot")} of parking lot ${r.parkingLotId} ${r.held === 1 ? "is" : "are"} reserved: the capacity cannot go below ${r.held}.`,
};

/**
 * The problem each refusal of the decider is answered with: its type, a sentence and its facts,
 * the times in them at `offset` (the one the request used; UTC without one).
 */
export function rejectionProblem(rejection: Rejection, offset?: string): ProblemError {
  const local: Local = (iso) => atOffset(iso, offset);
  const answer = (PROBLEMS[rejection.code] as ProblemOf["LotNotFound"])(rejection as never, local);
  if (answer instanceof ProblemError) return answer;
  const kebab = rejection.code.replace(/[A-Z]/g, (letter, at) => `${at ? "-" : ""}${letter.toLowerCase()}`);
  return new ProblemError(TYPES[rejection.code] ?? (kebab as ProblemName), answer, factsOf(rejection, local));
}
