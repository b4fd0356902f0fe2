import { chargeMinimum } from "../../schemas/charge-minimums.js";
import type {
  AuthorizePayment,
  ExpirePaymentHold,
  FailPayment,
  RecordIntentReleased,
  RecordPaymentIntent,
  RecordPaymentOutcome,
  RefundPayment,
} from "../../schemas/commands.js";
import type { EventOfType } from "../../schemas/events.js";
import { refundableUntil } from "./payment-ends.js";
import {
  cancelSettlement,
  checkOutSettlement,
  noShowSettlement,
  refundable,
  type Settlement,
  withinMinimum,
} from "./payment-policy.js";
import { type PaymentRecord, refundableOf, stepKey } from "./payment-state.js";
import { accept, ms, reject, windowOf } from "./rules.js";
import type { Decision, ParkingLotEvent, ParkingLotState, RegisteredLot } from "./state.js";

/**
 * Payments (issue 38): what the lot decides about a booking's money. A booking made while payments
 * are on, with something to authorize, starts PENDING_PAYMENT (booking.ts); the provider's answer
 * authorizes it (RESERVED) or fails it (canceled `payment-failed`), and a hold that runs out first
 * cancels it (`payment-expired`): the compensation. When a paid booking ends (check-out, cancel,
 * closure, no-show), the settlement is decided in the same append with payment-policy.ts; each step
 * the provider then takes is recorded once; an operator's refund never exceeds what was captured.
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

type Settled = EventOfType<"PaymentSettlementDecided">["data"]["because"];

/** The booking's payment, if it was authorized and its settlement is still to be decided. */
const unsettled = (lot: RegisteredLot, reservationId: string): PaymentRecord | undefined => {
  const payment = lot.payments.get(reservationId);
  return payment?.state === "authorized" && !payment.settled && payment.intentId !== undefined
    ? payment
    : undefined;
};

function settlementDecided(
  lot: RegisteredLot,
  reservationId: string,
  payment: PaymentRecord,
  because: Settled,
  decided: Settlement & { readonly refund?: number; readonly reason?: string },
  decidedAt: string,
): ParkingLotEvent {
  // Issue 47: what is below the provider's smallest charge is waived, never sent to fail.
  const { waived, ...chargeable } = withinMinimum(decided, chargeMinimum(payment.currency));
  const settlement = { ...decided, ...chargeable };
  return {
    type: "PaymentSettlementDecided",
    data: {
      reservationId,
      parkingLotId: lot.parkingLotId,
      intentId: payment.intentId ?? "",
      currency: payment.currency,
      capture: settlement.capture,
      release: settlement.release,
      offSession: settlement.offSession,
      refund: settlement.refund ?? 0,
      because,
      ...(settlement.reason !== undefined ? { reason: settlement.reason } : {}),
      ...(waived > 0 ? { waived } : {}),
      decidedAt,
    },
  };
}

/** A check-out of a paid booking: the stay's price and overstay charge, out of its authorization. */
export function settleCheckOut(
  lot: RegisteredLot,
  reservationId: string,
  owed: { readonly price: number; readonly overstayCharge: number },
  at: string,
): ParkingLotEvent[] {
  const payment = unsettled(lot, reservationId);
  if (!payment) return [];
  const settlement = checkOutSettlement(payment.authorized, owed.price, owed.overstayCharge);
  return [settlementDecided(lot, reservationId, payment, "check-out", settlement, at)];
}

/** A cancel of a paid booking: a customer's by the booking's cancellation policy, anyone else's free. */
export function settleCancel(
  lot: RegisteredLot,
  reservationId: string,
  by: "customer" | "operator" | "closure",
  at: string,
): ParkingLotEvent[] {
  const payment = unsettled(lot, reservationId);
  if (!payment) return [];
  const startsAt = lot.reservations.get(reservationId)?.startsAt;
  const settlement = cancelSettlement(payment.terms, payment.authorized, {
    by: by === "customer" ? "customer" : "operator",
    at: ms(at),
    ...(startsAt !== undefined ? { startsAt: ms(startsAt) } : {}),
  });
  const because = by === "customer" ? "customer-cancel" : by === "operator" ? "operator-cancel" : "closure";
  return [settlementDecided(lot, reservationId, payment, because, settlement, at)];
}

/** A no-show of a paid booking: the lot's no-show fee, at most what was authorized. */
export function settleNoShow(lot: RegisteredLot, reservationId: string, at: string): ParkingLotEvent[] {
  const payment = unsettled(lot, reservationId);
  if (!payment) return [];
  const settlement = noShowSettlement(payment.terms, payment.authorized);
  return [settlementDecided(lot, reservationId, payment, "no-show", settlement, at)];
}

