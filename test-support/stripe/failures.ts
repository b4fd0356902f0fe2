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
 * Three-decimal currencies: Stripe takes their amounts in thousandths but only in multiples of ten
 * (the last digit 0), https://docs.stripe.com/currencies#three-decimal.
 */
const THREE_DECIMAL = new Set(["bhd", "jod", "kwd", "omr", "tnd"]);

export function checkThreeDecimal(currency: string, amount: number, param: string): void {
  if (THREE_DECIMAL.has(currency) && Number.isInteger(amount) && amount % 10 !== 0)
    throw invalid(
      `Amounts in ${currency} must be a multiple of 10 in its minor unit (the last decimal 0): ${amount}.`,
      param,
      "invalid_amount",
    );
}
