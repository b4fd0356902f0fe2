import type {
  AuthorizePayment,
  RecordHoldLapsed,
  RecordIntentReleased,
  RecordPaymentIntent,
  RecordPaymentOutcome,
  RefundPayment,
} from "../../schemas/commands.js";
import type { PaymentTerms } from "../../schemas/common.js";
import { roundDownToStep } from "../../schemas/currencies.js";
import { type EventOfType, eventTypesOfStream } from "../../schemas/events.js";
import { isUpgradeFact } from "../../schemas/payment-upgrade-events.js";
import { definedOf } from "../parking-lot/rules.js";
import type {
  OpenPayment,
  PaymentDecision,
  PaymentEvent,
  PaymentState,
  PaymentStep,
} from "./payment-facts.js";
import {
  ledgerFactOf,
  ledgerOf,
  lessOutstanding,
  type MoneyEvent,
  type PaymentFact,
  type RefundUnderWay,
  refundableByIntent,
  refundLegs,
} from "./payment-ledger.js";
import {
  chargeableIn,
  REFUND_WINDOW_MS,
  refundable,
  type SettleAsk,
  type Settlement,
  settlementOf,
  unheldSettlementOf,
} from "./payment-policy.js";

export type { OpenPayment, PaymentDecision, PaymentState } from "./payment-facts.js";
export type { SettleAsk } from "./payment-policy.js";

import { attemptKey, intentRecorded } from "./client-confirmed.js";
import { comebackOf, paidBack } from "./comeback.js";
import type { CommandRejection as Rejection } from "./payment-rejections.js";
import { authorizeSaved, awaitsHold, confirmed, savedCardFact, saving } from "./saved-card.js";

/**
 * A reservation's payment as its own aggregate, a pure decider over `payment-{reservationId}`
 * (reservation ids are unique across lots). Its invariants are the ledger's: one intent counts (the
 * one recorded first), an authorization must fit the booking, nothing is captured or refunded
 * beyond what was authorized or captured, each settlement step is recorded once. The stream knows
 * when the money ended, so a refund after its window is refused without any sweep. What only the
 * lot knows comes in the command, read from the lot's state by the caller.
 */

export const paymentStream = (reservationId: string): string => `payment-${reservationId}`;

/** The payment's facts: its stream's event types (schemas), but for the upgrade's carried-over state. */
export const PAYMENT_EVENT_TYPES: ReadonlySet<string> = new Set<string>(
  [...eventTypesOfStream("payment")].filter((type) => !isUpgradeFact(type)),
);

export const noPayment: PaymentState = { kind: "none" };

const accept = (...events: PaymentEvent[]): PaymentDecision => ({ ok: true, events });
const reject = (rejection: Rejection): PaymentDecision => ({ ok: false, rejection });

const stepKey = (settlementId: string, step: PaymentStep): string => `${settlementId}:${step}`;

const opened = (state: PaymentState, data: PaymentEvent["data"]): OpenPayment =>
  state.kind === "open"
    ? state
    : {
        kind: "open",
        parkingLotId: data.parkingLotId,
        reservationId: data.reservationId,
        status: "pending",
        authorized: 0,
        captured: 0,
        refunded: 0,
        refundsOutstanding: [],
        settled: false,
        steps: [],
        releasedIntents: [],
        facts: [],
      };

/** A recorded step: its key, and its ledger fact if money moved. */
const stepped = (state: OpenPayment, settlementId: string, step: PaymentStep, fact?: PaymentFact) => ({
  ...state,
  steps: [...state.steps, stepKey(settlementId, step)],
  ...(fact ? { facts: [...state.facts, fact] } : {}),
});
/** A settlement's step that moved money, with its ledger fact. */
const moved = (
  state: OpenPayment,
  event: Exclude<MoneyEvent, { type: "PaymentAuthorized" }>,
  step: PaymentStep,
) => stepped(state, event.data.settlementId, step, ledgerFactOf(event));

/** A payment's stream's facts: its own, and the one the upgrade carried over from a lot's stream. */
export type PaymentStreamEvent = PaymentEvent | EventOfType<"PaymentCarriedOver">;

/** The payment as the upgrade carried it over: the state it holds, whatever came before on its stream. */
function carriedOver(data: EventOfType<"PaymentCarriedOver">["data"]) {
  const { carriedAt: _at, intentId, currency, endedAt, ...rest } = data;
  return {
    kind: "open" as const,
    ...rest,
    refundsOutstanding: rest.refundsOutstanding.map((amount) => ({ intentId: intentId ?? "", amount })),
    ...definedOf({ intentId, currency, endedAt }),
  };
}

