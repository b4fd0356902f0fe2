/**
 * The payment provider port (issue 38), in the service's words, vendor-free. Amounts are integers in
 * the currency's minor unit; every call carries an idempotency key derived from the fact it acts on
 * (`stepKey`), so a retry, a restart or a second replica is answered the same: nothing is charged
 * twice. Each call answers an outcome, never throws for a provider's answer: `declined` (record it
 * as a fact), `retryable` (down, slow or busy: again later with the same key) or `refused` (the
 * request is wrong: a bug or a misconfiguration, to log and not retry blindly).
 */

/** What a payment is about, so the provider's dashboard leads back to the booking. */
export interface PaymentMetadata {
  readonly reservationId: string;
  readonly parkingLotId: string;
  /** A card saved for later: what is to be held (its SetupIntent's webhook reads them). */
  readonly amount?: string;
  readonly currency?: string;
}

export interface AuthorizeRequest {
  readonly amount: number;
  /** ISO 4217, as the lot's terms say (upper case). */
  readonly currency: string;
  /** A saved payment method, confirmed server-side; absent: the client confirms (clientSecret). */
  readonly paymentMethod?: string;
  /**
   * The booking's customer's customer at the provider: the card the intent goes through with is
   * saved to it for later charges off-session (Stripe: `setup_future_usage: off_session`).
   */
  readonly customer?: string;
  readonly metadata: PaymentMetadata;
  readonly idempotencyKey: string;
}

/**
 * An authorization: `authorized` holds the amount until captured or released; `pending` waits for
 * the customer to confirm (with `clientSecret`, e.g. Stripe.js), or for 3-D Secure (`action`).
 */
export interface Authorization {
  readonly intentId: string;
  readonly status: "authorized" | "pending";
  readonly amount: number;
  readonly clientSecret?: string;
}

/** Why money is given back, as the provider's refund records it (Stripe: `reason` and `metadata`). */
export interface RefundAbout {
  readonly metadata: PaymentMetadata;
  /** The service's words (an operator's reason, or what settled the booking). */
  readonly reason: string;
}

/** An intent of this service's at the provider, as the reconciliation compares it with its payment. */
export interface ProviderIntent {
  readonly intentId: string;
  readonly status: "pending" | "authorized" | "captured" | "canceled";
  /** What it holds, and what it took. */
  readonly held: number;
  readonly received: number;
  readonly currency: string;
  /** When it was created (epoch seconds). */
  readonly created: number;
  readonly metadata: PaymentMetadata;
  /** The card it was confirmed with (a Stripe.js-confirmed one is recorded as its authorization's). */
  readonly paymentMethod?: string;
}

/** A page of the provider's intents, and where the next begins (absent: the last page). */
export interface IntentPage {
  readonly intents: readonly ProviderIntent[];
  readonly next?: string;
}

export type OffSessionRequest = AuthorizeRequest & { readonly paymentMethod: string };

/**
 * A card saved to the provider's customer for later, nothing held (Stripe: a SetupIntent,
 * https://docs.stripe.com/payments/save-and-reuse): `saved`, or `pending` while the customer must
 * authenticate (with the client secret they confirm it with).
 */
export interface SavedCard {
  readonly setupId: string;
  readonly status: "saved" | "pending";
  readonly clientSecret?: string;
}

/** Without `paymentMethod`, the customer enters the card with Stripe.js and confirms it (its client secret). */
export type SaveCardRequest = Omit<AuthorizeRequest, "amount" | "currency"> & { readonly customer: string };

export type ProviderOutcome<T> =
  | { readonly ok: true; readonly value: T }
  | {
      readonly ok: false;
      readonly kind: "declined";
      readonly code: string;
      readonly message: string;
      /**
       * The intent a charge refused off-session leaves for its customer to complete on session
       * (Stripe: the card error's `payment_intent`, `requires_payment_method`, with its client secret).
       */
      readonly comeback?: { readonly intentId: string; readonly clientSecret: string };
    }
  | { readonly ok: false; readonly kind: "retryable"; readonly message: string }
  | { readonly ok: false; readonly kind: "refused"; readonly message: string };

