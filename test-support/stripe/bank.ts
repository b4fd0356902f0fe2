import { chargeMinimum } from "../../schemas/charge-minimums.js";
import { card } from "./cards.js";
import { checkCurrency, checkStep, invalid, missing, StripeFailure } from "./failures.js";
import {
  type Customer,
  customerObject,
  type Intent,
  intentObject,
  type JsonObject,
  newId,
  now,
  type Refund,
  refundObject,
} from "./objects.js";
import {
  afterUse,
  detachAll,
  type PaymentMethods,
  paymentMethodObjectOf,
  refusalOf,
  tokenOf,
} from "./payment-methods.js";
import type { SetupIntents } from "./setup-intents.js";

export { StripeFailure };

export interface BankState {
  intents: Record<string, Intent>;
  refunds: Record<string, Refund>;
  customers: Record<string, Customer>;
  /** The PaymentMethods made as Stripe.js makes them (payment-methods.ts); test tokens are not kept. */
  paymentMethods?: PaymentMethods;
  /** Issue 71: cards saved without a payment (setup-intents.ts). */
  setupIntents?: SetupIntents;
}

export const emptyBank = (): BankState => ({ intents: {}, refunds: {}, customers: {}, paymentMethods: {} });

export type Params = Record<string, unknown>;
export type Emit = (type: string, object: JsonObject) => void;

const metadataOf = (value: unknown): Record<string, string> =>
  value && typeof value === "object" ? { ...(value as Record<string, string>) } : {};

const CANCELABLE = new Set([
  "requires_payment_method",
  "requires_confirmation",
  "requires_action",
  "requires_capture",
]);

/** A customer-initiated card authorization stays valid seven days (see lapseAuthorizations). */
const AUTHORIZATION_VALIDITY_SECONDS = 7 * 24 * 3600;

/**
 * The intent's automatic payment methods: as asked (`automatic_payment_methods`), none when it
 * names `payment_method_types`, else Stripe's default since 2023-08-16: enabled, redirects allowed.
 */
function automaticPaymentMethodsOf(params: Params): Intent["automaticPaymentMethods"] {
  const asked = params.automatic_payment_methods as
    | { enabled?: unknown; allow_redirects?: unknown }
    | undefined;
  if (asked)
    return {
      enabled: asked.enabled === true || asked.enabled === "true",
      allowRedirects: asked.allow_redirects === "never" ? "never" : "always",
    };
  if (params.payment_method_types !== undefined) return null;
  return { enabled: true, allowRedirects: "always" };
}

/**
 * What the Stripe-contract server does with money: PaymentIntents (manual or automatic capture,
 * confirmed with a test card, on or off session), partial captures (the rest is released),
 * cancellations, refunds never beyond what was captured. Failures are Stripe's error bodies.
 */
export class Bank {
  constructor(
    readonly state: BankState,
    private readonly emit: Emit,
  ) {
    state.paymentMethods ??= {};
  }

  private get methods(): PaymentMethods {
    return this.state.paymentMethods ?? {};
  }

  private intent(id: string, param = "intent"): Intent {
    const found = this.state.intents[id];
    if (!found) throw missing("payment_intent", id, param);
    return found;
  }

  private unexpected(intent: Intent, action: string): StripeFailure {
    return invalid(
      `You cannot ${action} this PaymentIntent because it has a status of ${intent.status}.`,
      undefined,
      "payment_intent_unexpected_state",
      { payment_intent: intentObject(intent) },
    );
  }

