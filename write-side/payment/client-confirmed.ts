import type { EventOfType } from "../../schemas/events.js";
import type { OpenPayment as Payment, PaymentEvent, PaymentState } from "./payment-facts.js";
import { awaitedHold } from "./saved-card.js";

/**
 * A booking its customer confirms with Stripe.js: the intent it records is the one they confirm (a
 * SetupIntent for a stay beyond a hold's lifetime). A declined try ends nothing: Stripe.js lets them
 * try another card on the same intent until the booking's deadline.
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

/** The customer's own try declined: recorded, nothing failed, while the booking waits for that intent. */
export function decideAttempt(
  state: PaymentState,
  failure: Omit<EventOfType<"PaymentFailed">["data"], "failedAt">,
  at: string,
): { readonly ok: true; readonly events: readonly PaymentEvent[] } {
  const { reservationId, parkingLotId, intentId, code, message } = failure;
  if (state.kind !== "open" || intentId === undefined || state.lastAttempt === attemptKey(failure))
    return { ok: true, events: [] };
  const waiting = state.status === "pending" ? state.intentId === intentId : awaitedHold(state, intentId);
  if (!waiting) return { ok: true, events: [] };
  const said = { ...(code !== undefined ? { code } : {}), ...(message !== undefined ? { message } : {}) };
  const data = { reservationId, parkingLotId, intentId, ...said, failedAt: at };
  return { ok: true, events: [{ type: "PaymentAttemptFailed", data }] };
}
