import { Type } from "@sinclair/typebox";
import { PaymentTerms } from "../../schemas/common.js";
import type { EventOfType } from "../../schemas/events.js";
import type { PAYMENT_EVENTS } from "../../schemas/payment-events.js";
import type { PaymentFact } from "../payment/payment-ledger.js";

/**
 * What the lot knows of each paid booking's money (issue 38), folded from the payment facts: plain
 * JSON (a snapshot stores it as it is). A booking has one only when it started PENDING_PAYMENT.
 */

export type PaymentStep = "capture" | "release" | "refund" | "overstay";

export interface PaymentFailure {
  readonly step: PaymentStep;
  readonly code: string;
  readonly message: string;
  readonly at: string;
}

/** Why a booking's payment failed (PaymentFailed): declined by the provider, or its hold ran out. */
export interface PaymentFailedBecause {
  readonly reason: "declined" | "expired";
  /** The provider's decline code (e.g. `card_declined`), or `expired` for a hold that ran out. */
  readonly code: string;
  /** The provider's message, when it gave one. */
  readonly message?: string;
  readonly at: string;
}

/** What a PaymentFailed says of why: the view and the lot's record read it with this one function. */
export function failedBecause(data: EventOfType<"PaymentFailed">["data"]): PaymentFailedBecause {
  return {
    reason: data.reason,
    code: data.code ?? (data.reason === "expired" ? "expired" : "declined"),
    ...(data.message !== undefined ? { message: data.message } : {}),
    at: data.failedAt,
  };
}

export interface PaymentRecord {
  /** What the booking asked the provider to authorize, in `currency`'s minor unit. */
  readonly amount: number;
  readonly currency: string;
  /** Until when the booking holds its spot unpaid. */
  readonly holdUntil: string;
  /** The lot's terms when the booking was made: its cancel and no-show settle by them. */
  readonly terms: PaymentTerms;
  /** pending → authorized (or failed); once authorized, whether its settlement was decided. */
  readonly state: "pending" | "authorized" | "failed";
  readonly settled: boolean;
  /**
   * The intent created for the booking (issue 47: recorded while pending, the only one whose
   * authorization counts), then authorized; and the amount it authorized.
   */
  readonly intentId?: string;
  /** Issue 47: the intents canceled at the provider because the booking did not count on them. */
  readonly releasedIntents?: readonly string[];
  readonly authorized: number;
  /** Recorded outcomes: on the authorized intent, and charged off-session on others. */
  readonly captured: number;
  readonly released: number;
  readonly refunded: number;
  readonly charged: number;
  /** Refunds decided and not yet recorded (refunded or failed), oldest first. */
  readonly refundsOutstanding: readonly number[];
  /** The settlement steps recorded, `<settlementId>:<step>`: each is recorded once. */
  readonly steps: readonly string[];
  /** Steps that failed at the provider: recorded and shown, never lost. */
  readonly failures: readonly PaymentFailure[];
  /** The ledger's facts of this booking (payment-ledger.ts), in the order they were recorded. */
  readonly facts: readonly PaymentFact[];
  /** Why it failed (state `failed`). */
  readonly failure?: PaymentFailedBecause;
  /**
   * When the booking's money came to its end: its settlement was decided (check-out, cancel,
   * no-show, closure), or it failed or was canceled before it was authorized. A refund may be
   * asked until REFUND_WINDOW_MS after it (payment-policy.ts); payment-ends.ts drops the record then.
   */
  readonly endedAt?: string;
  /** The steps of the booking's settlement (capture, release, overstay) not yet recorded. */
  readonly stepsOutstanding: readonly PaymentStep[];
}

export const stepKey = (settlementId: string, step: PaymentStep): string => `${settlementId}:${step}`;

/** A booking's payment as its ParkingReserved asks for it: pending. */
export function pendingPayment(
  payment: NonNullable<EventOfType<"ParkingReserved">["data"]["payment"]>,
  terms: PaymentTerms,
): PaymentRecord {
  return {
    amount: payment.amount,
    currency: payment.currency,
    holdUntil: payment.holdUntil,
    terms,
    state: "pending",
    settled: false,
    authorized: 0,
    captured: 0,
    released: 0,
    refunded: 0,
    charged: 0,
    refundsOutstanding: [],
    steps: [],
    failures: [],
    facts: [],
    stepsOutstanding: [],
  };
}

/** The payment facts of the lot's stream (schemas/payment-events.ts lists them). */
export type PaymentEvent = EventOfType<keyof typeof PAYMENT_EVENTS>;