  createIntent(params: Params): JsonObject {
    const amount = Number(params.amount);
    const currency = String(params.currency).toLowerCase();
    if (!/^[a-z]{3}$/.test(currency)) throw invalid(`Invalid currency: ${currency}.`, "currency");
    checkCurrency(currency);
    // Stripe refuses a charge below the currency's minimum (amount_too_small):
    // https://docs.stripe.com/currencies#minimum-and-maximum-charge-amounts (schemas/charge-minimums.ts).
    const minimum = chargeMinimum(currency);
    if (!Number.isInteger(amount) || amount < minimum)
      throw invalid(
        `Amount must be at least ${minimum} ${currency} (in its minor unit).`,
        "amount",
        "amount_too_small",
      );
    checkStep(currency, amount, "amount");
    const customer = typeof params.customer === "string" ? params.customer : null;
    if (customer && !this.state.customers[customer]) throw missing("customer", customer, "customer");
    const id = newId("pi");
    const paymentMethod = typeof params.payment_method === "string" ? params.payment_method : null;
    const intent: Intent = {
      id,
      created: now(),
      amount,
      currency,
      captureMethod: params.capture_method === "manual" ? "manual" : "automatic",
      confirmationMethod: params.confirmation_method === "manual" ? "manual" : "automatic",
      status: paymentMethod ? "requires_confirmation" : "requires_payment_method",
      metadata: metadataOf(params.metadata),
      customer,
      paymentMethod,
      description: typeof params.description === "string" ? params.description : null,
      clientSecret: `${id}_secret_${newId("s").slice(2)}`,
      offSession: false,
      amountCapturable: 0,
      amountReceived: 0,
      authorized: 0,
      released: 0,
      refunded: 0,
      refunds: [],
      canceledAt: null,
      cancellationReason: null,
      lastError: null,
      latestCharge: null,
      nextAction: null,
      automaticPaymentMethods: automaticPaymentMethodsOf(params),
      authorizedAt: null,
      setupFutureUsage:
        params.setup_future_usage === "off_session" || params.setup_future_usage === "on_session"
          ? params.setup_future_usage
          : null,
    };
    if (paymentMethod) this.usable(paymentMethod, customer);
    this.state.intents[id] = intent;
    this.emit("payment_intent.created", intentObject(intent));
    if (params.confirm === true) return this.attempt(intent, params);
    return intentObject(intent);
  }

  retrieveIntent(id: string): JsonObject {
    this.lapseAuthorizations();
    return intentObject(this.intent(id));
  }

  /**
   * GET /v1/payment_intents: newest first, `limit` (1-100, default 10) per page, `starting_after`
   * an id, `created` a timestamp or a range (https://docs.stripe.com/api/payment_intents/list,
   * https://docs.stripe.com/api/pagination).
   */
  listIntents(params: Params): JsonObject {
    this.lapseAuthorizations();
    const limit = params.limit === undefined ? 10 : Number(params.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 100)
      throw invalid("This value must be between 1 and 100.", "limit");
    const created = params.created;
    const inRange = (at: number) => {
      if (created === undefined) return true;
      if (typeof created !== "object" || created === null) return at === Number(created);
      const range = created as Record<string, unknown>;
      const bound = (key: string) => (range[key] === undefined ? undefined : Number(range[key]));
      const [gt, gte, lt, lte] = [bound("gt"), bound("gte"), bound("lt"), bound("lte")];
      return (
        (gt === undefined || at > gt) &&
        (gte === undefined || at >= gte) &&
        (lt === undefined || at < lt) &&
        (lte === undefined || at <= lte)
      );
    };
    const all = Object.values(this.state.intents)
      .filter((i) => inRange(i.created))
      .filter((i) => typeof params.customer !== "string" || i.customer === params.customer)
      .reverse(); // insertion order is creation order: newest first
    let from = 0;
    if (typeof params.starting_after === "string") {
      const at = all.findIndex((i) => i.id === params.starting_after);
      if (at < 0) throw missing("payment_intent", params.starting_after, "starting_after");
      from = at + 1;
    }
    const page = all.slice(from, from + limit);
    return {
      object: "list",
      data: page.map(intentObject),
      has_more: from + limit < all.length,
      url: "/v1/payment_intents",
    };
  }

  /**
   * An authorization not captured within seven days lapses: the funds are released and the intent
   * is canceled (https://docs.stripe.com/payments/place-a-hold-on-a-payment-method, "Authorization
   * validity windows": seven days for a customer-initiated card-not-present payment). Seen on the
   * server's clock (`advanceClock`), before every request that reads or moves an intent.
   */
  lapseAuthorizations(): void {
    const lapsed = now() - AUTHORIZATION_VALIDITY_SECONDS;
    for (const intent of Object.values(this.state.intents)) {
      if (intent.status !== "requires_capture" || (intent.authorizedAt ?? Number.POSITIVE_INFINITY) > lapsed)
        continue;
      intent.released = intent.authorized - intent.amountReceived;
      intent.amountCapturable = 0;
      intent.status = "canceled";
      intent.canceledAt = now();
      intent.cancellationReason = "automatic";
      this.emit("payment_intent.canceled", intentObject(intent));
    }
  }

