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
import type { PaymentProcess } from "../../write-side/payment/payment-next.js";
import type { RequestPayment, SettleBooking } from "../../write-side/payment/payment-process.js";
import type { SavedMethod } from "./payment-inbox.js";
import type { PaymentMetadata, PaymentProvider, ProviderFailure, ProviderOutcome } from "./provider.js";

/** What every payment step shares: its deps, its work, its commands, and a provider's answer as a fact. */

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
  /** The lot's state now (whether a booking still waits for its payment, which intent it recorded). */
  readonly lotState: (parkingLotId: string) => Promise<ParkingLotState>;
  /** A reservation's payment's stream folded for its process (its state, with its facts' ids). */
  readonly paymentProcess: (reservationId: string) => Promise<PaymentProcess>;
  /** A booking's saved method as older versions kept it (`payment_methods`), when its stream names no card. */
  readonly oldSavedMethod: (reservationId: string) => Promise<SavedMethod | undefined>;
  /** The provider customer kept for each customer's pseudonym (PAYMENT_CUSTOMERS). */
  readonly customers: {
    readonly get: (ref: string) => Promise<string | undefined>;
    readonly keep: (ref: string, customerId: string) => Promise<void>;
    readonly drop: (ref: string) => Promise<void>;
  };
}

/** How a step went: `done` (its outcome recorded) or `retry` (the same steps, with the same keys, later). */
export type PlanResult = "done" | "retry";

/**
 * What a step works on: whose payment, the fact that asked for it (its id roots the step's keys and
 * is the commands' cause), and the booking's saved card (`customer`: its customer's pseudonym).
 */
export interface StepWork {
  readonly reservationId: string;
  readonly parkingLotId: string;
  readonly eventId: string;
  readonly correlationId: string;
  readonly currency: string;
  readonly method?: string;
  readonly customer?: string;
}

export const metadataOf = (plan: {
  readonly reservationId: string;
  readonly parkingLotId: string;
}): PaymentMetadata => ({
  reservationId: plan.reservationId,
  parkingLotId: plan.parkingLotId,
});

/** The customer's provider customer, kept for their pseudonym or made now (under its key: two steps make one). */
export async function providerCustomerOf(ref: string, deps: StepDeps): Promise<ProviderOutcome<string>> {
  const kept = await deps.customers.get(ref);
  if (kept) return { ok: true, value: kept };
  const made = await deps.provider.createCustomer(ref, `parking:customer:${ref}`);
  if (!made.ok) return made;
  await deps.customers.keep(ref, made.value.customerId);
  return { ok: true, value: made.value.customerId };
}

/** The cause of a step's commands: the fact that asked for it. */
export const causeOf = (by: { readonly eventId: string; readonly correlationId: string }) => ({
  correlationId: by.correlationId,
  causationId: by.eventId,
});

/** Cancels an intent no booking counts on at the provider, then records it: nothing stays held or confirmable. */
export async function releaseIntent(
  by: Pick<StepWork, "parkingLotId" | "reservationId" | "eventId" | "correlationId">,
  intentId: string,
  because: RecordIntentReleased["because"],
  key: string,
  deps: Pick<StepDeps, "provider" | "send" | "logger" | "now">,
): Promise<PlanResult> {
  const intent = { intentId, parkingLotId: by.parkingLotId, reservationId: by.reservationId };
  const released = await deps.provider.release(intentId, key);
  if (!released.ok && released.kind === "retryable") return "retry";
  if (!released.ok) {
    deps.logger.error({ ...intent, because, message: released.message }, "releasing an intent failed");
    return "done";
  }
  const amount = released.value.released;
  const sent = await deps.send(
    { type: "RecordIntentReleased", ...intent, amount, because, now: deps.now() },
    causeOf(by),
  );
  if (!sent.ok)
    deps.logger.error({ ...intent, because, code: sent.code }, "the lot refused an intent's release");
  else deps.logger.info({ ...intent, because, amount }, "released an intent no booking counts on");
  return "done";
}

/** The provider would not create or confirm the intent: a decline (or a refusal) fails the booking. */
export async function failed(
  outcome: ProviderFailure,
  plan: StepWork & { readonly kind: string },
  deps: StepDeps,
  intentId?: string,
): Promise<PlanResult> {
  if (outcome.kind === "retryable") return "retry";
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
    causeOf(plan),
  );
  return "done";
}

/** A settlement step's outcome at the provider, in the words the payment's stream records (payment-steps.ts). */
export type StepOutcome = RecordPaymentOutcome["outcome"];

/** A step's failure code as the lot's facts spell it (lower case, digits, `_`). */
export const codeOf = (code: string): string =>
  code
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, "_")
    .slice(0, 100) || "provider_error";

/** The intent a declined off-session charge left for its customer to complete (PaymentStepFailed's `intentId`). */
export const comebackIntent = (outcome: ProviderOutcome<unknown>): { intentId?: string } =>
  !outcome.ok && outcome.kind === "declined" && outcome.comeback
    ? { intentId: outcome.comeback.intentId }
    : {};

export function outcomeOf<T>(
  outcome: ProviderOutcome<T>,
  ok: (value: T) => { intentId: string; amount: number; refundId?: string },
): StepOutcome | "retry" {
  if (outcome.ok) return { ok: true, ...ok(outcome.value) } as StepOutcome;
  if (outcome.kind === "retryable") return "retry";
  const code = outcome.kind === "declined" ? codeOf(outcome.code) : "provider_refused";
  const message = outcome.message.slice(0, 500) || code;
  return { ok: false, code, message, ...comebackIntent(outcome) } as StepOutcome;
}
