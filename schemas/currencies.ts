/**
 * The currencies a lot may be paid in (issue 71): the ISO 4217 codes Stripe takes card payments
 * in, each with how Stripe's API writes its amounts. Source: Stripe, "Supported currencies"
 * (https://docs.stripe.com/currencies, read 2026-11-28): its presentment currencies; its
 * zero-decimal ones (an amount is whole units: JPY 500 is 500); its three-decimal ones (thousandths,
 * but the last digit must be 0: amounts in steps of 10); and its special case ISK, two decimals in
 * the API but charged in whole krónur only (steps of 100,
 * https://support.stripe.com/questions/deprecation-of-fractional-isk-charges-and-refunds). HUF and
 * TWD are two-decimal for charges (only their payouts are whole units). Every other code is two
 * decimals. A code Stripe does not take (XTS, XAU, ABC) is refused when a lot's terms name it.
 */
const ZERO_DECIMAL = "BIF CLP DJF GNF JPY KMF KRW MGA PYG RWF UGX VND VUV XAF XOF XPF";
const THREE_DECIMAL = "BHD JOD KWD OMR TND";
const TWO_DECIMAL =
  "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BRL BSD BWP BYN BZD CAD CDF " +
  "CHF CNY COP CRC CVE CZK DKK DOP DZD EGP ETB EUR FJD FKP GBP GEL GIP GMD GTQ GYD HKD HNL HTG HUF " +
  "IDR ILS INR ISK JMD KES KGS KHR KYD KZT LAK LBP LKR LRD LSL MAD MDL MKD MMK MNT MOP MUR MVR MWK " +
  "MXN MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SEK SGD " +
  "SHP SLE SOS SRD SZL THB TJS TOP TRY TTD TWD TZS UAH USD UYU UZS WST XCD YER ZAR ZMW";

export interface CurrencyRule {
  /** The digits of the minor unit Stripe's amounts are in (JPY 0, USD 2, KWD 3). */
  readonly digits: 0 | 2 | 3;
  /** Amounts must be multiples of it (KWD 10, ISK 100, else 1). */
  readonly step: number;
}

const codes = (list: string) => list.split(" ");
const RULES: ReadonlyMap<string, CurrencyRule> = new Map<string, CurrencyRule>([
  ...codes(ZERO_DECIMAL).map((c): [string, CurrencyRule] => [c, { digits: 0, step: 1 }]),
  ...codes(TWO_DECIMAL).map((c): [string, CurrencyRule] => [c, { digits: 2, step: c === "ISK" ? 100 : 1 }]),
  ...codes(THREE_DECIMAL).map((c): [string, CurrencyRule] => [c, { digits: 3, step: 10 }]),
]);

/** Every code a lot's terms may name, sorted. */
export const PAYMENT_CURRENCIES: readonly string[] = [...RULES.keys()].sort();

/** A currency's rule (either case); one Stripe does not take counts as two-decimal, steps of 1. */
export const currencyRule = (currency: string): CurrencyRule =>
  RULES.get(currency.toUpperCase()) ?? { digits: 2, step: 1 };

/** `amount` down to the currency's step: what a capture, an off-session charge or a refund may be. */
export const roundDownToStep = (amount: number, currency: string): number =>
  amount - (amount % currencyRule(currency).step);

/** `amount` up to the currency's step: what a booking authorizes to cover its price. */
export const roundUpToStep = (amount: number, currency: string): number => {
  const { step } = currencyRule(currency);
  return Math.ceil(amount / step) * step;
};
