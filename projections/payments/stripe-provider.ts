import Stripe from "stripe";
import type {
  Authorization,
  AuthorizationLapsed,
  AuthorizeRequest,
  OffSessionRequest,
  PaymentProvider,
  ProviderFailure,
  ProviderIntent,
  ProviderOutcome,
  SaveCardRequest,
  SavedCard,
} from "./provider.js";
import { call, intentFor, oncePerStep, STEP_KEY, translateStripeError } from "./stripe-calls.js";

/**
 * The provider port on Stripe, through the official SDK (issue 38): PaymentIntents with manual
 * capture carrying the booking in their metadata, each request under its step's idempotency key
 * (Stripe answers a repeat with the first answer), Stripe's errors translated at the edge
 * (stripe-calls.ts). Every intent turns redirects off (`automatic_payment_methods[allow_redirects]=never`,
 * issue 47): saved cards are confirmed server-side and overstays charged off-session, with no page
 * to come back to, and redirect-based methods mostly cannot hold with manual capture; 3-D Secure
 * still runs in Stripe.js's frame. Without it, since API 2023-08-16, Stripe refuses such a
 * confirmation for want of a `return_url` (docs/operations.md, "Payments").
 */

export interface StripeSettings {
  readonly secretKey: string;
  /** STRIPE_API_BASE: Stripe's own, or a Stripe-compatible server. */
  readonly apiBase: string;
  /** How long one request may take (ms). */
  readonly timeoutMs?: number;
}

/** The SDK's client for these settings: the base URL's protocol, host and port; no retries of its own. */
export function stripeClient(settings: StripeSettings): Stripe {
  const url = new URL(settings.apiBase);
  const protocol = url.protocol === "http:" ? "http" : "https";
  return new Stripe(settings.secretKey, {
    host: url.hostname,
    port: url.port || (protocol === "http" ? 80 : 443),
    protocol,
    // The process manager retries with backoff and the same key; the SDK must not add its own.
    maxNetworkRetries: 0,
    timeout: settings.timeoutMs ?? 20_000,
    telemetry: false,
  });
}

/** Cards only, no redirects (see above). */
const NO_REDIRECTS = { enabled: true, allow_redirects: "never" } as const;

/**
 * The metadata key naming an intent's deployment (STRIPE_INSTANCE): deployments sharing a Stripe
 * account see each other's intents, and none may release another's hold as one it does not count on.
 */
export const INSTANCE_KEY = "parking_instance";

/**
 * The booking an intent's metadata names; undefined when it is not this deployment's (one naming
 * no instance is another application's on the same account, never acted on) or not a booking's.
 */
export function bookingOf(
  intent: { readonly metadata?: Stripe.Metadata | null },
  instance: string,
): { reservationId: string; parkingLotId: string } | undefined {
  if (intent.metadata?.[INSTANCE_KEY] !== instance) return undefined;
  const { reservationId, parkingLotId } = intent.metadata;
  return reservationId && parkingLotId ? { reservationId, parkingLotId } : undefined;
}

/** The card an intent names (an id, or the object when expanded), if it is shaped as one. */
export function methodOf(intent: Pick<Stripe.PaymentIntent | Stripe.SetupIntent, "payment_method">): {
  paymentMethod?: string;
} {
  const method =
    typeof intent.payment_method === "string" ? intent.payment_method : intent.payment_method?.id;
  return method && /^[A-Za-z0-9_-]{1,255}$/.test(method) ? { paymentMethod: method } : {};
}

const STATUS = { requires_capture: "authorized", succeeded: "captured", canceled: "canceled" } as const;

/** An intent in the service's words; undefined when it is not this deployment's (nor a booking's). */
function providerIntent(intent: Stripe.PaymentIntent, instance: string): ProviderIntent | undefined {
  const metadata = bookingOf(intent, instance);
  if (!metadata) return undefined;
  return {
    intentId: intent.id,
    status: STATUS[intent.status as keyof typeof STATUS] ?? "pending",
    held: intent.amount_capturable,
    received: intent.amount_received,
    currency: intent.currency.toUpperCase(),
    created: intent.created,
    metadata,
    ...methodOf(intent),
  };
}

/**
 * The intent a refusal `payment_intent_unexpected_state` names, as it stood (undefined: another
 * answer). A cancel of one canceled already (by us, or by its authorization lapsing) is refused so;
 * so is a capture of an authorization that lapsed: uncaptured at the end of its validity window
 * (seven days for an online card payment the customer made), Stripe released the funds and canceled
 * the intent with `cancellation_reason: automatic`
 * (https://docs.stripe.com/payments/place-a-hold-on-a-payment-method, "Authorization validity
 * windows"; https://docs.stripe.com/error-codes#payment-intent-unexpected-state).
 */