/** The booking's payment failed: the fact, and the cancel that frees its spot (the compensation). */
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
): ParkingLotEvent[] {
  const record = lot.reservations.get(reservationId);
  return [
    {
      type: "PaymentFailed",
      data: {
        reservationId,
        parkingLotId: lot.parkingLotId,
        ...(failure.intentId !== undefined ? { intentId: failure.intentId } : {}),
        reason: failure.reason,
        ...(failure.code !== undefined ? { code: failure.code } : {}),
        ...(failure.message !== undefined ? { message: failure.message } : {}),
        failedAt: at,
      },
    },
    {
      type: "ReservationCanceled",
      data: {
        reservationId,
        parkingLotId: lot.parkingLotId,
        customerId: record?.customerId ?? "",
        reason: failure.reason === "declined" ? "payment-failed" : "payment-expired",
        canceledAt: at,
        ...windowOf(record),
      },
    },
  ];
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
  const { parkingLotId, reservationId, intentId, amount, currency } = command;
  const payment = state.payments.get(reservationId);
  if (!payment && !state.reservations.has(reservationId))
    return reject({ code: "ReservationNotFound", parkingLotId, reservationId });
  if (payment?.state === "authorized" && payment.intentId === intentId) return accept(); // recorded already
  const record = state.reservations.get(reservationId);
  if (!payment || !record || !pendingOf(state, reservationId))
    return reject({ code: "PaymentNotPending", parkingLotId, reservationId });
  const reason = mismatchOf(payment, { intentId, amount, currency });
  if (reason) return reject({ code: "PaymentMismatch", parkingLotId, reservationId, reason });
  return accept({
    type: "PaymentAuthorized",
    data: {
      reservationId,
      parkingLotId,
      intentId,
      amount,
      currency,
      authorizedAt: command.now,
      // The booking it makes RESERVED (issue 47: what integrators hear now).
      customerId: record.customerId,
      booking: {
        amount: record.amount,
        ...(record.startsAt ? { startsAt: record.startsAt, endsAt: record.endsAt } : {}),
      },
    },
  });
}

export function failPayment(command: FailPayment, state: ParkingLotState): Decision {
  if (state.kind !== "registered") return reject({ code: "LotNotFound", parkingLotId: command.parkingLotId });
  const { parkingLotId, reservationId } = command;
  if (!state.payments.has(reservationId) && !state.reservations.has(reservationId))
    return reject({ code: "ReservationNotFound", parkingLotId, reservationId });
  const pending = pendingOf(state, reservationId);
  if (!pending) return accept(); // authorized, failed or canceled already
  // Issue 47: a decline of another intent than the booking's says nothing of the booking.
  if (command.intentId !== undefined && mismatchOf(pending, { intentId: command.intentId }))
    return reject({ code: "PaymentMismatch", parkingLotId, reservationId, reason: "intent" });
  const failure = {
    reason: "declined" as const,
    ...(command.intentId !== undefined ? { intentId: command.intentId } : {}),
    ...(command.code !== undefined ? { code: command.code } : {}),
    ...(command.message !== undefined ? { message: command.message } : {}),
  };
  return accept(...paymentFailed(state, reservationId, failure, command.now));
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
  return accept(...paymentFailed(state, reservationId, failure, command.now));
}

/**
 * Issue 47: whether a provider's word fits the pending booking: its intent is the one the booking
 * recorded, it holds at least the booking's amount, in the lot's currency.
 */
function mismatchOf(
  payment: PaymentRecord,
  word: { readonly intentId?: string; readonly amount?: number; readonly currency?: string },
): "intent" | "amount" | "currency" | undefined {
  // A booking made before issue 47 recorded no intent: the first authorization's intent counts.
  if (word.intentId !== undefined && payment.intentId !== undefined && payment.intentId !== word.intentId)
    return "intent";
  if (word.currency !== undefined && word.currency !== payment.currency) return "currency";
  if (word.amount !== undefined && word.amount < payment.amount) return "amount";
  return undefined;
}

/** Issue 47: the intent the payments process manager created for a pending booking, recorded once. */
export function recordPaymentIntent(command: RecordPaymentIntent, state: ParkingLotState): Decision {
  if (state.kind !== "registered") return reject({ code: "LotNotFound", parkingLotId: command.parkingLotId });
  const { parkingLotId, reservationId, intentId, amount, currency } = command;
  const payment = state.payments.get(reservationId);
  if (!payment && !state.reservations.has(reservationId))
    return reject({ code: "ReservationNotFound", parkingLotId, reservationId });
  if (payment?.intentId === intentId) return accept(); // recorded already
  if (!payment || !pendingOf(state, reservationId))
    return reject({ code: "PaymentNotPending", parkingLotId, reservationId });
  const reason = payment.intentId !== undefined ? "intent" : mismatchOf(payment, { amount, currency });
  if (reason) return reject({ code: "PaymentMismatch", parkingLotId, reservationId, reason });
  return accept({
    type: "PaymentIntentCreated",
    data: { reservationId, parkingLotId, intentId, amount, currency, createdAt: command.now },
  });
}

