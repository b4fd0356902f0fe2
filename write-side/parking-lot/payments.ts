import type { AuthorizePayment, ExpirePaymentHold, FailPayment } from "../../schemas/commands.js";
import type { PaymentTerms } from "../../schemas/common.js";
import type { BookingAsk, SettleAsk } from "../payment/payment.js";
import { accept, ms, reject, windowOf } from "./rules.js";
import type {
  Decision,
  ParkingLotEvent,
  ParkingLotState,
  RegisteredLot,
  ReservationRecord,
} from "./state.js";

/**
 * Payments (issue 38), the lot's side. A booking made while payments are on, with something to
 * authorize, starts PENDING_PAYMENT (booking.ts) and holds its spot until `holdUntil`. Issue 48:
 * every payment fact is decided on the payment's own stream (write-side/payment/), first; the lot
 * then hears the outcome through its commands and records only what it decides itself: the booking
 * confirmed (ReservationConfirmed: RESERVED), or canceled because its payment failed or its hold
 * ran out (ReservationCanceled `payment-failed` / `payment-expired`). What the payment needs of the
 * booking (what it asked, its terms, its window) it reads from here: `bookingAskOf`, `settleAskOf`.
 */

/** What the command context tells the decider about payments (the lot handler passes it from config). */
export interface PaymentsContext {
  readonly on: boolean;
  /** How long a booking waiting for its payment holds its spot (PAYMENT_HOLD_SECONDS). */
  readonly holdSeconds: number;
}

export interface DecideContext {
  readonly payments?: PaymentsContext;
}

const pendingOf = (lot: RegisteredLot, reservationId: string): ReservationRecord | undefined => {
  const record = lot.reservations.get(reservationId);
  return record?.status === "PENDING_PAYMENT" ? record : undefined;
};

/** Issue 47: whether the booking still waits for its payment (an intent may be created for it). */
export const awaitingPayment = (state: ParkingLotState, reservationId: string): boolean =>
  state.kind === "registered" && pendingOf(state, reservationId) !== undefined;

/** What the lot tells the payment of the booking: whether it waits, and what it asked to authorize. */
export function bookingAskOf(state: ParkingLotState, reservationId: string): BookingAsk {
  const asked = state.kind === "registered" ? state.paymentAsked.get(reservationId) : undefined;
  return {
    awaiting: awaitingPayment(state, reservationId),
    amount: asked?.amount ?? 0,
    currency: asked?.currency ?? "",
    ...(asked ? { terms: asked.terms } : {}),
  };
}

/** How a paid booking ended, as the lot's end event says it (the saga reads it from that event). */
export type BookingEnd =
  | { readonly because: "check-out"; readonly price?: number; readonly overstayCharge: number }
  | { readonly because: "customer-cancel" | "operator-cancel" | "closure" | "no-show" };

/**
 * How a lot's fact ended a booking, for its payment's settlement (undefined: not an end that
 * settles). `role`: who asked for it (a customer's own cancel follows the cancellation policy,
 * anyone else's is free); a `lot-closed` cancel is a closure's; a cancel because the payment
 * failed or its hold ran out has nothing authorized to settle.
 */
export function bookingEndOf(event: ParkingLotEvent, role: string | undefined): BookingEnd | undefined {
  switch (event.type) {
    case "ReservationCheckedOut":
      return {
        because: "check-out",
        ...(event.data.amount !== undefined ? { price: event.data.amount } : {}),
        overstayCharge: event.data.overstayCharge ?? 0,
      };
    case "ReservationNoShow":
      return { because: "no-show" };
    case "ReservationCanceled": {
      const { reason } = event.data;
      if (reason === "payment-failed" || reason === "payment-expired") return undefined;
      if (reason === "lot-closed") return { because: "closure" };
      return { because: role === "customer" ? "customer-cancel" : "operator-cancel" };
    }
    default:
      return undefined;
  }
}

/**
 * What a settlement is decided by, of what only the lot knows: the booking's terms as they were
 * when it was made, its start, its price. `streamTerms`: the terms its payment's stream recorded
 * (its intent, or the carried-over payment), for a booking the lot's state no longer holds.
 * Undefined when neither knows terms for it (it was never asked to pay): nothing to settle.
 */