export function evolvePaymentAggregate(state: PaymentState, event: PaymentStreamEvent): PaymentState {
  if (event.type === "PaymentCarriedOver") return carriedOver(event.data);
  // The process's inbox (payment-next.ts): no money yet, but a request is recorded once.
  if (event.type === "PaymentRequested")
    return state.kind === "none" ? { kind: "none", requested: true } : state;
  const open = opened(state, event.data);
  switch (event.type) {
    case "PaymentIntentCreated":
      return open.intentId === undefined ? intentRecorded(open, event.data) : open;
    case "PaymentIntentReleased":
      return { ...open, releasedIntents: [...open.releasedIntents, event.data.intentId] };
    case "PaymentHoldLapsed":
      return { ...open, lapsedAt: event.data.lapsedAt };
    case "PaymentCardSaved":
    case "PaymentActionRequired":
      return savedCardFact(open, event);
    case "PaymentAuthorized": {
      const { intentId, amount, currency } = event.data;
      if (open.status !== "pending" && !awaitsHold(open)) return open;
      const facts = [ledgerFactOf(event)];
      return { ...open, status: "authorized", intentId, currency, authorized: amount, facts };
    }
    case "PaymentAttemptFailed":
      return { ...open, lastAttempt: attemptKey(event.data) };
    case "PaymentVoidDecided":
      return { ...open, voided: { intentId: event.data.intentId, endedBy: event.data.endedBy } };
    case "PaymentFailed":
      return open.status === "pending" || awaitsHold(open)
        ? { ...open, status: "failed", endedAt: event.data.failedAt }
        : open;
    case "PaymentSettlementDecided": {
      const { refund, because, decidedAt, intentId } = event.data;
      const under = [...open.refundsOutstanding, { intentId, amount: refund }];
      const refunds = refund > 0 ? under : open.refundsOutstanding;
      if (because === "refund") return { ...open, refundsOutstanding: refunds };
      return { ...open, settled: true, endedAt: decidedAt, refundsOutstanding: refunds };
    }
    case "PaymentCaptured": {
      const next = moved(paidBack(open, event.data.intentId), event, "capture");
      return { ...next, captured: open.captured + event.data.amount };
    }
    case "PaymentReleased":
      return moved(open, event, "release");
    case "OverstayCharged":
      return moved(paidBack(open, event.data.intentId), event, "overstay");
    case "PaymentRefunded": {
      const { intentId, amount } = event.data;
      return {
        ...moved(open, event, "refund"),
        refunded: open.refunded + amount,
        refundsOutstanding: lessOutstanding(open.refundsOutstanding, amount, intentId),
      };
    }
    case "PaymentStepFailed": {
      const { settlementId, step } = event.data;
      const next = stepped(comebackOf(open, event.data), settlementId, step);
      return step === "refund"
        ? { ...next, refundsOutstanding: lessOutstanding(open.refundsOutstanding, event.data.amount) }
        : next;
    }
  }
}

/** What the lot says of the booking (read from its state by the caller: the lot decides these). */
export interface BookingAsk {
  /** Whether the booking is PENDING_PAYMENT: only then may an intent be recorded or authorized. */
  readonly awaiting: boolean;
  /** What the booking asked to authorize, in `currency`'s minor unit. */
  readonly amount: number;
  readonly currency: string;
  /** The lot's terms the booking was made under: its intent records them (absent: none known). */
  readonly terms?: PaymentTerms;
}

/** The terms a settlement of this payment follows, as its own stream holds them. */
export const termsOnStream = (state: PaymentState): PaymentTerms | undefined =>
  state.kind === "open" ? (state.terms ?? state.asked?.terms) : undefined;

function mismatchOf(
  state: PaymentState,
  ask: BookingAsk,
  word: { readonly intentId?: string; readonly amount?: number; readonly currency?: string },
): "intent" | "amount" | "currency" | undefined {
  const counted = state.kind === "open" ? state.intentId : undefined;
  // An intent the booking never recorded (its creation failed) authorizes nothing.
  if (word.intentId !== undefined && counted !== word.intentId) return "intent";
  if (word.currency !== undefined && word.currency !== ask.currency) return "currency";
  if (word.amount !== undefined && word.amount < ask.amount) return "amount";
  return undefined;
}