/**
 * Issue 47: an intent canceled at the provider because no booking counts on it: the fact, once per
 * intent (a repeat, from a retry, a webhook or a second reconciliation, appends nothing).
 */
export function recordIntentReleased(command: RecordIntentReleased, state: ParkingLotState): Decision {
  if (state.kind !== "registered") return reject({ code: "LotNotFound", parkingLotId: command.parkingLotId });
  const { parkingLotId, reservationId, intentId, amount, because } = command;
  if (state.payments.get(reservationId)?.releasedIntents?.includes(intentId)) return accept();
  return accept({
    type: "PaymentIntentReleased",
    data: { reservationId, parkingLotId, intentId, amount, because, releasedAt: command.now },
  });
}

/** What the provider did with one step of a settlement, recorded once per (settlement, step). */
export function recordPaymentOutcome(command: RecordPaymentOutcome, state: ParkingLotState): Decision {
  if (state.kind !== "registered") return reject({ code: "LotNotFound", parkingLotId: command.parkingLotId });
  const { parkingLotId, reservationId, settlementId, step, outcome, now } = command;
  const payment = state.payments.get(reservationId);
  // A paid booking's record goes only once every step decided is recorded: this one was.
  if (!payment && state.reservations.get(reservationId)?.paid) return accept();
  if (payment?.state !== "authorized") return reject({ code: "NotPaid", parkingLotId, reservationId });
  if (payment.steps.includes(stepKey(settlementId, step))) return accept(); // recorded already
  const ids = { reservationId, parkingLotId };
  if (!outcome.ok)
    return accept({
      type: "PaymentStepFailed",
      data: { ...ids, settlementId, step, code: outcome.code, message: outcome.message, failedAt: now },
    });
  const { intentId, amount } = outcome;
  const { currency } = payment;
  switch (step) {
    case "capture":
      return accept({
        type: "PaymentCaptured",
        data: { ...ids, intentId, amount, currency, settlementId, capturedAt: now },
      });
    case "release":
      return accept({
        type: "PaymentReleased",
        data: { ...ids, intentId, amount, settlementId, releasedAt: now },
      });
    case "overstay":
      return accept({
        type: "OverstayCharged",
        data: { ...ids, intentId, amount, currency, settlementId, chargedAt: now },
      });
    case "refund": {
      // The ledger's rule: never more refunded than captured (what is under way is this refund's own).
      const beyond = refundBeyond(refundable(payment.captured, payment.refunded), amount, ids);
      if (beyond) return beyond;
      const refundId = outcome.refundId ?? settlementId;
      return accept({
        type: "PaymentRefunded",
        data: { ...ids, intentId, refundId, amount, currency, settlementId, refundedAt: now },
      });
    }
  }
}

/** A refund of more than `most` is refused, naming what may still be refunded. */
function refundBeyond(
  most: number,
  asked: number,
  ids: { readonly parkingLotId: string; readonly reservationId: string },
): Decision | undefined {
  if (asked <= most) return undefined;
  return reject({ code: "RefundExceedsCaptured", ...ids, refundable: most, asked });
}

/** An operator refunds part or all of what the booking's payment captured. */
export function refundPayment(command: RefundPayment, state: ParkingLotState): Decision {
  if (state.kind !== "registered") return reject({ code: "LotNotFound", parkingLotId: command.parkingLotId });
  const { parkingLotId, reservationId, amount, reason } = command;
  const payment = state.payments.get(reservationId);
  if (!payment && !state.reservations.has(reservationId))
    return reject({ code: "ReservationNotFound", parkingLotId, reservationId });
  // Its record gone (payment-ends.ts), a paid booking's refund window has passed.
  if (!payment && state.reservations.get(reservationId)?.paid)
    return reject({ code: "RefundWindowPassed", parkingLotId, reservationId });
  if (payment?.state !== "authorized" || payment.captured === 0)
    return reject({ code: "NotPaid", parkingLotId, reservationId });
  const until = refundableUntil(payment);
  if (until !== undefined && until <= ms(command.now))
    return reject({
      code: "RefundWindowPassed",
      parkingLotId,
      reservationId,
      refundableUntil: new Date(until).toISOString(),
    });
  const beyond = refundBeyond(refundableOf(payment), amount, { parkingLotId, reservationId });
  if (beyond) return beyond;
  const refund = { capture: 0, release: 0, offSession: 0, refund: amount, reason };
  return accept(settlementDecided(state, reservationId, payment, "refund", refund, command.now));
}