/** The step recorded: once per settlement, and no longer outstanding (one of its kind). */
const withStep = (record: PaymentRecord, settlementId: string, step: PaymentStep): PaymentRecord => {
  const at = record.stepsOutstanding.indexOf(step);
  return {
    ...record,
    steps: [...record.steps, stepKey(settlementId, step)],
    ...(at >= 0 ? { stepsOutstanding: record.stepsOutstanding.filter((_, i) => i !== at) } : {}),
  };
};

/** The steps a settlement asks of the provider besides a refund (tracked in refundsOutstanding). */
function stepsOf(decided: EventOfType<"PaymentSettlementDecided">["data"]): PaymentStep[] {
  const steps: [PaymentStep, number][] = [
    ["capture", decided.capture],
    ["release", decided.release],
    ["overstay", decided.offSession],
  ];
  return steps.filter(([, amount]) => amount > 0).map(([step]) => step);
}

/** The record as a booking canceled before its payment was authorized leaves it: ended, nothing to settle. */
export const endedUnpaid = (record: PaymentRecord, at: string): PaymentRecord =>
  record.state === "authorized" || record.endedAt !== undefined ? record : { ...record, endedAt: at };

/**
 * Whether nothing more can happen to the record but a refund: the booking's money came to its end
 * and every step and refund decided is recorded (done or failed).
 */
export const isClosed = (record: PaymentRecord): boolean =>
  record.endedAt !== undefined &&
  record.stepsOutstanding.length === 0 &&
  record.refundsOutstanding.length === 0;

/** The outstanding refunds less one: the one of this amount, else the oldest (they run in order). */
function lessOutstanding(outstanding: readonly number[], amount?: number): number[] {
  const at = amount === undefined ? 0 : Math.max(0, outstanding.indexOf(amount));
  return outstanding.filter((_, i) => i !== at);
}

/** What a payment fact makes of the booking's payment record. */
export function evolvePayment(record: PaymentRecord, event: PaymentEvent): PaymentRecord {
  switch (event.type) {
    case "PaymentIntentCreated":
      return record.state === "pending" && record.intentId === undefined
        ? { ...record, intentId: event.data.intentId }
        : record;
    case "PaymentIntentReleased":
      return { ...record, releasedIntents: [...(record.releasedIntents ?? []), event.data.intentId] };
    case "PaymentAuthorized": {
      const { intentId, amount } = event.data;
      if (record.state !== "pending") return record;
      const fact: PaymentFact = { kind: "authorized", intentId, amount };
      return { ...record, state: "authorized", intentId, authorized: amount, facts: [...record.facts, fact] };
    }
    case "PaymentFailed":
      return record.state === "pending"
        ? endedUnpaid({ ...record, state: "failed", failure: failedBecause(event.data) }, event.data.failedAt)
        : record;
    case "PaymentSettlementDecided": {
      const { because, refund, decidedAt } = event.data;
      const refunds = refund > 0 ? [...record.refundsOutstanding, refund] : record.refundsOutstanding;
      if (because === "refund") return { ...record, refundsOutstanding: refunds };
      return {
        ...record,
        settled: true,
        endedAt: decidedAt,
        stepsOutstanding: stepsOf(event.data),
        refundsOutstanding: refunds,
      };
    }
    case "PaymentCaptured": {
      const { intentId, amount, settlementId } = event.data;
      const fact: PaymentFact = { kind: "captured", intentId, amount };
      return {
        ...withStep(record, settlementId, "capture"),
        captured: record.captured + amount,
        facts: [...record.facts, fact],
      };
    }
    case "PaymentReleased": {
      const { intentId, amount, settlementId } = event.data;
      const fact: PaymentFact = { kind: "released", intentId, amount };
      return {
        ...withStep(record, settlementId, "release"),
        released: record.released + amount,
        facts: [...record.facts, fact],
      };
    }
    case "PaymentRefunded": {
      const { intentId, amount, settlementId } = event.data;
      const fact: PaymentFact = { kind: "refunded", intentId, amount };
      return {
        ...withStep(record, settlementId, "refund"),
        refunded: record.refunded + amount,
        refundsOutstanding: lessOutstanding(record.refundsOutstanding, amount),
        facts: [...record.facts, fact],
      };
    }
    case "OverstayCharged": {
      const { intentId, amount, settlementId } = event.data;
      const fact: PaymentFact = { kind: "charged", intentId, amount };
      return {
        ...withStep(record, settlementId, "overstay"),
        charged: record.charged + amount,
        facts: [...record.facts, fact],
      };
    }
    case "PaymentStepFailed": {
      const { settlementId, step, code, message, failedAt } = event.data;
      const failed = withStep(record, settlementId, step);
      return {
        ...failed,
        failures: [...record.failures, { step, code, message, at: failedAt }],
        ...(step === "refund" ? { refundsOutstanding: lessOutstanding(record.refundsOutstanding) } : {}),
      };
    }
  }
}

