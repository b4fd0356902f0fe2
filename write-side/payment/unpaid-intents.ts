import { dueFromCustomer } from "./comeback.js";
import type { PaymentDecision, PaymentState } from "./payment-facts.js";
import { awaitedHold, confirmed } from "./saved-card.js";

/** The intents a booking does not count on (the reconciliation reads them), and the void of one its end left unpaid. */

/** A booking ended unpaid (`endedBy`: the lot's fact): its intent is to be canceled at the provider, once. */
export function decideVoid(state: PaymentState, endedBy: string, at: string): PaymentDecision {
  const intentId = unpaidIntentOf(state, false);
  if (state.kind !== "open" || !intentId || state.voided?.intentId === intentId)
    return { ok: true, events: [] };
  const { reservationId, parkingLotId } = state;
  const data = { reservationId, parkingLotId, intentId, endedBy, decidedAt: at };
  return { ok: true, events: [{ type: "PaymentVoidDecided", data }] };
}

/**
 * Whether the booking counts on this intent: the one it recorded while it waits for its payment,
 * or the authorized one whose settlement is not carried out yet. Any other holds money for nothing.
 */
export function intentInUse(state: PaymentState, awaiting: boolean, intentId: string): boolean {
  if (dueFromCustomer(state, intentId)) return true; // issue 71: a refused charge's, for its customer to pay
  if (state.kind !== "open" || state.intentId !== intentId) return awaitedHold(state, intentId);
  if (state.status === "pending") return awaiting;
  return (
    state.status === "authorized" && (!state.settled || !state.steps.some((key) => !key.endsWith(":refund")))
  );
}

/** The intent a booking that ended unpaid (canceled, expired, declined) left open, if any. */
export function unpaidIntentOf(state: PaymentState, awaiting: boolean): string | undefined {
  if (state.kind !== "open" || !state.intentId || confirmed(state) || awaiting) return undefined;
  return state.releasedIntents.includes(state.intentId) ? undefined : state.intentId;
}
