import type {
  AuthorizePayment,
  ExpirePaymentHold,
  FailPayment,
  RecordIntentReleased,
  RecordPaymentIntent,
  RecordPaymentOutcome,
  RefundPayment,
} from "../../schemas/commands.js";
import {
  type BookingAsk,
  decideAuthorization,
  decideFailure,
  decideIntent,
  decideIntentReleased,
  decideOutcome,
  decideRefund,
  decideSettlement,
  noPayment,
  type PaymentDecision,
  type PaymentState,
  type SettleAsk,
} from "../payment/payment.js";
import type { PaymentRecord } from "./payment-state.js";
import { accept, ms, reject, windowOf } from "./rules.js";
import type { Decision, ParkingLotEvent, ParkingLotState, RegisteredLot } from "./state.js";

/**
 * Payments (issue 38): what the lot decides about a booking's money. A booking made while payments
 * are on, with something to authorize, starts PENDING_PAYMENT (booking.ts); the provider's answer
 * authorizes it (RESERVED) or fails it (canceled `payment-failed`), and a hold that runs out first
 * cancels it (`payment-expired`): the compensation. When a paid booking ends (check-out, cancel,
 * closure, no-show), the settlement is decided in the same append with write-side/payment/payment-policy.ts; each step
 * the provider then takes is recorded once; an operator's refund never exceeds what was captured.
 * Issue 48: every payment fact is decided by the payment aggregate (write-side/payment/payment.ts);
 * this file only tells it what the lot knows of the booking.
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

/**
 * Issue 48: the booking's payment as the payment aggregate (write-side/payment/) sees it, from the
 * record the lot still keeps: the aggregate decides every payment fact, the lot only what concerns
 * the booking (its hold, its status, the cancel of a failed payment).
 */
function aggregateOf(lot: RegisteredLot, reservationId: string): PaymentState {
  const record = lot.payments.get(reservationId);
  if (!record) return noPayment;
  return {
    kind: "open",
    parkingLotId: lot.parkingLotId,
    reservationId,
    status: record.state,
    ...(record.intentId !== undefined ? { intentId: record.intentId } : {}),
    currency: record.currency,
    authorized: record.authorized,
    captured: record.captured,
    refunded: record.refunded,
    refundsOutstanding: record.refundsOutstanding,
    settled: record.settled,
    ...(record.endedAt !== undefined ? { endedAt: record.endedAt } : {}),
    steps: record.steps,
    releasedIntents: record.releasedIntents ?? [],
    facts: record.facts,
  };
}

/** What the lot tells the payment aggregate of the booking. */
const askOf = (lot: RegisteredLot, reservationId: string): BookingAsk => {
  const record = lot.payments.get(reservationId);
  return {
    awaiting: pendingOf(lot, reservationId) !== undefined,
    amount: record?.amount ?? 0,
    currency: record?.currency ?? "",
  };
};

const asLot = (decision: PaymentDecision): Decision =>
  decision.ok ? accept(...decision.events) : reject(decision.rejection);

const settled = (
  lot: RegisteredLot,
  reservationId: string,
  ask: SettleAsk,
  at: string,
): ParkingLotEvent[] => {
  const decision = decideSettlement(aggregateOf(lot, reservationId), ask, at);
  return decision.ok ? [...decision.events] : [];
};

/** A check-out of a paid booking: the stay's price and overstay charge, out of its authorization. */
export const settleCheckOut = (
  lot: RegisteredLot,
  reservationId: string,
  owed: { readonly price: number; readonly overstayCharge: number },
  at: string,
): ParkingLotEvent[] => settled(lot, reservationId, { because: "check-out", ...owed }, at);

/** A cancel of a paid booking: a customer's by the booking's cancellation policy, anyone else's free. */
export function settleCancel(
  lot: RegisteredLot,
  reservationId: string,
  by: "customer" | "operator" | "closure",
  at: string,
): ParkingLotEvent[] {
  const terms = lot.payments.get(reservationId)?.terms;
  if (!terms) return [];
  const startsAt = lot.reservations.get(reservationId)?.startsAt;
  const because = by === "customer" ? "customer-cancel" : by === "operator" ? "operator-cancel" : "closure";
  return settled(lot, reservationId, { because, terms, ...(startsAt !== undefined ? { startsAt } : {}) }, at);
}