/** The intent created for a pending booking, recorded once: the only one that may authorize it. */
export function decideIntent(
  state: PaymentState,
  command: RecordPaymentIntent,
  ask: BookingAsk,
  customerId?: string,
): PaymentDecision {
  const { parkingLotId, reservationId, intentId, amount, currency } = command;
  if (state.kind === "open" && state.intentId === intentId) return accept(); // recorded already
  if (!ask.awaiting || (state.kind === "open" && state.status !== "pending"))
    return reject({ code: "PaymentNotPending", parkingLotId, reservationId });
  const reason =
    state.kind === "open" && state.intentId !== undefined
      ? "intent"
      : mismatchOf(state, ask, { amount, currency });
  if (reason) return reject({ code: "PaymentMismatch", parkingLotId, reservationId, reason });
  return accept({
    type: "PaymentIntentCreated",
    data: {
      reservationId,
      parkingLotId,
      intentId,
      amount,
      currency,
      ...definedOf({ terms: ask.terms, authorizeAt: command.authorizeAt }),
      createdAt: command.now,
      // Whose it is (its seal's key), and the saved card, sealed under their key.
      ...(customerId !== undefined ? { customerId } : {}),
      ...(command.paymentMethod !== undefined && customerId !== undefined
        ? { method: command.paymentMethod }
        : {}),
    },
  });
}

/** The provider's authorization of the booking's intent; `booking`: the lot's record, for integrators. */
export function decideAuthorization(
  state: PaymentState,
  command: AuthorizePayment,
  ask: BookingAsk,
  booking: Pick<EventOfType<"PaymentAuthorized">["data"], "customerId" | "booking"> = {},
): PaymentDecision {
  const { parkingLotId, reservationId, intentId, amount, currency, authorizeAt } = command;
  if (state.kind === "open" && confirmed(state) && state.intentId === intentId) return accept();
  if (state.kind === "open" && awaitsHold(state)) return authorizeSaved(state, command, booking);
  if (!ask.awaiting || (state.kind === "open" && state.status !== "pending"))
    return reject({ code: "PaymentNotPending", parkingLotId, reservationId });
  // A card saved (the booking confirmed, nothing held) names its SetupIntent, never recorded.
  const word = authorizeAt === undefined ? { intentId, amount, currency } : { amount, currency };
  const reason = mismatchOf(state, ask, word);
  if (reason) return reject({ code: "PaymentMismatch", parkingLotId, reservationId, reason });
  const data = { reservationId, parkingLotId, intentId, amount, currency, ...booking };
  // A card saved server-side (`authorizeAt`), or with the SetupIntent the booking recorded.
  const holdAt = authorizeAt ?? (state.kind === "open" ? state.saved?.authorizeAt : undefined);
  if (holdAt !== undefined) return accept(saving(command, data, holdAt));
  // The card its customer confirmed it with (Stripe.js), saved to them: sealed under their key.
  const card =
    command.paymentMethod !== undefined && booking.customerId !== undefined
      ? { method: command.paymentMethod }
      : {};
  return accept({ type: "PaymentAuthorized", data: { ...data, ...card, authorizedAt: command.now } });
}

const decided = (
  state: OpenPayment,
  settlement: Settlement & { readonly refund?: number; readonly reason?: string },
  because: EventOfType<"PaymentSettlementDecided">["data"]["because"],
  at: string,
  intentId = state.intentId ?? state.action?.intentId ?? "", // a card's saving: its SetupIntent
): PaymentEvent => {
  const currency = state.currency ?? "";
  const { waived, ...chargeable } = chargeableIn(settlement, currency);
  return {
    type: "PaymentSettlementDecided",
    data: {
      reservationId: state.reservationId,
      parkingLotId: state.parkingLotId,
      intentId,
      currency,
      ...chargeable,
      refund: roundDownToStep(settlement.refund ?? 0, currency),
      because,
      ...(settlement.reason !== undefined ? { reason: settlement.reason } : {}),
      ...(waived > 0 ? { waived } : {}),
      decidedAt: at,
    },
  };
};

/** The settlement of a confirmed payment whose booking ended (a saved card's unheld: off-session); nothing for others. */
export function decideSettlement(state: PaymentState, ask: SettleAsk, at: string): PaymentDecision {
  if (state.kind !== "open" || !confirmed(state) || state.settled) return accept();
  // A card not saved yet left its booking unconfirmed, which the lot settles free (settleAskOf).
  const unheld = awaitsHold(state) && unheldSettlementOf(ask, state.saved?.amount ?? 0, at);
  return accept(decided(state, unheld || settlementOf(ask, state.authorized, at), ask.because, at));
}

/**
 * An operator's refund: of what was captured and charged, less refunded and under way, within the
 * window; each charge gives back from itself (in the order taken), one settlement per charge.
 */
