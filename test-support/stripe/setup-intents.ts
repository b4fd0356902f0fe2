import { card } from "./cards.js";
import { invalid, missing, StripeFailure } from "./failures.js";
import { type JsonObject, newId, now } from "./objects.js";
import { type PaymentMethods, paymentMethodObjectOf, refusalOf, tokenOf } from "./payment-methods.js";

/**
 * SetupIntents (issue 71): a card saved to a Customer for later payments without holding any money,
 * as https://docs.stripe.com/payments/save-and-reuse describes (https://docs.stripe.com/api/setup_intents):
 * created for a `customer` (`usage` off_session by default), confirmed with a `payment_method`
 * (at creation with `confirm`, or later); a card that goes through is attached to the Customer
 * (reusable off-session, payment-methods.ts), one that asks for 3-D Secure waits `requires_action`
 * for the customer, a declined one answers 402 `card_error` with `setup_intent` and waits for
 * another method (Stripe.js lets its customer try another card on it: confirmed again with the
 * client secret and a publishable key, server.ts). Only what the service uses: create, retrieve,
 * confirm, cancel.
 */
export interface SetupIntent {
  readonly id: string;
  readonly created: number;
  readonly customer: string | null;
  readonly usage: "off_session" | "on_session";
  readonly metadata: Record<string, string>;
  readonly clientSecret: string;
  paymentMethod: string | null;
  status: "requires_payment_method" | "requires_confirmation" | "requires_action" | "succeeded" | "canceled";
  lastError: JsonObject | null;
  nextAction: JsonObject | null;
  /** Issue 71: why it was canceled (absent in a state file older than cancels). */
  cancellationReason?: string | null;
}

export type SetupIntents = Record<string, SetupIntent>;

export interface SetupIntentBank {
  readonly setupIntents: SetupIntents;
  readonly methods: PaymentMethods;
  readonly customers: Record<string, { paymentMethods: string[] }>;
  readonly emit: (type: string, object: JsonObject) => void;
}

export function setupIntentObject(intent: SetupIntent): JsonObject {
  return {
    id: intent.id,
    object: "setup_intent",
    application: null,
    automatic_payment_methods: null,
    cancellation_reason: intent.cancellationReason ?? null,
    client_secret: intent.clientSecret,
    created: intent.created,
    customer: intent.customer,
    description: null,
    flow_directions: null,
    last_setup_error: intent.lastError,
    latest_attempt: null,
    livemode: false,
    mandate: null,
    metadata: intent.metadata,
    next_action: intent.nextAction,
    on_behalf_of: null,
    payment_method: intent.paymentMethod,
    payment_method_options: {},
    payment_method_types: ["card"],
    single_use_mandate: null,
    status: intent.status,
    usage: intent.usage,
  };
}

const found = (bank: SetupIntentBank, id: string): SetupIntent => {
  const intent = bank.setupIntents[id];
  if (!intent) throw missing("setup_intent", id, "intent");
  return intent;
};

/** The method exists, and a SetupIntent for `customer` may use it (the reuse rules of payment-methods.ts). */
function usable(bank: SetupIntentBank, id: string, customer: string | null): void {
  if (!paymentMethodObjectOf(bank.methods, id)) throw missing("PaymentMethod", id, "payment_method");
  const refusal = refusalOf(bank.methods, id, customer);
  if (refusal) throw invalid(refusal.message, refusal.param);
}

export function createSetupIntent(bank: SetupIntentBank, params: Record<string, unknown>): JsonObject {
  const customer = typeof params.customer === "string" ? params.customer : null;
  if (customer && !bank.customers[customer]) throw missing("customer", customer, "customer");
  const paymentMethod = typeof params.payment_method === "string" ? params.payment_method : null;
  if (paymentMethod) usable(bank, paymentMethod, customer);
  const id = newId("seti");
  const metadata =
    params.metadata && typeof params.metadata === "object"
      ? { ...(params.metadata as Record<string, string>) }
      : {};
  const intent: SetupIntent = {
    id,
    created: now(),
    customer,
    usage: params.usage === "on_session" ? "on_session" : "off_session",
    metadata,
    clientSecret: `${id}_secret_${newId("s").slice(2)}`,
    paymentMethod,
    status: paymentMethod ? "requires_confirmation" : "requires_payment_method",
    lastError: null,
    nextAction: null,
  };
  bank.setupIntents[id] = intent;
  bank.emit("setup_intent.created", setupIntentObject(intent));
  return params.confirm === true ? attempt(bank, intent) : setupIntentObject(intent);
}

