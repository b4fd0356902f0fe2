import type { RecordPaymentOutcome } from "../../schemas/commands.js";
import type { ProviderOutcome } from "./provider.js";

/** A settlement step's outcome at the provider, in the words the payment's stream records (payment-steps.ts). */

export type StepOutcome = RecordPaymentOutcome["outcome"];

/** A step's failure code as the lot's facts spell it (lower case, digits, `_`). */
export const codeOf = (code: string): string =>
  code
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, "_")
    .slice(0, 100) || "provider_error";

/**
 * Issue 71: the intent a declined off-session charge left for its customer to complete on session,
 * when the provider kept one (PaymentStepFailed's `intentId`; its client secret goes to the customer).
 */
export const comebackIntent = (outcome: ProviderOutcome<unknown>): { intentId?: string } =>
  !outcome.ok && outcome.kind === "declined" && outcome.comeback
    ? { intentId: outcome.comeback.intentId }
    : {};

export function outcomeOf<T>(
  outcome: ProviderOutcome<T>,
  ok: (value: T) => { intentId: string; amount: number; refundId?: string },
): StepOutcome | "retry" {
  if (outcome.ok) return { ok: true, ...ok(outcome.value) } as StepOutcome;
  if (outcome.kind === "retryable") return "retry";
  const code = outcome.kind === "declined" ? codeOf(outcome.code) : "provider_refused";
  const message = outcome.message.slice(0, 500) || code;
  return { ok: false, code, message, ...comebackIntent(outcome) } as StepOutcome;
}