const unexpectedState = (error: unknown): Partial<Stripe.PaymentIntent> | undefined =>
  error instanceof Stripe.errors.StripeInvalidRequestError && error.code === "payment_intent_unexpected_state"
    ? (error.payment_intent ?? {})
    : undefined;

/** Captures `amount` of an authorization (the rest is released); a lapsed one answers `lapsed`. */
const captureOf =
  (intents: Intents) =>
  async (
    intentId: string,
    amount: number,
    idempotencyKey: string,
  ): Promise<ProviderOutcome<{ captured: number }> | AuthorizationLapsed> => {
    try {
      const intent = await intents.capture(intentId, { amount_to_capture: amount }, { idempotencyKey });
      return { ok: true, value: { captured: intent.amount_received } };
    } catch (error) {
      const state = unexpectedState(error);
      if (state?.status === "canceled" && state.cancellation_reason === "automatic")
        return { ok: false, kind: "lapsed", message: error instanceof Error ? error.message : String(error) };
      const failure = translateStripeError(error);
      // An unclear answer (`afterUnclear`), or "unexpected state" once the key is pruned, may hide a
      // capture that went through: captured is captured; still held is tried again.
      if (failure.kind !== "retryable" && !state) return failure;
      return afterUnclear(intents, intentId, failure, (intent) =>
        intent.status === "succeeded"
          ? { ok: true, value: { captured: intent.amount_received } }
          : intent.status === "requires_capture"
            ? { ok: false, kind: "retryable", message: failure.message }
            : undefined,
      );
    }
  };

function authorization(intent: Stripe.PaymentIntent): Authorization {
  const held = intent.status === "requires_capture";
  return {
    intentId: intent.id,
    status: held ? "authorized" : "pending",
    amount: held ? intent.amount_capturable : intent.amount,
    ...(intent.client_secret ? { clientSecret: intent.client_secret } : {}),
  };
}

type Intents = Stripe["paymentIntents"];

/** The intent that is to hold a booking's amount (manual capture, cards only), not confirmed. */
const createIntentOf = (intents: Intents, instance: string) => (request: AuthorizeRequest) =>
  call(async () =>
    authorization(
      await intents.create(
        {
          amount: request.amount,
          currency: request.currency.toLowerCase(), // ISO 4217 in Stripe's lower case
          capture_method: "manual",
          automatic_payment_methods: NO_REDIRECTS,
          metadata: { ...request.metadata, [INSTANCE_KEY]: instance },
          // A method attached to no Customer is single-use at Stripe; saved to the
          // customer's Customer as the intent goes through, it can be charged later off-session
          // (an overstay, a capture after the hold lapsed): https://docs.stripe.com/payments/save-during-payment.
          ...(request.customer
            ? { customer: request.customer, setup_future_usage: "off_session" as const }
            : {}),
          ...(request.paymentMethod ? { payment_method: request.paymentMethod } : {}),
        },
        { idempotencyKey: request.idempotencyKey },
      ),
    ),
  );

/**
 * After an unclear answer (a 5xx, a timeout, no connection, or the saved 500 Stripe replays
 * to the same key for 24 hours, https://docs.stripe.com/idempotency) the intent says what Stripe
 * did: `read` it, or (undefined) as answered; the intent out of reach, tried again later.
 */
async function afterUnclear<T>(
  intents: Intents,
  intentId: string,
  failure: ProviderFailure,
  read: (intent: Stripe.PaymentIntent) => ProviderOutcome<T> | undefined,
): Promise<ProviderOutcome<T>> {
  const found = await call(() => intents.retrieve(intentId));
  if (!found.ok) return found.kind === "retryable" ? found : failure;
  return read(found.value) ?? failure;
}

/** A server-side confirm with a saved method (on session); one applied but answered unclearly, as the intent says. */
const confirmOf =
  (intents: Intents) => async (intentId: string, paymentMethod: string, idempotencyKey: string) => {
    const confirmed = await call(async () =>
      authorization(await intents.confirm(intentId, { payment_method: paymentMethod }, { idempotencyKey })),
    );
    if (confirmed.ok || confirmed.kind !== "retryable") return confirmed;
    return afterUnclear(intents, intentId, confirmed, (intent) =>
      intent.status === "requires_capture" || intent.status === "requires_action"
        ? { ok: true, value: authorization(intent) }
        : undefined,
    );
  };

