import type { ParkingLotCommand } from "../../schemas/commands.js";
import { eventTypesOfStream } from "../../schemas/events.js";
import { overstayCharge, type ReservationStatus } from "../../schemas/reservation-time.js";
import { register, reserve } from "./booking.js";
import { cancelForClosure, changeCapacity, close } from "./closures.js";
import { admitDriveUp } from "./drive-ups.js";
import { authorizePayment, type DecideContext, expirePaymentHold, failPayment } from "./payments.js";
import { closeBooks } from "./period-books.js";
import { cancel, checkIn, checkOut } from "./reservation-steps.js";
import { busiest, iso, leaveAt, statusIn } from "./rules.js";
import type { Decision, OldLotPaymentFact, ParkingLotState, RegisteredLot } from "./state.js";
import {
  changeCouponRule,
  changeCustomerLimit,
  changeGateConfidence,
  changePaymentTerms,
  changePlace,
  changeRate,
} from "./terms.js";
import { beginClosure, recordNoShow } from "./time-driven.js";

export type { DecideContext, PaymentsContext } from "./payments.js";

/** The commands a payment's own stream decides: the lot never does, and its stream never holds their facts. */
export const PAYMENT_STREAM_COMMANDS = [
  "RecordPaymentOutcome",
  "RefundPayment",
  "RecordPaymentIntent",
  "RecordIntentReleased",
  "RecordHoldLapsed",
  "RecordLateCharge",
] as const;
export type PaymentStreamCommandType = (typeof PAYMENT_STREAM_COMMANDS)[number];

/** The commands the lot decides. */
export type LotCommand = Exclude<ParkingLotCommand, { readonly type: PaymentStreamCommandType }>;

/** A payment's own command is refused, so nothing of it is ever appended to the lot's stream. */
export function decide(
  command: ParkingLotCommand,
  state: ParkingLotState,
  context: DecideContext = {},
): Decision {
  const { type, parkingLotId } = command;
  if ((PAYMENT_STREAM_COMMANDS as readonly string[]).includes(type)) {
    const { reservationId } = command as { reservationId: string };
    return { ok: false, rejection: { code: "NotPaid", parkingLotId, reservationId } };
  }
  if (command.type === "RegisterParkingLot") return register(command, state);
  if (state.kind !== "registered") return { ok: false, rejection: { code: "LotNotFound", parkingLotId } };
  const decideOn = DECIDERS[type as LotDeciding["type"]] as (
    command: LotDeciding,
    lot: RegisteredLot,
    context: DecideContext,
  ) => Decision;
  return decideOn(command as LotDeciding, state, context);
}

type LotDeciding = Exclude<LotCommand, { readonly type: "RegisterParkingLot" }>;
const DECIDERS: {
  readonly [T in LotDeciding["type"]]: (
    command: Extract<LotDeciding, { readonly type: T }>,
    lot: RegisteredLot,
    context: DecideContext,
  ) => Decision;
} = {
  ReserveParking: (command, lot, context) => reserve(command, lot, context.payments),
  CancelReservation: cancel,
  CheckIn: checkIn,
  CheckOut: checkOut,
  AdmitDriveUp: admitDriveUp,
  CloseParkingLot: close,
  ChangeCapacity: changeCapacity,
  ChangeRate: changeRate,
  ChangeCouponRule: changeCouponRule,
  ChangeCustomerLimit: changeCustomerLimit,
  ChangeGateConfidence: changeGateConfidence,
  ChangePaymentTerms: changePaymentTerms,
  ChangePlace: changePlace,
  RecordNoShow: recordNoShow,
  BeginClosure: beginClosure,
  CancelForClosure: cancelForClosure,
  CloseBooks: closeBooks,
  AuthorizePayment: authorizePayment,
  FailPayment: failPayment,
  ExpirePaymentHold: expirePaymentHold,
};

/** Spots not held by any reservation right now (open-ended ones, windows covering `now`, cars in the lot). */
export const availableSpots = (state: RegisteredLot, now: number = Date.now()): number =>
  state.capacity - busiest(state, now, now + 1, now).held;

/** The status of one reservation of the lot at `now`, if the lot knows it. */
export function reservationStatus(
  state: ParkingLotState,
  reservationId: string,
  now: number,
): ReservationStatus | undefined {
  if (state.kind !== "registered") return undefined;
  const record = state.reservations.get(reservationId);
  return record && statusIn(state, reservationId, record, now);
}

/** When an open-ended booking of the lot must leave (its next closure begins), if one is ahead. */
export function mustLeaveBy(state: ParkingLotState, reservationId: string): string | undefined {
  if (state.kind !== "registered") return undefined;
  const madeAt = state.openEnded.get(reservationId);
  if (madeAt === undefined || state.inLot.has(reservationId)) return undefined;
  const at = leaveAt(state, madeAt);
  return at === undefined ? undefined : iso(at);
}

/**
 * A car of the lot overstaying at `now`: the whole minutes past its window's end, and what checking
 * it out at `now` would charge for them (the same price function its check-out decides with).
 * Undefined unless it reads OVERSTAYING at `now`.
 */
export function overstaySoFar(
  state: ParkingLotState,
  reservationId: string,
  now: number,
): { readonly minutes: number; readonly charge: number } | undefined {
  if (state.kind !== "registered") return undefined;
  const record = state.reservations.get(reservationId);
  if (!record?.endsAt || statusIn(state, reservationId, record, now) !== "OVERSTAYING") return undefined;
  const endsAt = Date.parse(record.endsAt);
  return {
    minutes: Math.floor((now - endsAt) / 60_000),
    charge: overstayCharge(state.hourlyRate, endsAt, now),
  };
}

/**
 * The event types the lot's decider folds, from their definitions: its stream's, and the one payment
 * fact older lot streams hold (state.ts `OldLotPaymentFact`).
 */
export const PARKING_LOT_EVENT_TYPES: ReadonlySet<string> = new Set([
  ...eventTypesOfStream("lot"),
  "PaymentAuthorized" satisfies OldLotPaymentFact["type"],
]);

export { parkingLotOfStream, parkingLotStream } from "./periods.js";