export type ProviderFailure = Extract<ProviderOutcome<never>, { ok: false }>;

/**
 * A capture refused because the authorization lapsed: the provider canceled it uncaptured at the
 * end of its validity window (Stripe: seven days for a card). What is due is then charged
 * off-session to the booking's saved method, or recorded as lapsed (payment-steps.ts).
 */
export interface AuthorizationLapsed {
  readonly ok: false;
  readonly kind: "lapsed";
  readonly message: string;
}

export interface PaymentProvider {
  /** Creates the intent that will hold `amount` (manual capture), `pending` until confirmed (its client secret). */
  createIntent(request: AuthorizeRequest): Promise<ProviderOutcome<Authorization>>;
  /** Confirms an intent server-side with a saved method (on session): authorized, or pending 3-D Secure. */
  confirm(
    intentId: string,
    paymentMethod: string,
    idempotencyKey: string,
  ): Promise<ProviderOutcome<Authorization>>;
  /** One page of the intents created since `since` (epoch seconds), newest first, after `after`; only ours. */
  listIntents(since: number, limit: number, after?: string): Promise<ProviderOutcome<IntentPage>>;
  /** One intent as it stands now (undefined: not this service's). */
  retrieveIntent(intentId: string): Promise<ProviderOutcome<ProviderIntent | undefined>>;
  /** Takes `amount` (at most what is held) of an authorization, releasing the rest; `lapsed`: it ran out. */
  capture(
    intentId: string,
    amount: number,
    idempotencyKey: string,
  ): Promise<ProviderOutcome<{ captured: number }> | AuthorizationLapsed>;
  /**
   * Lets an authorization go without taking anything (or cancels an intent not yet authorized, or a
   * card's saving not completed, so no one can confirm it any more); one canceled already answers
   * `released: 0`.
   */
  release(intentId: string, idempotencyKey: string): Promise<ProviderOutcome<{ released: number }>>;
  /** Gives back `amount` (at most what was captured and not yet refunded) of a captured payment. */
  refund(
    intentId: string,
    amount: number,
    idempotencyKey: string,
    about?: RefundAbout,
  ): Promise<ProviderOutcome<{ refundId: string; refunded: number }>>;
  /** Saves a card to the provider's customer without holding money (a stay beyond a hold's lifetime). */
  saveCard(request: SaveCardRequest): Promise<ProviderOutcome<SavedCard>>;
  /** Holds `amount` on a saved card without the customer, a stated time before a far stay. */
  authorizeOffSession(request: OffSessionRequest): Promise<ProviderOutcome<Authorization>>;
  /**
   * Charges the saved payment method without the customer (an overstay beyond the authorization);
   * declined, with the intent the customer may complete on session when the provider keeps one.
   */
  chargeOffSession(
    request: OffSessionRequest,
  ): Promise<ProviderOutcome<{ intentId: string; charged: number }>>;
  /** Makes the provider's customer for one of ours, named only by `ref` (their pseudonym): cards are saved to it. */
  createCustomer(ref: string, idempotencyKey: string): Promise<ProviderOutcome<{ customerId: string }>>;
  /** Deletes the provider's customer (and the methods saved to it): the customer was erased. */
  deleteCustomer(customerId: string): Promise<ProviderOutcome<{ deleted: true }>>;
}

/** The steps of a reservation's payment, each asked of the provider at most once per fact. */
export type PaymentStep =
  | "authorize"
  | "confirm"
  | "capture"
  | "release"
  | "refund"
  | "overstay"
  | "void"
  /** What a lapsed authorization's capture was to take, charged off-session instead: a key of its own. */
  | "lapsed-capture"
  /** The card saved for a stay beyond a hold's lifetime (a SetupIntent). */
  | "save";

/**
 * The idempotency key of one step taken because of one fact (the event's id in the log): the same
 * fact always asks the same thing, whoever asks and however often.
 */
export const stepKey = (eventId: string, step: PaymentStep): string => `parking:${eventId}:${step}`;