/** A SetupIntent still waiting (for a method, a confirmation or an action): only those are confirmed or canceled. */
function open(bank: SetupIntentBank, id: string, verb: "confirm" | "cancel") {
  const intent = found(bank, id);
  if (!["requires_payment_method", "requires_confirmation", "requires_action"].includes(intent.status))
    throw invalid(
      `You cannot ${verb} this SetupIntent because it has a status of ${intent.status}.`,
      undefined,
      "setup_intent_unexpected_state",
      { setup_intent: setupIntentObject(intent) },
    );
  return intent;
}

export const retrieveSetupIntent = (bank: SetupIntentBank, id: string): JsonObject =>
  setupIntentObject(found(bank, id));

export function confirmSetupIntent(
  bank: SetupIntentBank,
  id: string,
  params: Record<string, unknown>,
): JsonObject {
  const intent = open(bank, id, "confirm");
  if (typeof params.payment_method === "string") {
    usable(bank, params.payment_method, intent.customer);
    intent.paymentMethod = params.payment_method;
  }
  return attempt(bank, intent);
}

/**
 * Issue 71: a SetupIntent can be canceled while it waits for a method, a confirmation or an action;
 * then it is `canceled` and every later operation on it fails (confirm: `setup_intent_unexpected_state`).
 * https://docs.stripe.com/api/setup_intents/cancel
 */
export function cancelSetupIntent(
  bank: SetupIntentBank,
  id: string,
  params: Record<string, unknown>,
): JsonObject {
  const intent = open(bank, id, "cancel");
  intent.status = "canceled";
  intent.nextAction = null;
  intent.cancellationReason =
    typeof params.cancellation_reason === "string" ? params.cancellation_reason : null;
  bank.emit("setup_intent.canceled", setupIntentObject(intent));
  return setupIntentObject(intent);
}

/** The customer completes the SetupIntent's 3-D Secure (a test control, as for PaymentIntents). */
export function authenticateSetupIntent(bank: SetupIntentBank, id: string): JsonObject {
  const intent = found(bank, id);
  if (intent.status !== "requires_action") throw new Error(`setup intent ${id} is ${intent.status}`);
  return succeed(bank, intent);
}

/** Sets the card up as its test token says: saved, waiting for 3-D Secure, or declined. */
function attempt(bank: SetupIntentBank, intent: SetupIntent): JsonObject {
  if (!intent.paymentMethod)
    throw invalid(
      "You cannot confirm this SetupIntent because it's missing a payment method.",
      "payment_method",
      "setup_intent_unexpected_state",
      { setup_intent: setupIntentObject(intent) },
    );
  usable(bank, intent.paymentMethod, intent.customer);
  const outcome = card(tokenOf(bank.methods, intent.paymentMethod))?.outcome ?? { kind: "succeeds" };
  if (outcome.kind === "authenticates") {
    intent.status = "requires_action";
    intent.nextAction = { type: "use_stripe_sdk", use_stripe_sdk: { type: "three_d_secure_redirect" } };
    bank.emit("setup_intent.requires_action", setupIntentObject(intent));
    return setupIntentObject(intent);
  }
  if (outcome.kind === "declines") {
    const error: JsonObject = {
      type: "card_error",
      code: outcome.code,
      ...(outcome.declineCode ? { decline_code: outcome.declineCode } : {}),
      message: outcome.message,
      doc_url: `https://stripe.com/docs/error-codes/${outcome.code.replaceAll("_", "-")}`,
    };
    intent.status = "requires_payment_method";
    intent.lastError = error;
    bank.emit("setup_intent.setup_failed", setupIntentObject(intent));
    throw new StripeFailure(402, { ...error, setup_intent: setupIntentObject(intent) });
  }
  return succeed(bank, intent);
}

/** Set up: a method kept by the server is attached to the Customer, reusable off-session from now on. */
function succeed(bank: SetupIntentBank, intent: SetupIntent): JsonObject {
  const stored = intent.paymentMethod ? bank.methods[intent.paymentMethod] : undefined;
  if (stored && stored.customer === null && intent.customer) {
    stored.customer = intent.customer;
    bank.customers[intent.customer]?.paymentMethods.push(stored.id);
  }
  intent.status = "succeeded";
  intent.lastError = null;
  intent.nextAction = null;
  bank.emit("setup_intent.succeeded", setupIntentObject(intent));
  return setupIntentObject(intent);
}