  confirmIntent(id: string, params: Params): JsonObject {
    const intent = this.intent(id);
    // Only an intent waiting for a payment method, a confirmation or an action may be confirmed
    // (https://docs.stripe.com/payments/paymentintents/lifecycle); otherwise
    // payment_intent_unexpected_state (https://docs.stripe.com/error-codes#payment-intent-unexpected-state).
    if (!["requires_payment_method", "requires_confirmation", "requires_action"].includes(intent.status))
      throw this.unexpected(intent, "confirm");
    if (typeof params.payment_method === "string") {
      this.usable(params.payment_method, intent.customer);
      intent.paymentMethod = params.payment_method;
    }
    return this.attempt(intent, params);
  }

  private paymentMethodOf(id: string): JsonObject {
    const found = paymentMethodObjectOf(this.methods, id);
    if (!found) throw missing("PaymentMethod", id, "payment_method");
    return found;
  }

  /** The method exists and an intent naming `customer` may use it (payment-methods.ts). */
  private usable(id: string, customer: string | null): void {
    this.paymentMethodOf(id);
    const refusal = refusalOf(this.methods, id, customer);
    if (refusal) throw invalid(refusal.message, refusal.param);
  }

  /** Charges (or authorizes) the intent's payment method as the test card says. */
  private attempt(intent: Intent, params: Params): JsonObject {
    if (!intent.paymentMethod)
      throw invalid(
        "You cannot confirm this PaymentIntent because it's missing a payment method.",
        "payment_method",
        "payment_intent_unexpected_state",
        { payment_intent: intentObject(intent) },
      );
    const offSession =
      params.off_session === true || params.off_session === "one_off" || params.off_session === "recurring";
    // Since API 2023-08-16 an intent created without payment_method_types has automatic payment
    // methods on, redirects allowed; confirming it then needs a return_url unless redirects were
    // turned off with automatic_payment_methods[allow_redirects]=never
    // (https://docs.stripe.com/upgrades#2023-08-16, https://docs.stripe.com/api/payment_intents/confirm
    // `return_url`, https://docs.stripe.com/payments/payment-methods/integration-options).
    const automatic = intent.automaticPaymentMethods;
    if (automatic?.enabled && automatic.allowRedirects !== "never" && typeof params.return_url !== "string")
      throw invalid(
        "A `return_url` must be specified because this PaymentIntent accepts the automatic payment methods, some of which may need a redirect. Pass `return_url`, or create the PaymentIntent with `automatic_payment_methods[enabled]=true` and `automatic_payment_methods[allow_redirects]=never`.",
        "return_url",
      );
    this.usable(intent.paymentMethod, intent.customer);
    intent.offSession = offSession;
    const outcome = card(tokenOf(this.methods, intent.paymentMethod))?.outcome ?? { kind: "succeeds" };
    intent.latestCharge = newId("ch");
    if (outcome.kind === "authenticates" && !offSession) {
      intent.status = "requires_action";
      intent.nextAction = { type: "use_stripe_sdk", use_stripe_sdk: { type: "three_d_secure_redirect" } };
      this.emit("payment_intent.requires_action", intentObject(intent));
      return intentObject(intent);
    }
    if (outcome.kind !== "succeeds") {
      const failure =
        outcome.kind === "declines"
          ? { code: outcome.code, decline_code: outcome.declineCode, message: outcome.message }
          : {
              code: "authentication_required",
              decline_code: "authentication_required",
              message: "Your card was declined. This transaction requires authentication.",
            };
      const error: JsonObject = {
        type: "card_error",
        code: failure.code,
        ...(failure.decline_code ? { decline_code: failure.decline_code } : {}),
        message: failure.message,
        doc_url: `https://stripe.com/docs/error-codes/${failure.code.replaceAll("_", "-")}`,
        charge: intent.latestCharge,
        payment_method: this.paymentMethodOf(intent.paymentMethod),
      };
      intent.status = "requires_payment_method";
      intent.lastError = error;
      intent.nextAction = null;
      this.emit("payment_intent.payment_failed", intentObject(intent));
      // The card error carries the intent, its id and client secret (OpenAPI `api_errors.payment_intent`):
      // refused off-session (`authentication_required`), it stays `requires_payment_method` for the
      // customer to confirm on session with that secret, as https://docs.stripe.com/payments/save-and-reuse
      // ("handle authentication_required"; a publishable key may confirm it: server.ts).
      throw new StripeFailure(402, { ...error, payment_intent: intentObject(intent) });
    }
    return this.charge(intent);
  }