export function settleAskOf(
  state: ParkingLotState,
  reservationId: string,
  end: BookingEnd,
  streamTerms?: PaymentTerms,
): SettleAsk | undefined {
  if (state.kind !== "registered") return undefined;
  const terms = state.paymentAsked.get(reservationId)?.terms ?? streamTerms;
  if (!terms) return undefined;
  const record = state.reservations.get(reservationId);
  switch (end.because) {
    case "check-out":
      return {
        because: "check-out",
        price: end.price ?? record?.amount ?? 0,
        overstayCharge: end.overstayCharge,
      };
    case "no-show":
      return { because: "no-show", terms };
    default: {
      const startsAt = record?.startsAt;
      return { because: end.because, terms, ...(startsAt !== undefined ? { startsAt } : {}) };
    }
  }
}

/** The cancel that frees the spot of a booking whose payment failed or whose hold ran out. */
function canceledUnpaid(
  lot: RegisteredLot,
  record: ReservationRecord,
  reservationId: string,
  reason: string,
  at: string,
): Decision {
  return accept({
    type: "ReservationCanceled",
    data: {
      reservationId,
      parkingLotId: lot.parkingLotId,
      customerId: record.customerId,
      reason,
      canceledAt: at,
      ...windowOf(record),
    },
  });
}

/**
 * The payment authorized (decided on its stream first): the booking waiting for it is RESERVED.
 * Confirmed already: nothing. Ended meanwhile (canceled, its hold ran out): refused, and the caller
 * settles the authorized payment, which releases it (write-side/payment/payment-process.ts).
 */
export function authorizePayment(command: AuthorizePayment, state: ParkingLotState): Decision {
  if (state.kind !== "registered") return reject({ code: "LotNotFound", parkingLotId: command.parkingLotId });
  const { parkingLotId, reservationId } = command;
  const record = state.reservations.get(reservationId);
  if (!record) return reject({ code: "ReservationNotFound", parkingLotId, reservationId });
  if (record.status !== "PENDING_PAYMENT")
    return record.paid ? accept() : reject({ code: "PaymentNotPending", parkingLotId, reservationId });
  return accept({
    type: "ReservationConfirmed",
    data: {
      reservationId,
      parkingLotId,
      customerId: record.customerId,
      intentId: command.intentId,
      confirmedAt: command.now,
    },
  });
}

/** The payment failed (decided on its stream first): the booking waiting for it is canceled. */
export function failPayment(command: FailPayment, state: ParkingLotState): Decision {
  if (state.kind !== "registered") return reject({ code: "LotNotFound", parkingLotId: command.parkingLotId });
  const { parkingLotId, reservationId } = command;
  if (!state.reservations.has(reservationId))
    return reject({ code: "ReservationNotFound", parkingLotId, reservationId });
  const record = pendingOf(state, reservationId);
  if (!record) return accept(); // authorized, failed or canceled already
  return canceledUnpaid(state, record, reservationId, "payment-failed", command.now);
}

/** Until when a booking waiting for its payment holds its spot, if it waits. */
export const holdUntilOf = (state: ParkingLotState, reservationId: string): string | undefined =>
  state.kind === "registered" && pendingOf(state, reservationId)
    ? state.paymentAsked.get(reservationId)?.holdUntil
    : undefined;

/** The hold of a booking still waiting for its payment ran out: the lot decides it, and cancels it. */
export function expirePaymentHold(command: ExpirePaymentHold, state: ParkingLotState): Decision {
  if (state.kind !== "registered") return reject({ code: "LotNotFound", parkingLotId: command.parkingLotId });
  const { parkingLotId, reservationId } = command;
  const record = pendingOf(state, reservationId);
  const holdUntil = holdUntilOf(state, reservationId);
  if (!record || holdUntil === undefined) return accept(); // paid, failed, canceled or unknown
  if (ms(holdUntil) > ms(command.now)) return reject({ code: "NotDue", parkingLotId, at: holdUntil });
  return canceledUnpaid(state, record, reservationId, "payment-expired", command.now);
}
