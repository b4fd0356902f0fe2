import { ERASED } from "../../schemas/personal-data.js";
import { evolvePaymentAggregate, noPayment, type PaymentState, type PaymentStreamEvent } from "./payment.js";
import type { PaymentRequestRecord, SettlementDue } from "./payment-facts.js";
import { nextSettleStep, type SettleStepDue } from "./payment-process.js";
import { unpaidIntentOf } from "./unpaid-intents.js";

/**
 * What to do next for a booking's money, a pure function of its payment's stream (the process's
 * inbox and outbox): the payments process manager keeps only when to look again (its due index).
 * Each step's idempotency key derives from the id of the fact that asked for it.
 */

/** A fact of the payment's stream with its id in the log (the steps' keys derive from it). */
export interface PaymentFactRecord {
  readonly id: string;
  readonly event: PaymentStreamEvent;
  /** Its correlation id: the commands a step sends carry it on. */
  readonly correlationId?: string;
}

export type { PaymentRequestRecord, SettlementDue } from "./payment-facts.js";

/** The payment's stream folded for its process: its state, its settlements, and its hold's facts. */
export interface PaymentProcess {
  readonly payment: PaymentState;
  readonly settlements: readonly SettlementDue[];
  /** The last PaymentCardSaved: the hold before the stay it asks for, due at `authorizeAt`. */
  readonly hold?: { readonly eventId: string; readonly startsAt?: string };
  /** The last PaymentActionRequired: its deadline's step derives its key from it. */
  readonly action?: { readonly eventId: string };
  /** The booking's request (PaymentRequested), until its authorization is recorded: the `authorize` step. */
  readonly request?: PaymentRequestRecord;
  /** The booking's saved card, as the last fact naming it says (none once its customer is erased). */
  readonly card?: { readonly method: string; readonly customerId?: string };
  /** Each fact's correlation id, by its id. */
  readonly causes: Readonly<Record<string, string>>;
}

export const NO_PROCESS: PaymentProcess = { payment: noPayment, settlements: [], causes: {} };

/** One fact of the payment's stream folded into its process. */
export function evolveProcess(
  before: PaymentProcess,
  { id, event, correlationId }: PaymentFactRecord,
): PaymentProcess {
  const causes = correlationId === undefined ? before.causes : { ...before.causes, [id]: correlationId };
  const card = cardOf(event) ?? before.card;
  const process = {
    ...before,
    payment: evolvePaymentAggregate(before.payment, event),
    causes,
    ...(card ? { card } : {}),
  };
  if (event.type === "PaymentSettlementDecided") {
    const { intentId, currency, capture, release, offSession, refund, because, reason } = event.data;
    const settlement = { eventId: id, intentId, currency, capture, release, offSession, refund, because };
    const due = { ...settlement, ...(reason !== undefined ? { reason } : {}) };
    return { ...process, settlements: [...process.settlements, due] };
  }
  if (event.type === "PaymentCardSaved") {
    const startsAt = event.data.booking?.startsAt;
    return { ...process, hold: { eventId: id, ...(startsAt ? { startsAt } : {}) } };
  }
  if (event.type === "PaymentRequested") {
    const { requestedAt: _, ...request } = event.data;
    const cause = correlationId === undefined ? {} : { [request.requestedBy]: correlationId };
    return { ...process, request, causes: { ...process.causes, ...cause } };
  }
  if (event.type === "PaymentVoidDecided" && correlationId !== undefined)
    return { ...process, causes: { ...process.causes, [event.data.endedBy]: correlationId } };
  return event.type === "PaymentActionRequired" ? { ...process, action: { eventId: id } } : process;
}

/** The saved card a fact names: given at booking (its intent), saved later, or confirmed with Stripe.js. */
function cardOf(event: PaymentStreamEvent): PaymentProcess["card"] {
  if (
    event.type !== "PaymentIntentCreated" &&
    event.type !== "PaymentCardSaved" &&
    event.type !== "PaymentAuthorized"
  )
    return undefined;
  const { method, customerId } = event.data;
  if (method === undefined || method === ERASED) return undefined; // an erased customer's: none to charge
  return { method, ...(customerId !== undefined ? { customerId } : {}) };
}

