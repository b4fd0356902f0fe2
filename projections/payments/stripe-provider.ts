import Stripe from "stripe";
import type {
  Authorization,
  AuthorizeRequest,
  OffSessionRequest,
  PaymentProvider,
  ProviderFailure,
  ProviderOutcome,
} from "./provider.js";

/**
 * The provider port on Stripe, through the official SDK (issue 38): PaymentIntents with manual
 * capture carrying `reservationId` and `parkingLotId` in their metadata, captures, cancels
 * (releases), refunds and off-session charges of a saved payment method. Each request carries the
 * step's idempotency key (Stripe answers a repeat with the first answer). Stripe's errors are
 * translated here, at the edge: a card error is `declined`; no connection, a timeout, 429, 5xx
 * or an idempotency conflict in flight is `retryable`; anything else is `refused`.
 */

export interface StripeSettings {
  readonly secretKey: string;
  /** STRIPE_API_BASE: Stripe's own, or a Stripe-compatible server. */
  readonly apiBase: string;
  /** How long one request may take (ms). */
  readonly timeoutMs?: number;
}

/** The SDK's client for these settings: the base URL's protocol, host and port; no retries of its own. */
export function stripeClient(settings: StripeSettings): Stripe {
  const url = new URL(settings.apiBase);
  const protocol = url.protocol === "http:" ? "http" : "https";
  return new Stripe(settings.secretKey, {
    host: url.hostname,
    port: url.port || (protocol === "http" ? 80 : 443),
    protocol,
    // The process manager retries with backoff and the same key; the SDK must not add its own.
    maxNetworkRetries: 0,
    timeout: settings.timeoutMs ?? 20_000,
    telemetry: false,
  });
}

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

async function call<T>(request: () => Promise<T>): Promise<ProviderOutcome<T>> {
  try {
    return { ok: true, value: await request() };
  } catch (error) {
    return translateStripeError(error);
  }
}

/** Stripe's currencies are lower case; ours are ISO 4217 upper case. */
const stripeCurrency = (currency: string) => currency.toLowerCase();

function authorization(intent: Stripe.PaymentIntent): Authorization {
  const held = intent.status === "requires_capture";
  return {
    intentId: intent.id,
    status: held ? "authorized" : "pending",
    amount: held ? intent.amount_capturable : intent.amount,
    ...(intent.client_secret ? { clientSecret: intent.client_secret } : {}),
  };
}

export function stripeProvider(client: Stripe): PaymentProvider {
  const intents = client.paymentIntents;
  return {
    name: "stripe",
    authorize: (request: AuthorizeRequest) =>
      call(async () =>
        authorization(
          await intents.create(
            {
              amount: request.amount,
              currency: stripeCurrency(request.currency),
              capture_method: "manual",
              metadata: { ...request.metadata },
              ...(request.customer ? { customer: request.customer } : {}),
              ...(request.paymentMethod ? { payment_method: request.paymentMethod, confirm: true } : {}),
            },
            { idempotencyKey: request.idempotencyKey },
          ),
        ),
      ),
    capture: (intentId, amount, idempotencyKey) =>
      call(async () => {
        const intent = await intents.capture(intentId, { amount_to_capture: amount }, { idempotencyKey });
        return { captured: intent.amount_received };
      }),
    release: (intentId, idempotencyKey) =>
      call(async () => {
        const intent = await intents.cancel(
          intentId,
          { cancellation_reason: "abandoned" },
          { idempotencyKey },
        );
        return { released: intent.amount - intent.amount_received };
      }),
    refund: (intentId, amount, idempotencyKey) =>
      call(async () => {
        const refund = await client.refunds.create({ payment_intent: intentId, amount }, { idempotencyKey });
        return { refundId: refund.id, refunded: refund.amount };
      }),
    chargeOffSession: (request: OffSessionRequest) =>
      call(async () => {
        const intent = await intents.create(
          {
            amount: request.amount,
            currency: stripeCurrency(request.currency),
            payment_method: request.paymentMethod,
            ...(request.customer ? { customer: request.customer } : {}),
            off_session: true,
            confirm: true,
            metadata: { ...request.metadata },
          },
          { idempotencyKey: request.idempotencyKey },
        );
        return { intentId: intent.id, charged: intent.amount_received };
      }),
  };
}