export function decideRefund(state: PaymentState, command: RefundPayment): PaymentDecision {
  const { parkingLotId, reservationId, amount, reason, now } = command;
  if (state.kind !== "open" || !confirmed(state) || ledgerOf(state.facts).captured === 0)
    return reject({ code: "NotPaid", parkingLotId, reservationId });
  // Until when a refund may be asked, once the money ended.
  const until = state.endedAt !== undefined ? Date.parse(state.endedAt) + REFUND_WINDOW_MS : undefined;
  if (until !== undefined && until <= Date.parse(now))
    return reject({
      code: "RefundWindowPassed",
      parkingLotId,
      reservationId,
      refundableUntil: new Date(until).toISOString(),
    });
  const charges = refundableByIntent(state.facts, state.refundsOutstanding);
  const most = charges.reduce((sum, charge) => sum + charge.amount, 0);
  if (amount > most)
    return reject({
      code: "RefundExceedsCaptured",
      parkingLotId,
      reservationId,
      refundable: most,
      asked: amount,
    });
  const refund = (leg: RefundUnderWay) =>
    decided(
      state,
      { capture: 0, release: 0, offSession: 0, refund: leg.amount, reason },
      "refund",
      now,
      leg.intentId,
    );
  return accept(...refundLegs(charges, amount).map(refund));
}

/** A pending payment's failure (declined, or its hold ran out: the lot decides that); once. */
export function decideFailure(
  state: PaymentState,
  failure: Omit<EventOfType<"PaymentFailed">["data"], "failedAt">,
  at: string,
): PaymentDecision {
  const saved = state.kind === "open" && awaitsHold(state); // its hold before the stay
  if (state.kind === "open" && state.status !== "pending" && !saved) return accept(); // authorized or failed
  // A failure names the intent that counts, or none: another intent's fails nothing.
  const { parkingLotId, reservationId, intentId } = failure;
  const counted = state.kind === "open" ? state.intentId : undefined;
  if (!saved && intentId !== undefined && intentId !== counted)
    return reject({ code: "PaymentMismatch", parkingLotId, reservationId, reason: "intent" });
  return accept({ type: "PaymentFailed", data: { ...failure, failedAt: at } });
}

/** An intent no booking counts on, canceled at the provider: recorded once per intent. */
export function decideIntentReleased(state: PaymentState, command: RecordIntentReleased): PaymentDecision {
  const { parkingLotId, reservationId, intentId, amount, because, now } = command;
  if (state.kind === "open" && state.releasedIntents.includes(intentId)) return accept();
  return accept({
    type: "PaymentIntentReleased",
    data: { reservationId, parkingLotId, intentId, amount, because, releasedAt: now },
  });
}

/** The provider let the authorization the booking counts on go before its settlement: recorded once. */
export function decideHoldLapsed(state: PaymentState, command: RecordHoldLapsed): PaymentDecision {
  const { parkingLotId, reservationId, intentId, because, now } = command;
  const counted = state.kind === "open" && state.status === "authorized" && state.intentId === intentId;
  if (!counted || state.settled || state.lapsedAt !== undefined) return accept();
  return accept({
    type: "PaymentHoldLapsed",
    data: { reservationId, parkingLotId, intentId, amount: state.authorized, because, lapsedAt: now },
  });
}

/** What the provider did with one step of a settlement, recorded once per (settlement, step). */
export function decideOutcome(state: PaymentState, command: RecordPaymentOutcome): PaymentDecision {
  const { parkingLotId, reservationId, settlementId, step, outcome, now } = command;
  if (state.kind !== "open" || !confirmed(state))
    return reject({ code: "NotPaid", parkingLotId, reservationId });
  if (state.steps.includes(stepKey(settlementId, step))) return accept(); // recorded already
  const ids = { reservationId, parkingLotId };
  if (!outcome.ok)
    return accept({
      type: "PaymentStepFailed",
      data: {
        ...ids,
        settlementId,
        step,
        code: outcome.code,
        message: outcome.message,
        ...definedOf({ amount: outcome.amount, currency: state.currency || undefined }),
        ...definedOf({ declineCode: outcome.declineCode, intentId: outcome.intentId }),
        failedAt: now,
      },
    });
  const { intentId, amount, lapsedIntentId } = outcome;
  const currency = state.currency ?? "";
  switch (step) {
    case "capture": {
      const lapsed = lapsedIntentId !== undefined ? { lapsedIntentId } : {};
      return accept({
        type: "PaymentCaptured",
        data: { ...ids, intentId, amount, currency, settlementId, ...lapsed, capturedAt: now },
      });
    }
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
      // The ledger's rule: never more refunded than the charge captured (what is under way is this refund's own).
      const charge = ledgerOf(state.facts).intents.find((row) => row.intentId === intentId);
      const most = refundable(charge?.captured ?? 0, charge?.refunded ?? 0);
      if (amount > most)
        return reject({ code: "RefundExceedsCaptured", ...ids, refundable: most, asked: amount });
      const refundId = outcome.refundId ?? settlementId;
      return accept({
        type: "PaymentRefunded",
        data: { ...ids, intentId, refundId, amount, currency, settlementId, refundedAt: now },
      });
    }
  }
}