/** A no-show of a paid booking: the lot's no-show fee, at most what was authorized. */
export function settleNoShow(lot: RegisteredLot, reservationId: string, at: string): ParkingLotEvent[] {
  const terms = lot.payments.get(reservationId)?.terms;
  return terms ? settled(lot, reservationId, { because: "no-show", terms }, at) : [];
}

/** The booking's payment failed: the fact (the payment's), and the cancel that frees its spot (the lot's). */
function paymentFailed(
  lot: RegisteredLot,
  reservationId: string,
  failure: {
    readonly reason: "declined" | "expired";
    readonly intentId?: string;
    readonly code?: string;
    readonly message?: string;
  },
  at: string,
): Decision {
  const fact = decideFailure(
    aggregateOf(lot, reservationId),
    { reservationId, parkingLotId: lot.parkingLotId, ...failure },
    at,
  );
  if (!fact.ok) return reject(fact.rejection);
  const record = lot.reservations.get(reservationId);
  return accept(...fact.events, {
    type: "ReservationCanceled",
    data: {
      reservationId,
      parkingLotId: lot.parkingLotId,
      customerId: record?.customerId ?? "",
      reason: failure.reason === "declined" ? "payment-failed" : "payment-expired",
      canceledAt: at,
      ...windowOf(record),
    },
  });
}

const pendingOf = (lot: RegisteredLot, reservationId: string): PaymentRecord | undefined => {
  const payment = lot.payments.get(reservationId);
  return payment?.state === "pending" && lot.reservations.get(reservationId)?.status === "PENDING_PAYMENT"
    ? payment
    : undefined;
};

/** Issue 47: whether the booking still waits for its payment (an intent may be created for it). */
export const awaitingPayment = (state: ParkingLotState, reservationId: string): boolean =>
  state.kind === "registered" && pendingOf(state, reservationId) !== undefined;

/**
 * Issue 47: whether the lot counts on this intent: the one a booking waiting for its payment
 * recorded, or the authorized one whose settlement is not decided or not carried out yet. Any
 * other intent carrying the booking's metadata holds money for nothing.
 */
export function intentInUse(state: ParkingLotState, reservationId: string, intentId: string): boolean {
  if (state.kind !== "registered") return false;
  const payment = state.payments.get(reservationId);
  if (payment?.intentId !== intentId) return false;
  if (payment.state === "pending") return pendingOf(state, reservationId) !== undefined;
  return payment.state === "authorized" && (!payment.settled || payment.stepsOutstanding.length > 0);
}

/** Issue 47: the intent a booking that ended unpaid (canceled, expired, declined) left open, if any. */
export function unpaidIntentOf(state: ParkingLotState, reservationId: string): string | undefined {
  if (state.kind !== "registered") return undefined;
  const payment = state.payments.get(reservationId);
  if (!payment?.intentId || payment.state === "authorized" || pendingOf(state, reservationId))
    return undefined;
  return payment.releasedIntents?.includes(payment.intentId) ? undefined : payment.intentId;
}