  /**
   * The customer completes the intent's next action (3-D Secure, in the frame Stripe.js or a mobile
   * SDK shows; Stripe's test page has a "Complete" button): the charge goes through on session.
   * Only a test control: Stripe's API has no call for it.
   */
  authenticate(id: string): JsonObject {
    const intent = this.intent(id);
    if (intent.status !== "requires_action") throw this.unexpected(intent, "authenticate");
    return this.charge(intent);
  }

  /** The card's charge succeeded: authorized (manual capture) or captured. */
  private charge(intent: Intent): JsonObject {
    const attachedTo = intent.paymentMethod
      ? afterUse(this.methods, intent.paymentMethod, intent)
      : undefined;
    if (attachedTo && intent.paymentMethod)
      this.state.customers[attachedTo]?.paymentMethods.push(intent.paymentMethod);
    intent.lastError = null;
    intent.nextAction = null;
    intent.authorized = intent.amount;
    if (intent.captureMethod === "manual") {
      intent.status = "requires_capture";
      intent.authorizedAt = now();
      intent.amountCapturable = intent.amount;
      this.emit("payment_intent.amount_capturable_updated", intentObject(intent));
    } else {
      intent.status = "succeeded";
      intent.amountReceived = intent.amount;
      this.emit("payment_intent.succeeded", intentObject(intent));
    }
    return intentObject(intent);
  }

  captureIntent(id: string, params: Params): JsonObject {
    this.lapseAuthorizations();
    const intent = this.intent(id);
    // Only an authorized intent (requires_capture) may be captured
    // (https://docs.stripe.com/payments/place-a-hold-on-a-payment-method#capture-funds).
    if (intent.status !== "requires_capture") throw this.unexpected(intent, "capture");
    const amount =
      params.amount_to_capture === undefined ? intent.amountCapturable : Number(params.amount_to_capture);
    // What is captured is the charge: at least the currency's minimum
    // (https://docs.stripe.com/currencies#minimum-and-maximum-charge-amounts).
    checkStep(intent.currency, amount, "amount_to_capture");
    const minimum = chargeMinimum(intent.currency);
    if (Number.isInteger(amount) && amount >= 1 && amount < minimum)
      throw invalid(
        `The amount to capture must be at least ${minimum} ${intent.currency} (in its minor unit).`,
        "amount_to_capture",
        "amount_too_small",
      );
    // Never more than the amount capturable (https://docs.stripe.com/api/payment_intents/capture
    // `amount_to_capture`): amount_too_large.
    if (!Number.isInteger(amount) || amount < 1 || amount > intent.amountCapturable)
      throw invalid(
        `The amount to capture (${amount}) must be between 1 and the amount capturable (${intent.amountCapturable}).`,
        "amount_to_capture",
        "amount_too_large",
      );
    intent.amountReceived = amount;
    intent.released = intent.authorized - amount;
    intent.amountCapturable = 0;
    intent.status = "succeeded";
    this.emit("payment_intent.succeeded", intentObject(intent));
    return intentObject(intent);
  }

  cancelIntent(id: string, params: Params): JsonObject {
    this.lapseAuthorizations();
    const intent = this.intent(id);
    // Canceling is for an intent not yet succeeded, canceled or processing
    // (https://docs.stripe.com/api/payment_intents/cancel).
    if (!CANCELABLE.has(intent.status)) throw this.unexpected(intent, "cancel");
    intent.released = intent.authorized - intent.amountReceived;
    intent.amountCapturable = 0;
    intent.status = "canceled";
    intent.canceledAt = now();
    intent.cancellationReason =
      typeof params.cancellation_reason === "string" ? params.cancellation_reason : "requested_by_customer";
    intent.nextAction = null;
    this.emit("payment_intent.canceled", intentObject(intent));
    return intentObject(intent);
  }

