import { nextStep, type SettlementDue } from "../../write-side/payment/payment-next.js";
import type { SettleStepDue } from "../../write-side/payment/payment-process.js";
import { authorizeBooking, deadlinePassed, holdBeforeStay } from "./hold-steps.js";
import { customerRefOf, type PendingEnd } from "./payment-inbox.js";
import { type ProviderOutcome, stepKey } from "./provider.js";
import {
  causeOf,
  codeOf,
  comebackIntent,
  metadataOf,
  outcomeOf,
  type PlanResult,
  providerCustomerOf,
  releaseIntent,
  type StepDeps,
  type StepOutcome,
  type StepWork,
} from "./step-common.js";

/** An erased customer's provider customer (`ref`: their pseudonym) deleted there, then forgotten here. */
export async function forgetCustomer(ref: string, deps: StepDeps): Promise<PlanResult> {
  const customerId = await deps.customers.get(ref);
  if (!customerId) return "done";
  const deleted = await deps.provider.deleteCustomer(customerId);
  if (!deleted.ok && deleted.kind === "retryable") return "retry";
  if (!deleted.ok)
    deps.logger.error(
      { customerId, message: deleted.message },
      "deleting an erased customer's provider customer failed",
    );
  await deps.customers.drop(ref);
  return "done";
}

/**
 * A booking ended on the lot: its settlement (or, ended unpaid, the void of its intent) is decided
 * on its payment's stream (a repeat decides nothing), and carried out from there (runNext).
 */
export async function decideEnd(ended: PendingEnd, deps: StepDeps): Promise<PlanResult> {
  const { parkingLotId, reservationId, end, eventId: endedBy } = ended;
  const now = ended.endedAt || deps.now();
  const sent = await deps.send(
    { type: "SettleBooking", parkingLotId, reservationId, end, now, endedBy },
    { correlationId: ended.correlationId, causationId: endedBy },
  );
  if (!sent.ok)
    deps.logger.error({ parkingLotId, reservationId, code: sent.code }, "a booking's settlement was refused");
  return "done";
}

/** What a due entry's run came to: nothing left, the provider or the store out, or look again then. */
export type NextResult = PlanResult | { readonly until: string };

/**
 * A booking's money carried on, step by step, each the one its payment's stream says is next
 * (`nextStep`), each provider call under its fact's key, each outcome recorded on the stream, which
 * the next step reads: a step recorded before a crash is not asked again; one whose outcome the
 * stream refused is not asked again in this run.
 */
export async function runNext(reservationId: string, deps: StepDeps): Promise<NextResult> {
  const tried = new Set<string>();
  for (;;) {
    const process = await deps.paymentProcess(reservationId);
    const next = nextStep(process, deps.now(), tried);
    if (next.kind === "none") return "done";
    if (next.kind === "wait") return { until: next.until };
    if (next.kind === "authorize") {
      tried.add(`${next.eventId}:authorize`);
      // The request's lot fact roots the keys.
      const { request } = next;
      const correlationId = process.causes[request.requestedBy] ?? request.requestedBy;
      const work = { ...request, kind: "authorize", eventId: request.requestedBy, correlationId } as const;
      if ((await authorizeBooking(work, deps)) === "retry") return "retry";
      continue;
    }
    if (process.payment.kind !== "open") return "done";
    const eventId = next.kind === "settle" ? next.settlement.eventId : next.eventId;
    tried.add(`${eventId}:${next.kind === "settle" ? next.due.step : next.kind}`);
    const { parkingLotId, currency = "" } = process.payment;
    // The card its stream names, on whose provider customer (their pseudonym); else an old document's.
    const { card } = process;
    const customer = card?.customerId === undefined ? undefined : customerRefOf(card.customerId);
    const saved = card
      ? { method: card.method, ...(customer ? { customer } : {}) }
      : await deps.oldSavedMethod(reservationId);
    const correlationId = process.causes[eventId] ?? eventId;
    const work = { reservationId, parkingLotId, eventId, correlationId, currency, ...saved };
    const result =
      next.kind === "settle"
        ? await settleStep({ ...work, ...next.settlement }, next.due, deps)
        : next.kind === "hold"
          ? await holdBeforeStay({ ...work, ...next, kind: "hold" }, deps)
          : next.kind === "void"
            ? await releaseIntent(work, next.intentId, "booking-ended", stepKey(eventId, "void"), deps)
            : await deadlinePassed({ ...work, kind: "hold" }, process.payment, deps);
    if (result === "retry") return "retry";
  }
}

type SettleWork = StepWork & SettlementDue;

