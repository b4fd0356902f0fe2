import Stripe from "stripe";
import type { PaymentWebhookCommand, PaymentWebhookReader } from "../../write-side/http/payment-routes.js";
import { STEP_KEY } from "./stripe-calls.js";
import { bookingOf, methodOf } from "./stripe-provider.js";

/** A card whose saving asked for its customer (3-D Secure, or entered with Stripe.js): its hold follows. */
const SETUP_EVENTS = ["setup_intent.succeeded", "setup_intent.setup_failed"];

/**
 * A declined try on an intent the customer confirms fails nothing: Stripe.js lets them try another
 * card on the same intent until the booking's deadline, which alone ends it; its view shows the decline.
 */
const DECLINES = ["payment_intent.payment_failed", "setup_intent.setup_failed"];

/**
 * The events the service acts on: an authorization held; an intent canceled at the provider (a hold
 * that lapsed or was canceled there is recorded when a booking counts on it, so its view never reads
 * authorized); a customer's declined try (DECLINES).
 */
const ACTED_ON = new Set([
  "payment_intent.amount_capturable_updated",
  "payment_intent.canceled",
  "payment_intent.payment_failed",
  "payment_intent.succeeded", // a refused charge's intent its customer paid (lateCharge)
  ...SETUP_EVENTS,
]);

/** A decline as the lot records it: the provider's decline code (else its error code) and words. */
function declineOf(error: Stripe.PaymentIntent.LastPaymentError | Stripe.SetupIntent.LastSetupError | null) {
  const code = (error?.decline_code ?? error?.code ?? "card_declined").toLowerCase();
  const message = error?.message?.slice(0, 500);
  return { code: /^[a-z0-9_]{1,100}$/.test(code) ? code : "card_declined", ...(message ? { message } : {}) };
}

/** What is wrong with a signed event acted on whose intent is not shaped as Stripe's: a 400, not a 500. */
function malformed(event: Stripe.Event): string | undefined {
  if (!ACTED_ON.has(event.type)) return undefined;
  const intent = (event.data as { object?: unknown } | undefined)?.object as
    | Record<string, unknown>
    | undefined;
  if (typeof event.id !== "string" || !event.id) return "the event has no id";
  if (!intent || typeof intent !== "object") return "the event has no data.object";
  if (SETUP_EVENTS.includes(event.type))
    return typeof intent.id === "string" && /^seti_\w+$/.test(intent.id)
      ? undefined
      : "data.object.id is not a SetupIntent id";
  if (typeof intent.id !== "string" || !/^pi_\w+$/.test(intent.id))
    return "data.object.id is not a PaymentIntent id";
  if (!Number.isInteger(intent.amount_capturable)) return "data.object.amount_capturable is not an integer";
  if (typeof intent.currency !== "string" || !/^[a-z]{3}$/.test(intent.currency))
    return "data.object.currency is not a currency";
  return undefined;
}

/** What a Stripe event asks of the lot: authorize the booking, record its hold let go, or nothing. */
export function webhookCommand(event: Stripe.Event, instance: string): PaymentWebhookCommand | undefined {
  if (!ACTED_ON.has(event.type)) return undefined;
  if (event.type === "setup_intent.succeeded") return setupCommand(event.data.object, instance);
  const intent = event.data.object as Stripe.PaymentIntent | Stripe.SetupIntent;
  const booking = bookingOf(intent, instance);
  if (!booking) return undefined; // not one of this service's intents
  if (DECLINES.includes(event.type)) {
    const error = "last_setup_error" in intent ? intent.last_setup_error : intent.last_payment_error;
    return { type: "FailPayment", ...booking, intentId: intent.id, attempt: true, ...declineOf(error) };
  }
  if (!("amount_capturable" in intent)) return undefined;
  if (event.type === "payment_intent.succeeded") return lateCharge(intent, booking);
  if (event.type === "payment_intent.canceled")
    return { type: "RecordHoldLapsed", ...booking, intentId: intent.id, because: "provider" };
  if (intent.amount_capturable <= 0) return undefined;
  return {
    type: "AuthorizePayment",
    ...booking,
    intentId: intent.id,
    amount: intent.amount_capturable,
    currency: intent.currency.toUpperCase(),
    // Issue 71: the card it was confirmed with (Stripe.js), saved to the customer: charged later.
    ...methodOf(intent),
  };
}

/**
 * An off-session charge of a settlement's step (its key in the metadata) its customer paid on session
 * after the card refused it: that step's success, late (the decider takes it once, only for the
 * intent a refused charge named). A capture of a booking's hold is no such charge: nothing.
 */
function lateCharge(
  intent: Stripe.PaymentIntent,
  booking: { parkingLotId: string; reservationId: string },
): PaymentWebhookCommand | undefined {
  if (!intent.metadata?.[STEP_KEY] || !Number.isInteger(intent.amount_received)) return undefined;
  const { id: intentId, amount_received: amount } = intent;
  return { type: "RecordLateCharge", ...booking, intentId, amount, currency: intent.currency.toUpperCase() };
}

/** A SetupIntent the customer completed saves the card (what is to be held as its metadata says, checked). */
function setupCommand(setup: Stripe.SetupIntent, instance: string): PaymentWebhookCommand | undefined {
  const booking = bookingOf(setup, instance);
  if (!booking) return undefined;
  const intentId = setup.id;
  const amount = Number(setup.metadata?.amount);
  const currency = setup.metadata?.currency ?? "";
  if (!Number.isInteger(amount) || !/^[A-Z]{3}$/.test(currency)) return undefined;
  // The card it saved (one the customer entered with Stripe.js is known only so): held and charged later.
  return { type: "AuthorizePayment", ...booking, intentId, amount, currency, ...methodOf(setup) };
}

/** Stripe's default tolerance for a signature's timestamp (https://docs.stripe.com/webhooks#verify-manually). */
const TOLERANCE_SECONDS = 300;

/**
 * Stripe's webhooks, read with the official SDK: the `Stripe-Signature` header checked against the
 * raw body and the endpoint's signing secret (STRIPE_WEBHOOK_SECRET), within Stripe's default
 * tolerance of 5 minutes either way (the SDK checks only the past: a timestamp ahead is refused
 * here); then what the event asks of the lot (a malformed event is refused, `body`).
 */
export function stripeWebhookReader(
  secret: string,
  instance: string,
  nowSeconds: () => number = () => Date.now() / 1000,
): PaymentWebhookReader {
  return (rawBody, signature) => {
    if (!signature) return { ok: false, message: "is required: Stripe signs every webhook it sends" };
    let event: Stripe.Event;
    try {
      event = Stripe.webhooks.constructEvent(rawBody, signature, secret);
    } catch (error) {
      return { ok: false, message: error instanceof Error ? error.message : String(error) };
    }
    const signedAt = Number(/(?:^|,)t=(\d+)/.exec(signature)?.[1]);
    if (signedAt > nowSeconds() + TOLERANCE_SECONDS)
      return {
        ok: false,
        message: `is timestamped ${signedAt}, beyond the tolerance ahead of this server's clock`,
      };
    const wrong = malformed(event);
    if (wrong) return { ok: false, field: "body", message: wrong };
    const command = webhookCommand(event, instance);
    return { ok: true, eventId: event.id, ...(command ? { command } : {}) };
  };
}