  createRefund(params: Params): JsonObject {
    const intent = this.refundable(params);
    const left = intent.amountReceived - intent.refunded;
    if (left === 0 && intent.amountReceived > 0)
      throw invalid(
        `Charge ${intent.latestCharge} has already been refunded.`,
        undefined,
        "charge_already_refunded",
      );
    if (left === 0)
      throw invalid(
        `PaymentIntent ${intent.id} has no captured charge to refund (status ${intent.status}); cancel it to release an authorization.`,
        "payment_intent",
      );
    const amount = params.amount === undefined ? left : Number(params.amount);
    checkStep(intent.currency, amount, "amount");
    // A refund never exceeds what the charge captured less what was refunded already
    // (https://docs.stripe.com/refunds#issuing, https://docs.stripe.com/api/refunds/create `amount`).
    if (!Number.isInteger(amount) || amount < 1 || amount > left)
      throw invalid(
        `Refund amount (${amount}) is greater than unrefunded amount on charge (${left}).`,
        "amount",
        "amount_too_large",
      );
    const refund: Refund = {
      id: newId("re"),
      created: now(),
      amount,
      currency: intent.currency,
      paymentIntent: intent.id,
      charge: intent.latestCharge,
      metadata: metadataOf(params.metadata),
      reason: typeof params.reason === "string" ? params.reason : null,
    };
    intent.refunded += amount;
    intent.refunds.push(refund.id);
    this.state.refunds[refund.id] = refund;
    this.emit("refund.created", refundObject(refund));
    return refundObject(refund);
  }

  private refundable(params: Params): Intent {
    if (typeof params.payment_intent === "string")
      return this.intent(params.payment_intent, "payment_intent");
    if (typeof params.charge === "string") {
      const found = Object.values(this.state.intents).find((i) => i.latestCharge === params.charge);
      if (!found) throw missing("charge", params.charge, "charge");
      return found;
    }
    throw invalid("One of `payment_intent` or `charge` is required.", "payment_intent", "parameter_missing");
  }

  retrieveRefund(id: string): JsonObject {
    const refund = this.state.refunds[id];
    if (!refund) throw missing("refund", id, "refund");
    return refundObject(refund);
  }

  /**
   * GET /v1/refunds: newest first, only `payment_intent`'s when given, `limit` (1-100, default 10)
   * (https://docs.stripe.com/api/refunds/list).
   */
  listRefunds(params: Params): JsonObject {
    const limit = params.limit === undefined ? 10 : Number(params.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 100)
      throw invalid("This value must be between 1 and 100.", "limit");
    const all = Object.values(this.state.refunds)
      .filter((r) => typeof params.payment_intent !== "string" || r.paymentIntent === params.payment_intent)
      .reverse(); // insertion order is creation order: newest first
    const data = all.slice(0, limit).map(refundObject);
    return { object: "list", url: "/v1/refunds", has_more: all.length > limit, data };
  }

  retrievePaymentMethod(id: string): JsonObject {
    return this.paymentMethodOf(id);
  }

  createCustomer(params: Params): JsonObject {
    const paymentMethod = typeof params.payment_method === "string" ? params.payment_method : undefined;
    if (paymentMethod) this.usable(paymentMethod, null);
    const customer: Customer = {
      id: newId("cus"),
      created: now(),
      email: typeof params.email === "string" ? params.email : null,
      name: typeof params.name === "string" ? params.name : null,
      description: typeof params.description === "string" ? params.description : null,
      metadata: metadataOf(params.metadata),
      paymentMethods: paymentMethod ? [paymentMethod] : [],
    };
    this.state.customers[customer.id] = customer;
    const stored = paymentMethod ? this.methods[paymentMethod] : undefined;
    if (stored) stored.customer = customer.id;
    this.emit("customer.created", customerObject(customer));
    return customerObject(customer);
  }

  retrieveCustomer(id: string): JsonObject {
    const customer = this.state.customers[id];
    if (!customer) throw missing("customer", id, "customer");
    return customerObject(customer);
  }

  /**
   * Deletes a Customer for good (https://docs.stripe.com/api/customers/delete): it is gone (a
   * retrieve answers resource_missing), its PaymentMethods detached and unusable.
   */
  deleteCustomer(id: string): JsonObject {
    const customer = this.state.customers[id];
    if (!customer) throw missing("customer", id, "customer");
    delete this.state.customers[id];
    detachAll(this.methods, id);
    this.emit("customer.deleted", customerObject(customer));
    return { id, object: "customer", deleted: true };
  }
}