/** One page of the intents created since `since` (Stripe's list: newest first, `starting_after`), this deployment's. */
const listIntentsOf =
  (intents: Intents, instance: string) => (since: number, limit: number, after?: string) =>
    call(async () => {
      const window = { created: { gte: since }, limit, ...(after ? { starting_after: after } : {}) };
      const page = await intents.list(window);
      const ours = page.data.flatMap((intent) => providerIntent(intent, instance) ?? []);
      const last = page.data.at(-1);
      return { intents: ours, ...(page.has_more && last ? { next: last.id } : {}) };
    });

/** Cancels an intent, answering what it held; one canceled already (or as an unclear answer's intent says) answers 0. */
const releaseOf = (intents: Intents) => async (intentId: string, idempotencyKey: string) => {
  let held = 0;
  const released = await call(async () => {
    try {
      held = (await intents.retrieve(intentId)).amount_capturable;
      await intents.cancel(intentId, { cancellation_reason: "abandoned" }, { idempotencyKey });
      return { released: held };
    } catch (error) {
      if (unexpectedState(error)?.status === "canceled") return { released: 0 };
      throw error;
    }
  });
  if (released.ok || released.kind !== "retryable") return released;
  return afterUnclear(intents, intentId, released, (intent) =>
    intent.status === "canceled" ? { ok: true, value: { released: held } } : undefined,
  );
};

/**
 * A card's saving no one completed is canceled, so no one can confirm it any more; it held nothing.
 * One canceled or succeeded already can no longer be canceled: nothing to do.
 */
const cancelSetupOf = (client: Stripe) => (setupId: string, idempotencyKey: string) =>
  call(async () => {
    try {
      await client.setupIntents.cancel(setupId, {}, { idempotencyKey });
    } catch (error) {
      const done =
        error instanceof Stripe.errors.StripeInvalidRequestError &&
        error.code === "setup_intent_unexpected_state";
      if (!done) throw error;
    }
    return { released: 0 };
  });

/** Gives back part of a captured intent; one made but answered unclearly is found by its step's key (`oncePerStep`). */
const refundOf =
  (client: Stripe): PaymentProvider["refund"] =>
  (intentId, amount, idempotencyKey, about) =>
    oncePerStep(
      async () => {
        const listed = await call(() => client.refunds.list({ payment_intent: intentId, limit: 100 }));
        if (!listed.ok) return listed;
        const made = listed.value.data.find((r) => r.metadata?.[STEP_KEY] === idempotencyKey);
        return made ? { ok: true, value: { refundId: made.id, refunded: made.amount } } : undefined;
      },
      () =>
        call(async () => {
          const refund = await client.refunds.create(
            {
              payment_intent: intentId,
              amount,
              // Stripe's reasons are duplicate, fraudulent or requested_by_customer; a parking lot's
              // refund gives the customer's money back: the service's own words go in the metadata
              // (https://docs.stripe.com/api/refunds/create `reason`, `metadata`).
              ...(about ? { reason: "requested_by_customer" as const } : {}),
              metadata: {
                ...(about ? { ...about.metadata, reason: about.reason.slice(0, 500) } : {}),
                [STEP_KEY]: idempotencyKey,
              },
            },
            { idempotencyKey },
          );
          return { refundId: refund.id, refunded: refund.amount };
        }),
    );

/**
 * A card saved to the customer's Customer for off-session use, nothing held: a SetupIntent confirmed
 * server-side (https://docs.stripe.com/payments/save-and-reuse), or, without a method, left for the
 * customer to confirm with Stripe.js `confirmCardSetup`; 3-D Secure leaves it to them too (its client secret).
 */
const saveCardOf = (client: Stripe, instance: string) => (request: SaveCardRequest) =>
  call(async (): Promise<SavedCard> => {
    const setup = await client.setupIntents.create(
      {
        customer: request.customer,
        ...(request.paymentMethod ? { payment_method: request.paymentMethod, confirm: true } : {}),
        usage: "off_session",
        automatic_payment_methods: NO_REDIRECTS,
        metadata: { ...request.metadata, [INSTANCE_KEY]: instance },
      },
      { idempotencyKey: request.idempotencyKey },
    );
    return {
      setupId: setup.id,
      status: setup.status === "succeeded" ? "saved" : "pending",
      ...(setup.client_secret ? { clientSecret: setup.client_secret } : {}),
    };
  });

/** An off-session intent waiting for its customer: 3-D Secure asked, or refused `authentication_required`. */
const needsCustomer = (intent: Stripe.PaymentIntent): boolean =>
  intent.status === "requires_action" ||
  (intent.status === "requires_payment_method" &&
    intent.last_payment_error?.code === "authentication_required");

