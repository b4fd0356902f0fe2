import { Type } from "@sinclair/typebox";
import { env, literals } from "./setting.js";
import { PAYMENT_PROVIDERS } from "./values.js";

/** Payments (issue 38): which provider takes the money, how long a booking waits for it, Stripe's keys. */
export const PAYMENT_SETTINGS = {
  payments: literals(
    PAYMENT_PROVIDERS,
    env(
      "PAYMENTS",
      "none",
      "Who takes the money: `none` (no provider is called; amounts are recorded and settled at the lot, as before payments existed) or `stripe` (PaymentIntents with manual capture through the official SDK; needs STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET).",
    ),
  ),
  paymentHoldSeconds: Type.Integer({
    minimum: 5,
    maximum: 86400,
    ...env(
      "PAYMENT_HOLD_SECONDS",
      "900",
      "How long (s) a booking waiting for its payment (PENDING_PAYMENT) holds its spot; when it runs out unpaid the booking is canceled (`payment-expired`) and the spot freed.",
    ),
  }),
  authorizeBeforeStayHours: Type.Integer({
    minimum: 1,
    maximum: 144,
    ...env(
      "AUTHORIZE_BEFORE_STAY_HOURS",
      "24",
      "A booking whose stay ends more than seven days after it is made (beyond a card hold's lifetime at Stripe) has its saved card saved without holding money, and held off-session this many hours before the stay starts; if that hold fails the booking is canceled (`payment-failed`) and its spot freed (docs/api.md, Holds that fit the horizon).",
    ),
  }),
  stripeSecretKey: Type.Optional(
    Type.String({
      format: "providerKey",
      ...env(
        "STRIPE_SECRET_KEY",
        undefined,
        "Stripe secret API key (`sk_test_...` in test mode, `sk_live_...` in live mode). Required with PAYMENTS=stripe.",
      ),
    }),
  ),
  stripeWebhookSecret: Type.Optional(
    Type.String({
      format: "providerKey",
      ...env(
        "STRIPE_WEBHOOK_SECRET",
        undefined,
        "Signing secret (`whsec_...`) of the Stripe webhook endpoint that calls `POST /payments/webhooks/stripe`. Required with PAYMENTS=stripe.",
      ),
    }),
  ),
  stripeInstance: Type.String({
    format: "instanceName",
    ...env(
      "STRIPE_INSTANCE",
      "parking-reservations",
      "Names this deployment in the metadata (`parking_instance`) of every PaymentIntent it creates; its webhooks and its hourly reconciliation of open holds act only on intents that name it, never on another's nor on one naming none (another application's on the same account). Give each deployment that shares a Stripe account its own value (production and staging, two regions), and every replica of one deployment the same; with a live key (sk_live_...) the default refuses to start.",
    ),
  }),
  stripeApiBase: Type.String({
    format: "httpUrl",
    ...env(
      "STRIPE_API_BASE",
      "https://api.stripe.com",
      "Base URL of the Stripe API the SDK calls (its protocol, host and port are used). A Stripe-compatible server (stripe-mock, the test server in test-support/stripe) can stand in.",
    ),
  }),
  paymentRetryScale: Type.Number({
    minimum: 0,
    maximum: 1,
    ...env(
      "PAYMENT_RETRY_SCALE",
      "1",
      "Multiplies the payments process manager's backoff while the provider is out (0.5 s doubling up to 30 s at 1); tests shrink it.",
    ),
  }),
};
