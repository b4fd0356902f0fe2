import type { Logger } from "../../platform/logger.js";
import type {
  AuthorizePayment,
  FailPayment,
  RecordHoldLapsed,
  RecordIntentReleased,
  RecordPaymentIntent,
  RecordPaymentOutcome,
} from "../../schemas/commands.js";
import type { ParkingLotState } from "../../write-side/parking-lot/decider.js";
import type { PaymentState } from "../../write-side/payment/payment.js";
import {
  nextStep,
  type PaymentProcess,
  type PaymentRequestRecord,
  type SettlementDue,
} from "../../write-side/payment/payment-next.js";
import type {
  RequestPayment,
  SettleBooking,
  SettleStepDue,
} from "../../write-side/payment/payment-process.js";
import { authorizeBooking } from "./authorize-step.js";
import {
  type AuthorizeWork,
  deadlinePassed,
  type HoldHelpers,
  holdBeforeStay,
  metadataOf,
  type PlanResult,
  type StepWork,
} from "./hold-steps.js";
import { customerRefOf, type PendingEnd, type SavedMethod } from "./payment-inbox.js";
import { type PaymentProvider, type ProviderOutcome, stepKey } from "./provider.js";
import { codeOf, comebackIntent, outcomeOf, type StepOutcome } from "./step-outcomes.js";

/**
 * The commands the payments process manager sends to the write side: each outcome of the provider
 * as a fact, decided on the payment's stream first, the lot then hearing its own outcome.
 */
export type PaymentCommand =
  | SettleBooking
  | RequestPayment
  | AuthorizePayment
  | FailPayment
  | RecordPaymentOutcome
  | RecordPaymentIntent
  | RecordIntentReleased
  | RecordHoldLapsed;

/** How the lot took a command: accepted (`recorded`: it appended something) or refused with a code. */
export type PaymentSendResult =
  | { readonly ok: true; readonly recorded: boolean }
  | { readonly ok: false; readonly code: string };

/** Sends a command to the write side (the composition root wires the lot's command handler). */
export type PaymentCommandSender = (
  command: PaymentCommand,
  cause: { readonly correlationId: string; readonly causationId: string },
) => Promise<PaymentSendResult>;

export interface StepDeps {
  readonly provider: PaymentProvider;
  readonly send: PaymentCommandSender;
  readonly logger: Logger;
  /** The service's clock (ISO), for the commands' `now`. */
  readonly now: () => string;
  /** Keeps what a client confirming the payment itself needs (the booking's GET shows it to its customer). */
  readonly keepClientSecret: (
    plan: { readonly reservationId: string },
    clientSecret: string,
  ) => Promise<void>;
  /** The lot's state now (issue 47: whether a booking still waits for its payment, which intent it recorded). */
  readonly lotState: (parkingLotId: string) => Promise<ParkingLotState>;
  /** A reservation's payment, as its own stream holds it (issue 48). */
  readonly paymentState: (parkingLotId: string, reservationId: string) => Promise<PaymentState>;
  /** Issue 68 item 4: a reservation's payment's stream folded for its process, with its facts' ids. */
  readonly paymentProcess: (reservationId: string) => Promise<PaymentProcess>;
  /**
   * Issue 68 item 4: a booking's saved method as 2374f50/05b88da kept it (`payment_methods`), read
   * only when its payment's stream names no card, until its settlement is carried out.
   */
  readonly oldSavedMethod: (reservationId: string) => Promise<SavedMethod | undefined>;
  /** Issue 71: the provider customer kept for each customer's pseudonym (PAYMENT_CUSTOMERS). */
  readonly customers: {
    readonly get: (ref: string) => Promise<string | undefined>;
    readonly keep: (ref: string, customerId: string) => Promise<void>;
    readonly drop: (ref: string) => Promise<void>;
  };
}

const RETRY = "retry" as const;
type Retry = typeof RETRY;

/**
 * Issue 71: the customer's provider customer, the one kept for their pseudonym or else made now
 * (under a key of the pseudonym's, so two steps at once make one) and kept.
 */
async function providerCustomerOf(ref: string, deps: StepDeps): Promise<ProviderOutcome<string>> {
  const kept = await deps.customers.get(ref);
  if (kept) return { ok: true, value: kept };
  const made = await deps.provider.createCustomer(ref, `parking:customer:${ref}`);
  if (!made.ok) return made;
  await deps.customers.keep(ref, made.value.customerId);
  return { ok: true, value: made.value.customerId };
}

/**
 * An erased customer's provider customer (`ref`: their pseudonym) is deleted there (its saved
 * methods with it), then forgotten here; the provider out, the same later.
 */
