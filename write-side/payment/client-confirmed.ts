import type { EventOfType } from "../../schemas/events.js";
import type { OpenPayment as Payment, PaymentEvent, PaymentState } from "./payment-facts.js";

/**
 * Issue 71: a booking its customer confirms with Stripe.js (no saved card in the request). The intent
 * it records is the one they confirm: a PaymentIntent, or for a stay beyond a card hold's lifetime a
 * SetupIntent (`authorizeAt`: once its card is saved, PaymentCardSaved, it is held then, as a card
 * saved server-side). A declined try of theirs ends nothing: Stripe.js lets them try another card on
 * the same intent until the booking's deadline (PaymentAttemptFailed, shown on its view).
 */

/** The booking's intent recorded (PaymentIntentCreated): the one that counts, with its terms. */
export const intentRecorded = (
  open: Payment,
  data: EventOfType<"PaymentIntentCreated">["data"],
): Payment => ({
  ...open,
  intentId: data.intentId,
  currency: data.currency,
  ...(data.terms !== undefined ? { terms: data.terms } : {}),
  ...(data.authorizeAt ? { saved: { amount: data.amount, authorizeAt: data.authorizeAt } } : {}),
});

/** What tells a declined try from its repeat (a webhook delivered twice records it once). */
export const attemptKey = (d: {
  readonly intentId?: string;
  readonly code?: string;
  readonly message?: string;
}): string => `${d.intentId}:${d.code}:${d.message}`;

/**
 * The customer's own try on the intent they confirm was declined: recorded, nothing failed, while
 * that intent is the one the booking waits for (pending, or a hold or a saving that asked for them).
 */
export function decideAttempt(
  state: PaymentState,
  failure: Omit<EventOfType<"PaymentFailed">["data"], "failedAt">,
  at: string,
): { readonly ok: true; readonly events: readonly PaymentEvent[] } {
  const { reservationId, parkingLotId, intentId, code, message } = failure;
  if (state.kind !== "open" || intentId === undefined || state.lastAttempt === attemptKey(failure))
    return { ok: true, events: [] };
  const waiting =
    state.status === "pending"
      ? state.intentId === intentId
      : state.status === "action-required" && !state.settled && state.action?.intentId === intentId;
  if (!waiting) return { ok: true, events: [] };
  const said = { ...(code !== undefined ? { code } : {}), ...(message !== undefined ? { message } : {}) };
  const data = { reservationId, parkingLotId, intentId, ...said, failedAt: at };
  return { ok: true, events: [{ type: "PaymentAttemptFailed", data }] };
}
