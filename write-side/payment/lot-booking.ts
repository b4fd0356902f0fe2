import type { ParkingLotEvent, ParkingLotState } from "../parking-lot/decider.js";
import { awaitingPayment } from "../parking-lot/payments.js";
import { definedOf } from "../parking-lot/rules.js";
import { type BookingAsk, type PaymentState, termsOnStream } from "./payment.js";
import { type SettleAsk, settlementFor } from "./payment-policy.js";

/** What the payment side reads of a booking from the lot: the lot decides these, handed in its commands. */

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
 * How a lot's fact ended a booking, for its settlement (undefined: nothing to settle). `role`: a
 * customer's own cancel follows the cancellation policy, anyone else's is free.
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
 * What a settlement is decided by, of what only the lot knows: the booking's terms then, its start,
 * its price; else its payment stream's terms, for a booking the lot's state no longer holds.
 * Undefined when neither knows terms for it (it was never asked to pay).
 */
export function settleAskOf(
  state: ParkingLotState,
  reservationId: string,
  end: BookingEnd,
  payment?: PaymentState,
): SettleAsk | undefined {
  if (state.kind !== "registered") return undefined;
  const terms = state.paymentAsked.get(reservationId)?.terms ?? (payment && termsOnStream(payment));
  if (!terms) return undefined;
  const record = state.reservations.get(reservationId);
  // The one rule for a booking whose payment the lot never confirmed (awaited, or its card's saving
  // waiting for its customer): it owes nothing, whatever lands after; the answer follows it.
  if (record && !record.paid && end.because !== "check-out") return { because: "operator-cancel", terms };
  switch (end.because) {
    case "check-out":
      return {
        because: "check-out",
        price: end.price ?? record?.amount ?? 0,
        overstayCharge: end.overstayCharge,
      };
    case "no-show":
      return { because: "no-show", terms };
    default:
      return { because: end.because, terms, ...definedOf({ startsAt: record?.startsAt }) };
  }
}

/**
 * What a cancel the lot just recorded settles of its booking's money, from the lot's state alone:
 * the cancel's answer states it, the payment's stream records the same after. Undefined when
 * nothing was canceled (a repeat) or confirmed (settleAskOf's free cancel).
 */
export function cancelSettlementOf(
  state: ParkingLotState,
  events: readonly { readonly type: string }[],
  reservationId: string,
  role: string,
) {
  const canceled = events.find(
    (e): e is Extract<ParkingLotEvent, { type: "ReservationCanceled" }> =>
      e.type === "ReservationCanceled" &&
      (e as Extract<ParkingLotEvent, { type: "ReservationCanceled" }>).data.reservationId === reservationId,
  );
  const end = canceled && bookingEndOf(canceled, role);
  if (!end || state.kind !== "registered" || !state.reservations.get(reservationId)?.paid) return undefined;
  const asked = state.paymentAsked.get(reservationId);
  const ask = settleAskOf(state, reservationId, end);
  if (!asked || !ask) return undefined;
  return {
    currency: asked.currency,
    ...settlementFor(ask, asked.amount, asked.currency, canceled.data.canceledAt),
  };
}
