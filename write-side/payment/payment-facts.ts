import type { PaymentTerms } from "../../schemas/common.js";
import type { EventOfType } from "../../schemas/events.js";
import type { PAYMENT_EVENTS } from "../../schemas/payment-events.js";
import type { PaymentView } from "../../schemas/payment-views.js";
import type { PaymentFact, RefundUnderWay } from "./payment-ledger.js";
import type { CommandRejection as Rejection } from "./payment-rejections.js";

/** The payment facts (on each payment's own stream), and what the write and read sides read of them alike. */

/** The payment facts (schemas/payment-events.ts lists them), and the process's inbox (PaymentRequested). */
export type PaymentEvent = EventOfType<keyof typeof PAYMENT_EVENTS | "PaymentRequested">;

export type PaymentStep = "capture" | "release" | "refund" | "overstay";

/** A settlement decided on the stream (its PaymentSettlementDecided and id), as the process does it. */
export type SettlementDue = { readonly eventId: string } & Pick<
  EventOfType<"PaymentSettlementDecided">["data"],
  "intentId" | "currency" | "capture" | "release" | "offSession" | "refund" | "because" | "reason"
>;

/** A booking's request to be paid, as its step reads it (`requestedBy`: the lot's fact, its keys' root). */
export type PaymentRequestRecord = Omit<EventOfType<"PaymentRequested">["data"], "requestedAt">;

export interface OpenPayment {
  readonly kind: "open";
  readonly parkingLotId: string;
  readonly reservationId: string;
  /** `saved` (a card saved for later, nothing held) and `action-required`: saved-card.ts. */
  readonly status: "pending" | "saved" | "action-required" | "authorized" | "failed";
  /** The intent that counts: the one recorded first (or, on an older stream, the one authorized). */
  readonly intentId?: string;
  readonly currency?: string;
  readonly authorized: number;
  readonly captured: number;
  readonly refunded: number;
  /** Refunds decided and not yet recorded (refunded or failed), oldest first, each against its charge. */
  readonly refundsOutstanding: readonly RefundUnderWay[];
  readonly settled: boolean;
  /** When the money came to its end: the settlement's decision, or the failure. */
  readonly endedAt?: string;
  /** `<settlementId>:<step>` of every step recorded (done or failed). */
  readonly steps: readonly string[];
  readonly releasedIntents: readonly string[];
  /** The ledger's facts (payment-ledger.ts), in the order recorded. */
  readonly facts: readonly PaymentFact[];
  /** Carried over from a lot's stream (PaymentCarriedOver): what the booking asked then, with its terms. */
  readonly asked?: EventOfType<"PaymentCarriedOver">["data"]["asked"];
  /** The terms its booking was made under, as its intent recorded them. */
  readonly terms?: PaymentTerms;
  /** When the provider let its authorization go unsettled (PaymentHoldLapsed): the settlement charges off-session. */
  readonly lapsedAt?: string;
  /** A saved card's: what is to be held off-session, and when (PaymentCardSaved). */
  readonly saved?: { readonly amount: number; readonly authorizeAt: string };
  readonly action?: { readonly intentId: string; readonly deadline: string }; // PaymentActionRequired
  readonly lastAttempt?: string; // the customer's last declined try (client-confirmed.ts)
  /** PaymentVoidDecided: the intent its booking's end left unpaid, and the lot's fact that ended it. */
  readonly voided?: { readonly intentId: string; readonly endedBy: string };

  readonly comebacks?: readonly Comeback[]; // intents refused charges left for the customer (comeback.ts)
}

/** An intent a refused charge left for the customer: which step of which settlement, and what it is to take. */
export interface Comeback {
  readonly intentId: string;
  readonly settlementId: string;
  readonly step: "capture" | "overstay";
  readonly amount: number;
}

/** `requested`: its booking asked to be paid (PaymentRequested), nothing of its money recorded yet. */
export type PaymentState = { readonly kind: "none"; readonly requested?: true } | OpenPayment;

export type PaymentDecision =
  | { readonly ok: true; readonly events: readonly PaymentEvent[] }
  | { readonly ok: false; readonly rejection: Rejection };

/** What a PaymentFailed says of why, as the reservation view's schema has it: every reader's one function. */
export function failedBecause(
  data: EventOfType<"PaymentFailed">["data"],
): NonNullable<PaymentView["failure"]> {
  return {
    reason: data.reason,
    code: data.code ?? (data.reason === "expired" ? "expired" : "declined"),
    ...(data.message !== undefined ? { message: data.message } : {}),
    at: data.failedAt,
  };
}

/**
 * What a payment's state reads, from what was recorded of it: pending or failed as recorded; once
 * authorized, refunded (all it captured given back) or partially_refunded, else captured, else
 * released, else as recorded (`lapsed`: the provider let the hold go; never `authorized` unheld).
 */
export function paymentStateOf(payment: {
  /** As recorded (a stored view's state reads the same way). */
  readonly state: PaymentView["state"];
  /** Captured, off-session charges included. */
  readonly captured: number;
  readonly refunded: number;
  readonly released: number;
}): PaymentView["state"] {
  if (payment.state === "pending" || payment.state === "failed") return payment.state;
  if (payment.refunded > 0) return payment.refunded < payment.captured ? "partially_refunded" : "refunded";
  if (payment.captured > 0) return "captured";
  return payment.released > 0 ? "released" : payment.state;
}