/** What an off-session intent is created with (https://docs.stripe.com/payments/save-and-reuse#charge-saved-payment-method), its step's key in its metadata. */
const offSession = (request: OffSessionRequest, instance: string) => ({
  amount: request.amount,
  currency: request.currency.toLowerCase(),
  payment_method: request.paymentMethod,
  ...(request.customer ? { customer: request.customer } : {}),
  off_session: true,
  confirm: true,
  automatic_payment_methods: NO_REDIRECTS,
  metadata: { ...request.metadata, [INSTANCE_KEY]: instance, [STEP_KEY]: request.idempotencyKey },
});

/**
 * The intent that holds a saved card's amount off-session; one that asks for the customer answers
 * `pending` with its client secret. Made once per step (`oncePerStep`).
 */
const authorizeOffSessionOf = (intents: Intents, instance: string) => (request: OffSessionRequest) =>
  oncePerStep(
    intentFor(intents, request.idempotencyKey, (intent) =>
      intent.status === "requires_capture" || needsCustomer(intent)
        ? { ok: true, value: authorization(intent) }
        : undefined,
    ),
    () =>
      call(async () =>
        authorization(
          await intents
            .create(
              { ...offSession(request, instance), capture_method: "manual" },
              { idempotencyKey: request.idempotencyKey },
            )
            .catch((error: unknown) => {
              // Its error carries the intent (`requires_payment_method`) for the customer to complete.
              const asks =
                error instanceof Stripe.errors.StripeCardError && error.code === "authentication_required";
              if (asks && error.payment_intent?.client_secret) return error.payment_intent;
              throw error;
            }),
        ),
      ),
  );

/**
 * A saved method charged without the customer: an overstay beyond the hold, or what a lapsed hold
 * can no longer give (Stripe's advice for a capture later than the authorization's window). A card
 * that asks for authentication is declined `authentication_required`. Made once per step (`oncePerStep`).
 */
const chargeOffSessionOf = (intents: Intents, instance: string) => (request: OffSessionRequest) =>
  oncePerStep(
    intentFor(intents, request.idempotencyKey, (intent) =>
      intent.status === "succeeded"
        ? { ok: true, value: { intentId: intent.id, charged: intent.amount_received } }
        : intent.status === "processing"
          ? { ok: false, kind: "retryable", message: `${intent.id} is processing` }
          : undefined,
    ),
    async () => {
      try {
        const { idempotencyKey } = request;
        const intent = await intents.create(offSession(request, instance), { idempotencyKey });
        return { ok: true, value: { intentId: intent.id, charged: intent.amount_received } };
      } catch (error) {
        // A charge the card refused leaves its intent (the card error's `payment_intent`) for the customer.
        const failure = translateStripeError(error);
        const intent = error instanceof Stripe.errors.StripeCardError ? error.payment_intent : undefined;
        return failure.kind === "declined" && intent?.id && intent.client_secret
          ? { ...failure, comeback: { intentId: intent.id, clientSecret: intent.client_secret } }
          : failure;
      }
    },
  );

export function stripeProvider(client: Stripe, instance: string): PaymentProvider {
  const intents = client.paymentIntents;
  return {
    createIntent: createIntentOf(intents, instance),
    confirm: confirmOf(intents),
    saveCard: saveCardOf(client, instance),
    authorizeOffSession: authorizeOffSessionOf(intents, instance),
    listIntents: listIntentsOf(intents, instance),
    // A SetupIntent (a card saved, nothing held) is no PaymentIntent: nothing to compare.
    retrieveIntent: (intentId) =>
      call(async () =>
        intentId.startsWith("seti_") ? undefined : providerIntent(await intents.retrieve(intentId), instance),
      ),
    capture: captureOf(intents),
    // A SetupIntent (`seti_`) recorded as a client-confirmed booking's intent is canceled as such.
    release: (id, key) =>
      id.startsWith("seti_") ? cancelSetupOf(client)(id, key) : releaseOf(intents)(id, key),
    refund: refundOf(client),
    chargeOffSession: chargeOffSessionOf(intents, instance),
    createCustomer: (ref, idempotencyKey) =>
      call(async () => {
        // Named by the customer's pseudonym only: nothing personal goes to Stripe.
        const metadata = { parking_customer: ref, [INSTANCE_KEY]: instance };
        return { customerId: (await client.customers.create({ metadata }, { idempotencyKey })).id };
      }),
    deleteCustomer: (customerId) =>
      call(async () => {
        try {
          await client.customers.del(customerId);
        } catch (error) {
          // Deleted already (a retry after an answer lost): done.
          if (!(error instanceof Stripe.errors.StripeInvalidRequestError && error.statusCode === 404))
            throw error;
        }
        return { deleted: true as const };
      }),
  };
}
