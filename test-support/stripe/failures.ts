import { currencyRule, PAYMENT_CURRENCIES } from "../../schemas/currencies.js";
import type { JsonObject } from "./objects.js";

/** Stripe's error answers, and the amount rules every money call checks. */
export class StripeFailure extends Error {
  constructor(
    readonly status: number,
    readonly error: JsonObject,
  ) {
    super(String(error.message));
  }
}

export const invalid = (message: string, param?: string, code?: string, extra: JsonObject = {}) =>
  new StripeFailure(400, {
    type: "invalid_request_error",
    message,
    ...(param ? { param } : {}),
    ...(code ? { code } : {}),
    ...extra,
  });

export const missing = (what: string, id: string, param: string) =>
  new StripeFailure(404, {
    type: "invalid_request_error",
    code: "resource_missing",
    message: `No such ${what}: '${id}'`,
    param,
  });

/**
 * Amounts in a currency's steps (schemas/currencies.ts): three-decimal currencies (BHD, JOD, KWD,
 * OMR, TND) are taken in thousandths but only in multiples of ten, the last digit 0
 * (https://docs.stripe.com/currencies#three-decimal); ISK stays two-decimal in the API but is
 * charged in whole krónur, multiples of 100 (https://docs.stripe.com/currencies#special-cases,
 * https://support.stripe.com/questions/deprecation-of-fractional-isk-charges-and-refunds).
 */
export function checkStep(currency: string, amount: number, param: string): void {
  const { digits, step } = currencyRule(currency);
  if (step === 1 || !Number.isInteger(amount) || amount % step === 0) return;
  throw invalid(
    `Amounts in ${currency} must be a multiple of ${step} in its minor unit: ${amount}.`,
    param,
    digits === 3 ? "invalid_amount" : "invalid_charge_amount_no_decimal_compatible",
  );
}

/** Stripe takes payments in its presentment currencies only (https://docs.stripe.com/currencies#presentment-currencies). */
export function checkCurrency(currency: string): void {
  if (!PAYMENT_CURRENCIES.includes(currency.toUpperCase()))
    throw invalid(`Invalid currency: ${currency}. Stripe does not take payments in it.`, "currency");
}