export async function forgetCustomer(ref: string, deps: StepDeps): Promise<PlanResult> {
  const customerId = await deps.customers.get(ref);
  if (!customerId) return "done";
  const deleted = await deps.provider.deleteCustomer(customerId);
  if (!deleted.ok && deleted.kind === "retryable") return RETRY;
  if (!deleted.ok)
    deps.logger.error(
      { customerId, message: deleted.message },
      "deleting an erased customer's provider customer failed",
    );
  await deps.customers.drop(ref);
  return "done";
}

/**
 * Issue 48: a booking ended on the lot; its settlement is decided on its payment's stream (a
 * repeat, or a booking never asked to pay, decides nothing), or, ended unpaid, the void of the
 * intent it recorded. What it appends is carried out from the payment's stream (runNext).
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

/**
 * Cancels an intent no booking counts on, at the provider, then records it on the lot
 * (PaymentIntentReleased): nothing stays held, and no one can confirm it any more (issue 47).
 */
export async function releaseIntent(
  intent: { readonly intentId: string; readonly parkingLotId: string; readonly reservationId: string },
  because: RecordIntentReleased["because"],
  key: string,
  deps: Pick<StepDeps, "provider" | "send" | "logger" | "now">,
  cause: { readonly correlationId: string; readonly causationId: string },
): Promise<PlanResult> {
  const released = await deps.provider.release(intent.intentId, key);
  if (!released.ok && released.kind === "retryable") return RETRY;
  if (!released.ok) {
    deps.logger.error({ ...intent, because, message: released.message }, "releasing an intent failed");
    return "done";
  }
  const amount = released.value.released;
  const sent = await deps.send(
    { type: "RecordIntentReleased", ...intent, amount, because, now: deps.now() },
    cause,
  );
  if (!sent.ok)
    deps.logger.error({ ...intent, because, code: sent.code }, "the lot refused an intent's release");
  else deps.logger.info({ ...intent, because, amount }, "released an intent no booking counts on");
  return "done";
}

/** What the issue 71 steps (hold-steps.ts) do through this file's. */
const helpersOf = (deps: StepDeps): HoldHelpers => ({
  failed: (outcome, plan, intentId) => failed(outcome, plan, deps, intentId),
  customerOf: (ref) => providerCustomerOf(ref, deps),
  release: (intent, key, cause, because = "authorization-refused") =>
    releaseIntent(intent, because, key, deps, cause),
});

/** The provider would not create or confirm the intent: a decline (or a refusal) fails the booking. */
async function failed(
  outcome: Exclude<ProviderOutcome<unknown>, { ok: true }>,
  plan: StepWork & { readonly kind: string },
  deps: StepDeps,
  intentId?: string,
): Promise<PlanResult> {
  if (outcome.kind === "retryable") return RETRY;
  const lot = { parkingLotId: plan.parkingLotId, reservationId: plan.reservationId };
  if (outcome.kind === "refused")
    deps.logger.error({ ...lot, message: outcome.message }, "the provider refused an authorization");
  const code = outcome.kind === "declined" ? codeOf(outcome.code) : "provider_refused";
  // The provider's words to the customer with a decline (a refusal's are for the logs).
  const message = outcome.kind === "declined" ? outcome.message.slice(0, 500) : "";
  await deps.send(
    {
      type: "FailPayment",
      ...lot,
      ...(intentId ? { intentId } : {}),
      code,
      ...(message ? { message } : {}),
      ...(plan.kind === "hold" ? { holdBeforeStay: true as const } : {}),
      now: deps.now(),
    },
    { correlationId: plan.correlationId, causationId: plan.eventId },
  );
  return "done";
}

/** What a due entry's run came to: nothing left, the provider or the store out, or look again then. */
export type NextResult = PlanResult | { readonly until: string };

