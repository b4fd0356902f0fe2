import { card, cardObject } from "./cards.js";
import { type JsonObject, newId } from "./objects.js";

/**
 * The PaymentMethods the Stripe-contract server keeps, and Stripe's rules for reusing them.
 *
 * Stripe's test tokens (`pm_card_visa`, …) stand for a new PaymentMethod at every use
 * (https://docs.stripe.com/testing#cards): they are never consumed, never attached, and so hide the
 * rules below. A PaymentMethod made as Stripe.js makes one from the customer's card details
 * (`createPaymentMethod(token)`, a test control: `pm_…`, the token's card) is held to them:
 *
 * - attached to no Customer, it is single-use: once a PaymentIntent has charged or authorized it
 *   without saving it to a Customer, it may not be used again (https://docs.stripe.com/payments/payment-methods,
 *   "attach to a Customer to reuse"; https://docs.stripe.com/api/payment_intents/create `payment_method`
 *   and `setup_future_usage`);
 * - a PaymentIntent with `customer` and `setup_future_usage` attaches it to that Customer once it
 *   goes through (https://docs.stripe.com/payments/save-during-payment,
 *   https://docs.stripe.com/api/payment_intents/create `setup_future_usage`);
 * - attached to a Customer, an intent may use it only naming that `customer`
 *   (https://docs.stripe.com/api/payment_intents/create `customer`: "payment methods attached to other
 *   Customers cannot be used"; https://docs.stripe.com/payments/save-and-reuse#charge-saved-payment-method);
 * - a Customer deleted detaches its PaymentMethods, which may not be used again
 *   (https://docs.stripe.com/api/customers/delete, https://docs.stripe.com/api/payment_methods/detach).
 */
export interface StoredPaymentMethod {
  readonly id: string;
  /** The test token whose card it is (what a charge on it does: cards.ts). */
  readonly token: string;
  customer: string | null;
  /** Used once without being saved to a Customer, or detached: unusable. */
  spent: boolean;
}

export type PaymentMethods = Record<string, StoredPaymentMethod>;

/** The failure a rule answers (the bank turns it into Stripe's 400 invalid_request_error). */
export type Refusal = { readonly message: string; readonly param: string } | undefined;

/** As Stripe.js's createPaymentMethod: a new, unattached PaymentMethod with the test token's card. */
export function createPaymentMethod(methods: PaymentMethods, token: string): JsonObject {
  if (!card(token)) throw new Error(`no test card ${token}`);
  const id = newId("pm");
  methods[id] = { id, token, customer: null, spent: false };
  return paymentMethodObjectOf(methods, id) as JsonObject;
}

/** The card behind a payment method id (a test token, or a stored method's token). */
export const tokenOf = (methods: PaymentMethods, id: string): string => methods[id]?.token ?? id;

export function paymentMethodObjectOf(methods: PaymentMethods, id: string): JsonObject | undefined {
  const stored = methods[id];
  if (!stored) return cardObject(id, null);
  const object = cardObject(stored.token, stored.customer);
  return object ? { ...object, id } : undefined;
}

/** Whether an intent naming `customer` may use the method `id` (at creation and at confirmation). */
export function refusalOf(methods: PaymentMethods, id: string, customer: string | null): Refusal {
  const stored = methods[id];
  if (!stored) return undefined; // a test token: a new PaymentMethod each time
  if (stored.customer !== null && stored.customer !== customer)
    return {
      message: `The PaymentMethod ${id} is attached to a Customer; an intent using it must name that customer (${customer ?? "none named"}).`,
      param: "customer",
    };
  if (stored.spent)
    return {
      message: `The PaymentMethod ${id} was used before without being attached to a Customer (or was detached): it cannot be used again. Attach it to a Customer to reuse it.`,
      param: "payment_method",
    };
  return undefined;
}

/**
 * A charge or authorization on `id` went through: saved to the intent's Customer when it asked
 * (`setup_future_usage` with `customer`), else spent if it belongs to no Customer. Answers the
 * Customer it was attached to now, if any.
 */
export function afterUse(
  methods: PaymentMethods,
  id: string,
  intent: { readonly customer: string | null; readonly setupFutureUsage: string | null },
): string | undefined {
  const stored = methods[id];
  if (!stored || stored.customer !== null) return undefined;
  if (intent.customer && intent.setupFutureUsage) {
    stored.customer = intent.customer;
    return intent.customer;
  }
  stored.spent = true;
  return undefined;
}

/** A Customer deleted: its methods are detached, unusable from now on. */
export function detachAll(methods: PaymentMethods, customer: string): void {
  for (const stored of Object.values(methods))
    if (stored.customer === customer) {
      stored.customer = null;
      stored.spent = true;
    }
}