export const processOf = (facts: readonly PaymentFactRecord[]): PaymentProcess =>
  facts.reduce(evolveProcess, NO_PROCESS);

/** The process's next step, or when to look again (`wait`), or nothing left (`none`). */
export type NextStep =
  | { readonly kind: "settle"; readonly settlement: SettlementDue; readonly due: SettleStepDue }
  | {
      readonly kind: "hold";
      readonly eventId: string;
      readonly amount: number;
      readonly currency: string;
      readonly startsAt?: string;
    }
  | { readonly kind: "authorize"; readonly eventId: string; readonly request: PaymentRequestRecord }
  | { readonly kind: "deadline"; readonly eventId: string }
  | { readonly kind: "void"; readonly eventId: string; readonly intentId: string }
  | { readonly kind: "wait"; readonly until: string }
  | { readonly kind: "none" };

const NONE: NextStep = { kind: "none" };

/**
 * The next step: a settlement's step not recorded nor `tried` this run, oldest settlement first;
 * else the booking's authorization or its hold before the stay; else a hold's deadline once passed;
 * else the void of an intent its booking's end left unpaid.
 */
export function nextStep(
  process: PaymentProcess,
  now: string,
  tried: ReadonlySet<string> = new Set(),
): NextStep {
  const { payment } = process;
  for (const settlement of process.settlements) {
    const due = nextSettleStep(payment, settlement, tried);
    if (due) return { kind: "settle", settlement, due };
  }
  const authorize = authorizeDue(process, now, tried);
  if (authorize) return authorize;
  if (payment.kind !== "open" || payment.settled) return NONE;
  const at = Date.parse(now);
  if (
    payment.status === "saved" &&
    payment.saved &&
    process.hold &&
    !tried.has(`${process.hold.eventId}:hold`)
  ) {
    const { amount, authorizeAt } = payment.saved;
    if (Date.parse(authorizeAt) > at) return { kind: "wait", until: authorizeAt };
    const { eventId, startsAt } = process.hold;
    return {
      kind: "hold",
      eventId,
      amount,
      currency: payment.currency ?? "",
      ...(startsAt ? { startsAt } : {}),
    };
  }
  const { action } = payment;
  // A hold that asked for its customer: failed at its deadline, then its intent released (a
  // release the provider did not answer is asked again).
  const open =
    payment.status === "action-required" ||
    (payment.status === "failed" &&
      payment.intentId !== undefined &&
      !payment.releasedIntents.includes(action?.intentId ?? ""));
  if (action && process.action && open) {
    if (Date.parse(action.deadline) > at) return { kind: "wait", until: action.deadline };
    if (!tried.has(`${process.action.eventId}:deadline`))
      return { kind: "deadline", eventId: process.action.eventId };
  }
  // A booking that ended unpaid (PaymentVoidDecided): its intent canceled, unless released since.
  const { voided } = payment;
  if (!voided || unpaidIntentOf(payment, false) !== voided.intentId || tried.has(`${voided.endedBy}:void`))
    return NONE;
  return { kind: "void", eventId: voided.endedBy, intentId: voided.intentId };
}

/**
 * The booking's authorization, while its request waits for it (`parking:{requestedBy}:authorize`):
 * nothing recorded of it yet, or its intent recorded and its card, confirmed server-side, not yet
 * heard of (a crash between the two: asked again under the same keys, the provider answers as
 * before). Not once the spot's hold is over (the lot expires the booking), its end decided a void,
 * or its customer erased.
 */
function authorizeDue(
  process: PaymentProcess,
  now: string,
  tried: ReadonlySet<string>,
): NextStep | undefined {
  const { request, payment } = process;
  const voided = payment.kind === "open" && payment.voided;
  if (!request || voided || tried.has(`${request.requestedBy}:authorize`)) return undefined;
  if (request.customerId === ERASED || request.method === ERASED) return undefined;
  if (request.holdUntil !== undefined && Date.parse(request.holdUntil) <= Date.parse(now)) return undefined;
  const unconfirmed = payment.kind === "open" && payment.status === "pending" && !payment.settled;
  if (payment.kind === "open" && !(unconfirmed && request.method !== undefined)) return undefined;
  return { kind: "authorize", eventId: request.requestedBy, request };
}
