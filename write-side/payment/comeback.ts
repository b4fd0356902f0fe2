import type { RecordLateCharge } from "../../schemas/commands.js";
import type { EventOfType } from "../../schemas/events.js";
import type { PaymentDecision as Decision, OpenPayment as Payment, PaymentEvent } from "./payment-facts.js";

/**
 * A charge refused off-session because the card asks for its customer leaves its intent for them to
 * complete on session (https://docs.stripe.com/payments/save-and-reuse#charge-saved-payment-method);
 * when they pay it, that step's success is recorded late, once.
 */

/** A refused charge that named its intent: due from the customer until they pay it. */
export function comebackOf<P extends Payment>(open: P, data: EventOfType<"PaymentStepFailed">["data"]): P {
  const { intentId, settlementId, step, amount } = data;
  if (intentId === undefined || amount === undefined || (step !== "capture" && step !== "overstay"))
    return open;
  return { ...open, comebacks: [...(open.comebacks ?? []), { intentId, settlementId, step, amount }] };
}

/** An intent paid (a step's success naming it): no longer due. */
export const paidBack = <P extends Payment>(open: P, intentId: string): P =>
  open.comebacks?.some((due) => due.intentId === intentId)
    ? { ...open, comebacks: open.comebacks.filter((due) => due.intentId !== intentId) }
    : open;

/** Whether the intent is one a refused charge left for the customer, still due (the reconciliation leaves it open). */
export const dueFromCustomer = (state: { readonly kind: string } | Payment, intentId: string): boolean =>
  "comebacks" in state && (state.comebacks?.some((due) => due.intentId === intentId) ?? false);

/**
 * The customer paid the intent a refused charge left them: that step's success, once. An intent no
 * refused charge names, or another amount or currency than it was to take, is refused.
 */
export function decideLateCharge(
  state: { readonly kind: "none" } | Payment,
  command: RecordLateCharge,
): Decision {
  const { parkingLotId, reservationId, intentId, amount, currency, now } = command;
  const refuse = (reason: "intent" | "amount" | "currency"): Decision => ({
    ok: false,
    rejection: { code: "PaymentMismatch", parkingLotId, reservationId, reason },
  });
  if (state.kind !== "open") return refuse("intent");
  if (state.facts.some((fact) => fact.kind === "charged" && fact.intentId === intentId))
    return { ok: true, events: [] }; // recorded already
  const due = state.comebacks?.find((c) => c.intentId === intentId);
  if (!due) return refuse("intent");
  if (currency !== state.currency) return refuse("currency");
  if (amount !== due.amount) return refuse("amount");
  const data = { reservationId, parkingLotId, intentId, amount, currency, settlementId: due.settlementId };
  const event: PaymentEvent =
    due.step === "overstay"
      ? { type: "OverstayCharged", data: { ...data, chargedAt: now } }
      : {
          type: "PaymentCaptured",
          data: { ...data, lapsedIntentId: state.intentId ?? intentId, capturedAt: now },
        };
  return { ok: true, events: [event] };
}