/** One step of a settlement: the provider asked under the step's key, the outcome recorded on the payment's stream. */
async function settleStep(plan: SettleWork, next: SettleStepDue, deps: StepDeps): Promise<PlanResult> {
  const called = await callStep(plan, next, deps);
  if (called === "retry") return "retry";
  // A failure says what the step was to move: a failed refund frees exactly its amount .
  const outcome: StepOutcome = called.ok ? called : { ...called, amount: next.amount };
  const sent = await deps.send(
    {
      type: "RecordPaymentOutcome",
      parkingLotId: plan.parkingLotId,
      reservationId: plan.reservationId,
      settlementId: plan.eventId,
      step: next.step,
      outcome,
      now: deps.now(),
    },
    causeOf(plan),
  );
  if (!sent.ok)
    deps.logger.error(
      { reservationId: plan.reservationId, settlementId: plan.eventId, step: next.step, code: sent.code },
      "the lot refused a payment outcome",
    );
  return "done";
}

/** One step at the provider, as the outcome the lot records (or `retry` while the provider is out). */
async function callStep(
  plan: SettleWork,
  due: SettleStepDue,
  deps: StepDeps,
): Promise<StepOutcome | "retry"> {
  const { provider } = deps;
  const { step, amount } = due;
  const key = stepKey(plan.eventId, step);
  const { intentId } = plan;
  switch (step) {
    case "capture": {
      const captured = await provider.capture(intentId, amount, key);
      if (!captured.ok && captured.kind === "lapsed") return lapsedCapture(plan, amount, deps);
      return outcomeOf(captured, (v) => ({ intentId, amount: v.captured }));
    }
    case "release": {
      // A capture that went through let the rest go at the provider already: nothing to ask. One
      // that did not leaves the whole hold: it is canceled, all of it recorded released.
      const release = due.release ?? { ask: true, amount };
      if (!release.ask) return { ok: true, intentId, amount: release.amount };
      return outcomeOf(await provider.release(intentId, key), () => ({ intentId, amount: release.amount }));
    }
    case "overstay":
      if (!plan.method)
        return {
          ok: false,
          code: "no_saved_payment_method",
          message: "The booking was paid without a saved payment method: nothing to charge off-session.",
        };
      return outcomeOf(await chargeSaved(plan, plan.method, amount, key, deps), (v) => ({
        intentId: v.intentId,
        amount: v.charged,
      }));
    default:
      return outcomeOf(await provider.refund(intentId, amount, key, refundAbout(plan)), (v) => ({
        intentId,
        amount: v.refunded,
        refundId: v.refundId,
      }));
  }
}

/**
 * The booking's authorization lapsed before its capture (a stay booked more than a week ahead): what
 * the capture was to take is charged off-session to its saved method, as Stripe advises, under a key
 * of its own, recorded as the capture with `lapsedIntentId`. Without a method, or declined, it is a
 * failed capture `authorization_lapsed` with its amount: `payment.failures` shows what is left to collect.
 */
async function lapsedCapture(
  plan: SettleWork,
  amount: number,
  deps: StepDeps,
): Promise<StepOutcome | "retry"> {
  const lapsed = (why: string, declineCode?: string, comeback = {}): StepOutcome => ({
    ok: false,
    code: "authorization_lapsed",
    message: `The card authorization lapsed before it was captured (${plan.intentId}); ${why}`.slice(0, 500),
    ...(declineCode ? { declineCode } : {}),
    ...comeback, // the intent left for the customer to pay on session
  });
  if (!plan.method) return lapsed(`no saved payment method to charge off-session: ${amount} to collect.`);
  const charged = await chargeSaved(plan, plan.method, amount, stepKey(plan.eventId, "lapsed-capture"), deps);
  if (charged.ok) {
    const { intentId, charged: amount } = charged.value;
    return { ok: true, intentId, amount, lapsedIntentId: plan.intentId };
  }
  if (charged.kind === "retryable") return "retry";
  const code = charged.kind === "declined" ? codeOf(charged.code) : "provider_refused";
  const why = `charging the saved method off-session failed (${code}: ${charged.message}): ${amount} to collect.`;
  return lapsed(why, charged.kind === "declined" ? code : undefined, comebackIntent(charged));
}

/** Charges the saved method off-session, naming its provider customer (Stripe refuses it without). */
async function chargeSaved(
  plan: StepWork,
  method: string,
  amount: number,
  idempotencyKey: string,
  deps: StepDeps,
): Promise<ProviderOutcome<{ intentId: string; charged: number }>> {
  const customer = plan.customer ? await providerCustomerOf(plan.customer, deps) : undefined;
  if (customer && !customer.ok) return customer;
  const charged = await deps.provider.chargeOffSession({
    amount,
    currency: plan.currency,
    paymentMethod: method,
    ...(customer ? { customer: customer.value } : {}),
    metadata: metadataOf(plan),
    idempotencyKey,
  });
  // Refused, its intent left for the customer: its client secret is theirs (the booking's view).
  if (!charged.ok && charged.kind === "declined" && charged.comeback)
    await deps.keepClientSecret(plan, charged.comeback.clientSecret);
  return charged;
}

/** What a refund tells the provider: the booking, and why (the operator's reason, or what settled it). */
const refundAbout = (plan: SettleWork) => ({
  metadata: metadataOf(plan),
  reason: plan.reason ?? plan.because ?? "refund",
});