/**
 * Issue 68 item 4: a booking's money carried on, step by step, each the one its payment's stream
 * says is next (`nextStep`: a settlement's step, the hold before the stay, a hold's deadline); each
 * provider call under its fact's key, each outcome recorded on the stream, which the next step reads.
 * A step recorded before a crash is not asked of the provider again; one whose outcome the stream
 * refused is not asked again in this run.
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
      const work = authorizeWorkOf(next.request, process);
      if ((await authorizeBooking(work, deps, helpersOf(deps))) === RETRY) return RETRY;
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
          ? await holdBeforeStay({ ...work, ...next, kind: "hold" }, deps, helpersOf(deps))
          : next.kind === "void"
            ? await releaseIntent(
                { intentId: next.intentId, parkingLotId, reservationId },
                "booking-ended",
                stepKey(eventId, "void"),
                deps,
                { correlationId, causationId: eventId },
              )
            : await deadlinePassed({ ...work, kind: "hold" }, process.payment, deps, helpersOf(deps));
    if (result === RETRY) return RETRY;
  }
}

/** A request's authorization as its step carries it out (the keys' root: the lot's fact that asked). */
function authorizeWorkOf(request: PaymentRequestRecord, process: PaymentProcess): AuthorizeWork {
  const { requestedBy: eventId, method, customer, authorizeAt } = request;
  return {
    kind: "authorize",
    reservationId: request.reservationId,
    parkingLotId: request.parkingLotId,
    eventId,
    correlationId: process.causes[eventId] ?? eventId,
    currency: request.currency,
    amount: request.amount,
    ...(method !== undefined ? { method } : {}),
    ...(customer !== undefined ? { customer } : {}),
    ...(customer !== undefined && authorizeAt !== undefined ? { authorizeAt } : {}),
  };
}

type SettleWork = StepWork & SettlementDue;

/** One step of a settlement: the provider asked under the step's key, the outcome recorded on the payment's stream. */
async function settleStep(plan: SettleWork, next: SettleStepDue, deps: StepDeps): Promise<PlanResult> {
  const called = await callStep(plan, next, deps);
  if (called === RETRY) return RETRY;
  // A failure says what the step was to move: a failed refund frees exactly its amount (issue 48).
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
    { correlationId: plan.correlationId, causationId: plan.eventId },
  );
  if (!sent.ok)
    deps.logger.error(
      { reservationId: plan.reservationId, settlementId: plan.eventId, step: next.step, code: sent.code },
      "the lot refused a payment outcome",
    );
  return "done";
}

/** One step at the provider, as the outcome the lot records (or RETRY while the provider is out). */
async function callStep(plan: SettleWork, due: SettleStepDue, deps: StepDeps): Promise<StepOutcome | Retry> {
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
 * The booking's authorization lapsed before its capture (Stripe cancels an uncaptured card
 * authorization after seven days: a window booked more than a week ahead). What the capture was to
 * take is charged off-session to the booking's saved method, as Stripe advises for a charge later
 * than a hold can last (https://docs.stripe.com/payments/save-and-reuse#charge-saved-payment-method),
 * under a key of its own (a retry never charges twice), recorded as the capture with
 * `lapsedIntentId`. Without a saved method, or declined (a card that asks for authentication), it is
 * a failed capture `authorization_lapsed` with its amount: the reservation's `payment.failures`
 * shows operators what is left to collect.
 */
async function lapsedCapture(plan: SettleWork, amount: number, deps: StepDeps): Promise<StepOutcome | Retry> {
  const lapsed = (why: string, declineCode?: string, comeback = {}): StepOutcome => ({
    ok: false,
    code: "authorization_lapsed",
    message: `The card authorization lapsed before it was captured (${plan.intentId}); ${why}`.slice(0, 500),
    ...(declineCode ? { declineCode } : {}),
    ...comeback, // issue 71: the intent left for the customer to pay on session
  });
  if (!plan.method) return lapsed(`no saved payment method to charge off-session: ${amount} to collect.`);
  const charged = await chargeSaved(plan, plan.method, amount, stepKey(plan.eventId, "lapsed-capture"), deps);
  if (charged.ok)
    return {
      ok: true,
      intentId: charged.value.intentId,
      amount: charged.value.charged,
      lapsedIntentId: plan.intentId,
    };
  if (charged.kind === "retryable") return RETRY;
  const code = charged.kind === "declined" ? codeOf(charged.code) : "provider_refused";
  const why = `charging the saved method off-session failed (${code}: ${charged.message}): ${amount} to collect.`;
  return lapsed(why, charged.kind === "declined" ? code : undefined, comebackIntent(charged));
}

/**
 * Charges the booking's saved method off-session, naming the provider customer it is saved to
 * (Stripe refuses a saved method without its `customer`, issue 71).
 */
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
  // Issue 71: refused, its intent left for the customer: its client secret is theirs (the booking's view).
  if (!charged.ok && charged.kind === "declined" && charged.comeback)
    await deps.keepClientSecret(plan, charged.comeback.clientSecret);
  return charged;
}

/** What a refund tells the provider (issue 47): the booking, and why (the operator's reason, or what settled it). */
const refundAbout = (plan: SettleWork) => ({
  metadata: metadataOf(plan),
  reason: plan.reason ?? plan.because ?? "refund",
});
