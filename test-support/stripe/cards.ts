import { type JsonObject, paymentMethodObject } from "./objects.js";

/**
 * Stripe's test payment methods (https://docs.stripe.com/testing#cards), as the server knows them:
 * what a charge on each does.
 */
export type CardOutcome =
  | { readonly kind: "succeeds" }
  | {
      readonly kind: "declines";
      readonly code: string;
      readonly declineCode: string | null;
      readonly message: string;
    }
  /** Needs 3-D Secure: on-session the intent requires_action; off-session it fails with authentication_required. */
  | { readonly kind: "authenticates" };

interface Card {
  readonly brand: string;
  readonly last4: string;
  readonly outcome: CardOutcome;
}

const declined = (declineCode: string, message = "Your card was declined."): CardOutcome => ({
  kind: "declines",
  code: "card_declined",
  declineCode,
  message,
});

const OK: CardOutcome = { kind: "succeeds" };
const INSUFFICIENT = declined("insufficient_funds", "Your card has insufficient funds.");

export const TEST_CARDS: Readonly<Record<string, Card>> = {
  pm_card_visa: { brand: "visa", last4: "4242", outcome: OK },
  pm_card_visa_debit: { brand: "visa", last4: "5556", outcome: OK },
  pm_card_mastercard: { brand: "mastercard", last4: "4444", outcome: OK },
  pm_card_amex: { brand: "amex", last4: "8431", outcome: OK },
  pm_card_chargeDeclined: { brand: "visa", last4: "0002", outcome: declined("generic_decline") },
  pm_card_visa_chargeDeclined: { brand: "visa", last4: "0002", outcome: declined("generic_decline") },
  pm_card_chargeDeclinedInsufficientFunds: { brand: "visa", last4: "9995", outcome: INSUFFICIENT },
  pm_card_visa_chargeDeclinedInsufficientFunds: { brand: "visa", last4: "9995", outcome: INSUFFICIENT },
  pm_card_chargeDeclinedLostCard: { brand: "visa", last4: "9987", outcome: declined("lost_card") },
  pm_card_chargeDeclinedExpiredCard: {
    brand: "visa",
    last4: "0069",
    outcome: { kind: "declines", code: "expired_card", declineCode: null, message: "Your card has expired." },
  },
  pm_card_chargeDeclinedIncorrectCvc: {
    brand: "visa",
    last4: "0127",
    outcome: {
      kind: "declines",
      code: "incorrect_cvc",
      declineCode: null,
      message: "Your card's security code is incorrect.",
    },
  },
  pm_card_chargeCustomerFail: { brand: "visa", last4: "0341", outcome: declined("generic_decline") },
  pm_card_authenticationRequired: { brand: "visa", last4: "3184", outcome: { kind: "authenticates" } },
  // https://docs.stripe.com/testing#regulatory-cards: 3-D Secure 2 must be completed for every
  // payment (card 4000 0000 0000 3220); on session the intent answers requires_action.
  pm_card_threeDSecure2Required: { brand: "visa", last4: "3220", outcome: { kind: "authenticates" } },
};

export function card(id: string): Card | undefined {
  return Object.hasOwn(TEST_CARDS, id) ? TEST_CARDS[id] : undefined;
}

export function cardObject(id: string, customer: string | null): JsonObject | undefined {
  const known = card(id);
  return known ? paymentMethodObject(id, known.brand, known.last4, customer) : undefined;
}
