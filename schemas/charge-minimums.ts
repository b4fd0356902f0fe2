/**
 * The smallest amount a card charge may be, per currency, in the currency's minor unit (issue 47).
 *
 * Source: Stripe, "Supported currencies", section "Minimum and maximum charge amounts",
 * https://docs.stripe.com/currencies#minimum-and-maximum-charge-amounts (read 2026-11-26). Stripe
 * refuses a PaymentIntent (and so an off-session charge) below it with `amount_too_small`. The
 * table lists the settlement currencies; a charge in another currency must be worth at least the
 * settlement currency's minimum after conversion (the same page). KRW, the lots' default, is not
 * in the table: its row is USD 0.50 at a conservative rate (1,000 KRW, about USD 0.70 at the
 * 2026 rates), so a charge the lot sends is never refused for its size when the dollar moves.
 * A currency not listed here counts as USD 0.50 in a currency worth at most a dollar: 50 minor
 * units (two-decimal currencies).
 */
export const CHARGE_MINIMUMS: Readonly<Record<string, number>> = {
  USD: 50,
  AED: 200,
  AUD: 50,
  BGN: 100,
  BRL: 50,
  CAD: 50,
  CHF: 50,
  CZK: 1500,
  DKK: 250,
  EUR: 50,
  GBP: 30,
  HKD: 400,
  HUF: 17500,
  INR: 50,
  JPY: 50,
  MXN: 1000,
  MYR: 200,
  NOK: 300,
  NZD: 50,
  PLN: 200,
  RON: 200,
  SEK: 300,
  SGD: 50,
  THB: 1000,
  /** Not in Stripe's table (see above): USD 0.50 at a conservative rate. */
  KRW: 1000,
};

/** The smallest charge in `currency` (ISO 4217, either case) a card payment may be. */
export const chargeMinimum = (currency: string): number => CHARGE_MINIMUMS[currency.toUpperCase()] ?? 50;
