import type { PaymentState } from "./payment.js";

/**
 * What the steps of a settlement carried out at the provider must do, decided from the payment's
 * own state (pure: the payments process manager calls the provider, then records the outcome).
 */

/**
 * What a settlement's release step must do (the money-flow hunt): a capture that took its part of
 * the authorization let the rest go at the provider (Stripe releases what a partial capture leaves:
 * https://docs.stripe.com/payments/place-a-hold-on-a-payment-method#capture-funds), so the release
 * only records it. Otherwise (the capture failed, or took nothing from this authorization: it had
 * lapsed, and the amount was charged off-session) the whole hold is still there, or was let go by
 * the provider: the release asks the provider to cancel the intent (one canceled already answers
 * so) and records all the authorization let go, so that no hold outlives its booking and
 * captured + released = authorized for the intent.
 */
export function releaseStepOf(
  state: PaymentState,
  plan: { readonly intentId: string; readonly capture: number; readonly release: number },
): { readonly ask: boolean; readonly amount: number } {
  const captured =
    state.kind === "open" && state.facts.some((f) => f.kind === "captured" && f.intentId === plan.intentId);
  if (plan.capture > 0 && captured) return { ask: false, amount: plan.release };
  return { ask: true, amount: plan.capture + plan.release };
}