/** A booking's payment as the reservation view shows it (issue 38). */
export interface PaymentView {
  readonly state:
    | "pending"
    | "authorized"
    | "captured"
    | "partially_refunded"
    | "refunded"
    | "released"
    | "failed";
  readonly amount: number;
  readonly currency: string;
  readonly holdUntil: string;
  readonly intentId?: string;
  readonly authorized: number;
  /** Captured from the authorization and charged off-session together. */
  readonly captured: number;
  readonly refunded: number;
  readonly released: number;
  readonly failures: readonly PaymentFailure[];
  /** State `failed`: why. */
  readonly failure?: PaymentFailedBecause;
}

/**
 * What a payment's state reads, from what was recorded of it: pending or failed as recorded; once
 * authorized, refunded once all it captured was given back, partially_refunded once some of it was
 * (issue 47: 400 of 1,000 is not a refund of the payment), else captured once anything was (an
 * off-session charge too), else released once its authorization was let go. The reservation view
 * reads it too.
 */
export function paymentStateOf(payment: {
  /** As recorded (a stored view's state reads the same way). */
  readonly state: PaymentView["state"];
  /** Captured, off-session charges included. */
  readonly captured: number;
  readonly refunded: number;
  readonly released: number;
}): PaymentView["state"] {
  if (payment.state !== "authorized") return payment.state;
  if (payment.refunded > 0) return payment.refunded < payment.captured ? "partially_refunded" : "refunded";
  if (payment.captured > 0) return "captured";
  return payment.released > 0 ? "released" : "authorized";
}

export function paymentViewOf(record: PaymentRecord): PaymentView {
  const captured = record.captured + record.charged;
  return {
    state: paymentStateOf({ ...record, captured }),
    amount: record.amount,
    currency: record.currency,
    holdUntil: record.holdUntil,
    ...(record.intentId !== undefined ? { intentId: record.intentId } : {}),
    authorized: record.authorized,
    captured,
    refunded: record.refunded,
    released: record.released,
    failures: record.failures,
    ...(record.failure !== undefined ? { failure: record.failure } : {}),
  };
}

/** A payment record as a snapshot stores it (snapshot.ts validates a stored one with it). */
const Step = Type.Union([
  Type.Literal("capture"),
  Type.Literal("release"),
  Type.Literal("refund"),
  Type.Literal("overstay"),
]);
const Money = Type.Integer({ minimum: 0 });
export const PaymentRecordSchema = Type.Object(
  {
    amount: Money,
    currency: Type.String(),
    holdUntil: Type.String(),
    terms: PaymentTerms,
    state: Type.Union([Type.Literal("pending"), Type.Literal("authorized"), Type.Literal("failed")]),
    settled: Type.Boolean(),
    intentId: Type.Optional(Type.String()),
    releasedIntents: Type.Optional(Type.Array(Type.String())),
    authorized: Money,
    captured: Money,
    released: Money,
    refunded: Money,
    charged: Money,
    refundsOutstanding: Type.Array(Money),
    steps: Type.Array(Type.String()),
    stepsOutstanding: Type.Array(Step),
    endedAt: Type.Optional(Type.String()),
    failure: Type.Optional(
      Type.Object(
        {
          reason: Type.Union([Type.Literal("declined"), Type.Literal("expired")]),
          code: Type.String(),
          message: Type.Optional(Type.String()),
          at: Type.String(),
        },
        { additionalProperties: false },
      ),
    ),
    failures: Type.Array(
      Type.Object(
        { step: Step, code: Type.String(), message: Type.String(), at: Type.String() },
        { additionalProperties: false },
      ),
    ),
    facts: Type.Array(
      Type.Object(
        {
          kind: Type.Union([
            Type.Literal("authorized"),
            Type.Literal("captured"),
            Type.Literal("released"),
            Type.Literal("refunded"),
            Type.Literal("charged"),
          ]),
          intentId: Type.String(),
          amount: Money,
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
