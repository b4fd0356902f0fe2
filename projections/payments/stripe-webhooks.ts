import Stripe from "stripe";
import type { PaymentWebhookCommand, PaymentWebhookReader } from "../../write-side/http/payment-routes.js";
import { ofInstance } from "./stripe-provider.js";

/**
 * What an intent's metadata says of its booking (set by the adapter when it created the intent);
 * nothing for another deployment's intent on a shared account (stripe-provider.ts INSTANCE_KEY).
 */
function bookingOf(
  intent: Stripe.PaymentIntent,
  instance: string,
): { parkingLotId: string; reservationId: string } | undefined {
  if (!ofInstance(intent, instance)) return undefined;
  const { reservationId, parkingLotId } = intent.metadata ?? {};
  return reservationId && parkingLotId ? { reservationId, parkingLotId } : undefined;
}

/** A decline code as the lot's facts spell it. */
const codeOf = (error: Stripe.PaymentIntent.LastPaymentError | null | undefined): string | undefined => {
  const code = error?.decline_code ?? error?.code;
  return code
    ? code
        .toLowerCase()
        .replace(/[^a-z0-9_]/g, "_")
        .slice(0, 100)
    : undefined;
};

/** What a Stripe event asks of the lot: authorize the booking, fail it, or nothing. */
export function webhookCommand(event: Stripe.Event, instance: string): PaymentWebhookCommand | undefined {
  if (
    event.type !== "payment_intent.amount_capturable_updated" &&
    event.type !== "payment_intent.payment_failed"
  )
    return undefined;
  const intent = event.data.object as Stripe.PaymentIntent;
  const booking = bookingOf(intent, instance);
  if (!booking) return undefined; // not one of this service's intents
  if (event.type === "payment_intent.payment_failed") {
    const code = codeOf(intent.last_payment_error);
    const message = intent.last_payment_error?.message?.slice(0, 500);
    return {
      type: "FailPayment",
      ...booking,
      intentId: intent.id,
      ...(code ? { code } : {}),
      ...(message ? { message } : {}),
    };
  }
  if (intent.amount_capturable <= 0) return undefined;
  return {
    type: "AuthorizePayment",
    ...booking,
    intentId: intent.id,
    amount: intent.amount_capturable,
    currency: intent.currency.toUpperCase(),
  };
}

/**
 * Stripe's webhooks, read with the official SDK: the `Stripe-Signature` header checked against the
 * raw body and the endpoint's signing secret (STRIPE_WEBHOOK_SECRET), within Stripe's default
 * tolerance of 5 minutes; then what the event asks of the lot.
 */
export function stripeWebhookReader(secret: string, instance: string): PaymentWebhookReader {
  return (rawBody, signature) => {
    if (!signature) return { ok: false, message: "is required: Stripe signs every webhook it sends" };
    let event: Stripe.Event;
    try {
      event = Stripe.webhooks.constructEvent(rawBody, signature, secret);
    } catch (error) {
      return { ok: false, message: error instanceof Error ? error.message : String(error) };
    }
    const command = webhookCommand(event, instance);
    return { ok: true, eventId: event.id, ...(command ? { command } : {}) };
  };
}
