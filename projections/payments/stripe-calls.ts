import Stripe from "stripe";
import type { ProviderFailure, ProviderOutcome } from "./provider.js";

/** The Stripe adapter's calls: Stripe's errors in the port's words, and steps made once. */

/** What a Stripe error means for the payment: declined, worth retrying, or refused. */
export function translateStripeError(error: unknown): ProviderFailure {
  if (!(error instanceof Stripe.errors.StripeError)) throw error;
  const message = error.message;
  if (error instanceof Stripe.errors.StripeCardError)
    return {
      ok: false,
      kind: "declined",
      code: error.decline_code ?? error.code ?? "card_declined",
      message,
    };
  const status = error.statusCode;
  if (
    error instanceof Stripe.errors.StripeConnectionError ||
    error instanceof Stripe.errors.StripeRateLimitError ||
    error instanceof Stripe.errors.StripeAPIError ||
    (error instanceof Stripe.errors.StripeIdempotencyError && status === 409) ||
    (status !== undefined && (status === 429 || status >= 500))
  )
    return { ok: false, kind: "retryable", message };
  return { ok: false, kind: "refused", message: `${error.type}: ${message}` };
}

export async function call<T>(request: () => Promise<T>): Promise<ProviderOutcome<T>> {
  try {
    return { ok: true, value: await request() };
  } catch (error) {
    return translateStripeError(error);
  }
}

/** The metadata key naming the step (its idempotency key) a refund or an off-session intent was made for. */
export const STEP_KEY = "parking_step";

/**
 * What a step makes at Stripe (a refund, an off-session charge or hold) is made once, even
 * after its idempotency key is pruned (24 hours, https://docs.stripe.com/idempotency): it carries
 * the step's key in its metadata and is looked up by it (`find`) before each try and after an
 * unclear answer; a retry later would otherwise make it a second time. A lookup that fails is
 * answered as it failed (tried again: nothing is made blind).
 */
export async function oncePerStep<T>(
  find: () => Promise<ProviderOutcome<T> | undefined>,
  make: () => Promise<ProviderOutcome<T>>,
): Promise<ProviderOutcome<T>> {
  const before = await find();
  if (before) return before;
  const made = await make();
  if (made.ok || made.kind !== "retryable") return made;
  return (await find()) ?? made;
}

/** A Search Query Language string value (https://docs.stripe.com/search#search-query-language): quoted, escaped. */
const quoted = (value: string) => `'${value.replace(/[\\']/g, (c) => `\\${c}`)}'`;

/**
 * The intent made for a step, by the step's key in its metadata, as `read` takes it (undefined: none
 * to count on, make one). Stripe's search (https://docs.stripe.com/api/payment_intents/search) may
 * lag a write by up to a minute, an hour in an outage: within the key's 24 hours the key answers for
 * it, and after them the search has it.
 */
export const intentFor =
  <T>(
    intents: Stripe["paymentIntents"],
    key: string,
    read: (intent: Stripe.PaymentIntent) => ProviderOutcome<T> | undefined,
  ) =>
  async (): Promise<ProviderOutcome<T> | undefined> => {
    const found = await call(() =>
      intents.search({ query: `metadata['${STEP_KEY}']:${quoted(key)}`, limit: 1 }),
    );
    if (!found.ok) return found;
    const intent = found.value.data[0];
    return intent ? read(intent) : undefined;
  };