export function authorizePayment(command: AuthorizePayment, state: ParkingLotState): Decision {
  if (state.kind !== "registered") return reject({ code: "LotNotFound", parkingLotId: command.parkingLotId });
  const { parkingLotId, reservationId } = command;
  if (!state.payments.has(reservationId) && !state.reservations.has(reservationId))
    return reject({ code: "ReservationNotFound", parkingLotId, reservationId });
  const record = state.reservations.get(reservationId);
  // The booking it makes RESERVED (issue 47: what integrators hear now).
  const booking = record
    ? {
        customerId: record.customerId,
        booking: {
          amount: record.amount,
          ...(record.startsAt ? { startsAt: record.startsAt, endsAt: record.endsAt } : {}),
        },
      }
    : {};
  const decision = decideAuthorization(
    aggregateOf(state, reservationId),
    command,
    askOf(state, reservationId),
    booking,
  );
  if (!decision.ok || decision.events.length === 0 || !record) return asLot(decision);
  // Issue 48: the lot's own outcome: the booking waiting for this payment is RESERVED.
  return accept(...decision.events, {
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

export function failPayment(command: FailPayment, state: ParkingLotState): Decision {
  if (state.kind !== "registered") return reject({ code: "LotNotFound", parkingLotId: command.parkingLotId });
  const { parkingLotId, reservationId } = command;
  if (!state.payments.has(reservationId) && !state.reservations.has(reservationId))
    return reject({ code: "ReservationNotFound", parkingLotId, reservationId });
  if (!pendingOf(state, reservationId)) return accept(); // authorized, failed or canceled already
  const failure = {
    reason: "declined" as const,
    ...(command.intentId !== undefined ? { intentId: command.intentId } : {}),
    ...(command.code !== undefined ? { code: command.code } : {}),
    ...(command.message !== undefined ? { message: command.message } : {}),
  };
  return paymentFailed(state, reservationId, failure, command.now);
}

export function expirePaymentHold(command: ExpirePaymentHold, state: ParkingLotState): Decision {
  if (state.kind !== "registered") return reject({ code: "LotNotFound", parkingLotId: command.parkingLotId });
  const { parkingLotId, reservationId } = command;
  const payment = pendingOf(state, reservationId);
  if (!payment) return accept(); // paid, failed, canceled or unknown: nothing to expire
  if (ms(payment.holdUntil) > ms(command.now))
    return reject({ code: "NotDue", parkingLotId, at: payment.holdUntil });
  const failure = {
    reason: "expired" as const,
    ...(payment.intentId !== undefined ? { intentId: payment.intentId } : {}),
  };
  return paymentFailed(state, reservationId, failure, command.now);
}

/** Issue 47: the intent the payments process manager created for a pending booking, recorded once. */
export function recordPaymentIntent(command: RecordPaymentIntent, state: ParkingLotState): Decision {
  if (state.kind !== "registered") return reject({ code: "LotNotFound", parkingLotId: command.parkingLotId });
  const { parkingLotId, reservationId } = command;
  if (!state.payments.has(reservationId) && !state.reservations.has(reservationId))
    return reject({ code: "ReservationNotFound", parkingLotId, reservationId });
  return asLot(decideIntent(aggregateOf(state, reservationId), command, askOf(state, reservationId)));
}

/**
 * Issue 47: an intent canceled at the provider because no booking counts on it: the fact, once per
 * intent (a repeat, from a retry, a webhook or a second reconciliation, appends nothing).
 */
export function recordIntentReleased(command: RecordIntentReleased, state: ParkingLotState): Decision {
  if (state.kind !== "registered") return reject({ code: "LotNotFound", parkingLotId: command.parkingLotId });
  return asLot(decideIntentReleased(aggregateOf(state, command.reservationId), command));
}

/** What the provider did with one step of a settlement, recorded once per (settlement, step). */
export function recordPaymentOutcome(command: RecordPaymentOutcome, state: ParkingLotState): Decision {
  if (state.kind !== "registered") return reject({ code: "LotNotFound", parkingLotId: command.parkingLotId });
  const { reservationId } = command;
  // A paid booking's record goes only once every step decided is recorded: this one was.
  if (!state.payments.has(reservationId) && state.reservations.get(reservationId)?.paid) return accept();
  return asLot(decideOutcome(aggregateOf(state, reservationId), command));
}

/** An operator refunds part or all of what the booking's payment captured. */
export function refundPayment(command: RefundPayment, state: ParkingLotState): Decision {
  if (state.kind !== "registered") return reject({ code: "LotNotFound", parkingLotId: command.parkingLotId });
  const { parkingLotId, reservationId } = command;
  const payment = state.payments.get(reservationId);
  if (!payment && !state.reservations.has(reservationId))
    return reject({ code: "ReservationNotFound", parkingLotId, reservationId });
  // Its record gone (payment-ends.ts), a paid booking's refund window has passed.
  if (!payment && state.reservations.get(reservationId)?.paid)
    return reject({ code: "RefundWindowPassed", parkingLotId, reservationId });
  return asLot(decideRefund(aggregateOf(state, reservationId), command));
}
