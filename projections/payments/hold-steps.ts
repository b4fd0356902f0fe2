import { awaitingPayment } from "../../write-side/parking-lot/payments.js";
import type { PaymentState } from "../../write-side/payment/payment.js";
import { stepKey } from "./provider.js";
import {
  causeOf,
  failed,
  metadataOf,
  type PlanResult,
  providerCustomerOf,
  releaseIntent,
  type StepDeps,
  type StepWork,
} from "./step-common.js";

/** The steps that hold a booking's money: its authorization, or a far stay's card saved, then held. */

/** A booking's authorization (payment-next.ts's `authorize`); `authorizeAt`: a far stay's card saved now, held then. */
export interface AuthorizeWork extends StepWork {
  readonly kind: "authorize";
  readonly amount: number;
  readonly authorizeAt?: string;
}

/** A hold's work (payment-next.ts's `hold` or `deadline`); `startsAt`: until when a hold waits for its customer. */
export interface HoldWork extends StepWork {
  readonly kind: "hold";
  readonly amount?: number;
  readonly startsAt?: string;
}

/** How long a card whose saving asks for 3-D Secure waits for its customer, at most. */
const SAVE_ACTION_HOURS = 24;

/** A card that asks for its customer where none can answer (no client secret, or no time left). */
const AUTH_REQUIRED = { ok: false, kind: "declined", code: "authentication_required", message: "" } as const;

/**
 * A booking's authorization, as Stripe documents it for the case: the intent is created
 * (unconfirmed) only while the booking still waits for its payment, recorded on the lot (the one
 * intent whose authorization counts), then confirmed server-side with a saved method, or handed
 * to the customer (client secret) to confirm; 3-D Secure leaves it pending with its client secret.
 */
export async function authorizeBooking(plan: AuthorizeWork, deps: StepDeps): Promise<PlanResult> {
  const { provider, send } = deps;
  const lot = metadataOf(plan);
  if (!awaitingPayment(await deps.lotState(plan.parkingLotId), plan.reservationId)) {
    deps.logger.debug(lot, "the booking no longer waits for its payment: no intent created");
    return "done";
  }
  // Every card is saved to the customer's provider customer, for what is charged later: a
  // saved method, a far stay's (a SetupIntent), and one its customer confirms with Stripe.js (the
  // intent's `setup_future_usage`; its authorization's webhook names the card, recorded sealed).
  const customer = plan.customer ? await providerCustomerOf(plan.customer, deps) : undefined;
  if (customer && !customer.ok) return failed(customer, plan, deps);
  if (customer && plan.authorizeAt) return saveForLater(plan, customer.value, plan.authorizeAt, deps);
  const created = await provider.createIntent({
    amount: plan.amount,
    currency: plan.currency,
    ...(plan.method ? { paymentMethod: plan.method } : {}),
    ...(customer ? { customer: customer.value } : {}),
    metadata: lot,
    idempotencyKey: stepKey(plan.eventId, "authorize"),
  });
  if (!created.ok) return failed(created, plan, deps);
  const { intentId } = created.value;
  const recorded = await send(
    {
      type: "RecordPaymentIntent",
      ...lot,
      intentId,
      amount: plan.amount,
      currency: plan.currency,
      // The saved card goes on the payment's stream, sealed (its later charges read it there).
      ...(plan.method ? { paymentMethod: plan.method } : {}),
      now: deps.now(),
    },
    causeOf(plan),
  );
  // The booking stopped waiting meanwhile: the intent no one will use is canceled at once.
  if (!recorded.ok)
    return releaseIntent(plan, intentId, "booking-ended", stepKey(plan.eventId, "void"), deps);
  const outcome = plan.method
    ? await provider.confirm(intentId, plan.method, stepKey(plan.eventId, "confirm"))
    : created;
  if (!outcome.ok) return failed(outcome, plan, deps, intentId);
  const { status, amount } = outcome.value;
  // Waiting for the customer (clientSecret, 3-D Secure): the provider's webhook authorizes it.
  if (status === "pending") {
    if (outcome.value.clientSecret) await deps.keepClientSecret(plan, outcome.value.clientSecret);
    return "done";
  }
  const sent = await send(
    { type: "AuthorizePayment", ...lot, intentId, amount, currency: plan.currency, now: deps.now() },
    causeOf(plan),
  );
  if (sent.ok) return "done";
  // The lot did not take it (PaymentNotPending: the hold ran out or the booking was canceled
  // first; anything else it refuses): nothing may stay held for it, so it is let go.
  if (sent.code !== "PaymentNotPending")
    deps.logger.error(
      { ...lot, intentId, code: sent.code },
      "the lot refused an authorization; releasing it",
    );
  return releaseIntent(plan, intentId, "authorization-refused", stepKey(plan.eventId, "release"), deps);
}

/**
 * A stay beyond a hold's lifetime: the card is saved to the customer's provider customer (a
 * SetupIntent), nothing held, and the booking confirmed on it (PaymentCardSaved plans its hold). A
 * card that asks for 3-D Secure waits for its customer (PaymentActionRequired, its client secret
 * kept) until 24 h after booking or the hold's time if earlier, when its deadline step fails it.
 * Without a `method` the customer enters their card with Stripe.js: the SetupIntent is recorded as
 * the booking's intent, as a PaymentIntent's (`setup_intent.succeeded` saves the card).
 */
export async function saveForLater(
  plan: AuthorizeWork,
  customer: string,
  authorizeAt: string,
  deps: StepDeps,
): Promise<PlanResult> {
  const { method } = plan;
  const lot = metadataOf(plan);
  const saved = await deps.provider.saveCard({
    ...(method ? { paymentMethod: method } : {}),
    customer,
    // What its webhook saves, should the customer be asked (setup_intent.succeeded carries no amount).
    metadata: { ...lot, amount: String(plan.amount), currency: plan.currency },
    idempotencyKey: stepKey(plan.eventId, "save"),
  });
  if (!saved.ok) return failed(saved, plan, deps);
  const { status, clientSecret, setupId: intentId } = saved.value;
  const { amount, currency } = plan;
  if (!method) {
    const record = { type: "RecordPaymentIntent", ...lot, intentId, amount, currency, authorizeAt } as const;
    const recorded = await deps.send({ ...record, now: deps.now() }, causeOf(plan));
    // The booking stopped waiting meanwhile: the SetupIntent no one will use is canceled at once.
    if (!recorded.ok)
      return releaseIntent(plan, intentId, "authorization-refused", stepKey(plan.eventId, "void"), deps);
    if (clientSecret !== undefined) await deps.keepClientSecret(plan, clientSecret);
    return "done";
  }
  if (status === "pending" && clientSecret === undefined) return failed(AUTH_REQUIRED, plan, deps);
  if (status === "pending" && clientSecret !== undefined) await deps.keepClientSecret(plan, clientSecret);
  const now = deps.now();
  const dayAfter = new Date(Date.parse(now) + SAVE_ACTION_HOURS * 3_600_000).toISOString();
  const actionDeadline = Date.parse(dayAfter) < Date.parse(authorizeAt) ? dayAfter : authorizeAt;
  // The card given at booking is named by its PaymentCardSaved (sealed), which its hold reads.
  const command = { type: "AuthorizePayment", ...lot, intentId, amount, currency, authorizeAt } as const;
  const card = { paymentMethod: method, ...(status === "pending" ? { actionDeadline } : {}) };
  const sent = await deps.send({ ...command, ...card, now }, causeOf(plan));
  if (!sent.ok) deps.logger.info({ ...lot, code: sent.code }, "the booking did not take its saved card");
  return "done";
}

/**
 * A saved card held off-session before the stay (PaymentCardSaved's `authorizeAt`): declined, the
 * payment fails and its booking is canceled (the lot's policy). A card that asks for the customer
 * waits for them until the stay's start (PaymentActionRequired, its client secret kept; the intent's
 * webhook authorizes it), when its deadline step fails it. A booking that ended asks for nothing.
 */
export async function holdBeforeStay(
  plan: HoldWork & { readonly amount: number },
  deps: StepDeps,
): Promise<PlanResult> {
  if (!plan.method) return "done";
  const customer = plan.customer ? await providerCustomerOf(plan.customer, deps) : undefined;
  if (customer && !customer.ok) return failed(customer, plan, deps);
  const held = await deps.provider.authorizeOffSession({
    amount: plan.amount,
    currency: plan.currency,
    paymentMethod: plan.method,
    ...(customer ? { customer: customer.value } : {}),
    metadata: metadataOf(plan),
    idempotencyKey: stepKey(plan.eventId, "authorize"),
  });
  if (!held.ok) return failed(held, plan, deps);
  const { intentId, amount, status, clientSecret } = held.value;
  const waits = status === "pending" && clientSecret !== undefined && plan.startsAt !== undefined;
  if (status === "pending" && !waits) return failed(AUTH_REQUIRED, plan, deps);
  if (waits) await deps.keepClientSecret(plan, clientSecret);
  const sent = await deps.send(
    {
      type: "AuthorizePayment",
      ...metadataOf(plan),
      intentId,
      amount: waits ? plan.amount : amount,
      currency: plan.currency,
      ...(waits ? { actionDeadline: plan.startsAt } : {}),
      now: deps.now(),
    },
    causeOf(plan),
  );
  if (sent.ok) return "done";
  return releaseIntent(plan, intentId, "authorization-refused", stepKey(plan.eventId, "release"), deps);
}

/**
 * The stay's start came while the hold still waited for its customer: the payment fails, then the
 * intent no one completed is canceled at the provider. A race with the customer completing it is
 * decided by the payment's stream (its expected revision): an authorization recorded first stands;
 * a failure recorded first refuses the one after, whose hold the webhook route releases.
 */
export async function deadlinePassed(
  plan: HoldWork,
  payment: PaymentState,
  deps: StepDeps,
): Promise<PlanResult> {
  if (payment.kind !== "open" || payment.settled || !payment.action) return "done";
  // A later action than this plan's (the card saved, then its hold asked too): that one's plan decides.
  if (Date.parse(payment.action.deadline) > Date.parse(deps.now())) return "done";
  let after: PaymentState = payment;
  if (payment.status === "action-required") {
    const message = "The customer did not complete the authentication the card asked for before the stay.";
    const result = await failed({ ...AUTH_REQUIRED, message }, plan, deps);
    if (result !== "done") return result;
    after = (await deps.paymentProcess(plan.reservationId)).payment;
  }
  // Saving the card never completed (its SetupIntent, nothing held) is canceled at the provider too.
  const { intentId } = payment.action;
  if (after.kind !== "open" || after.status !== "failed" || after.releasedIntents.includes(intentId))
    return "done";
  return releaseIntent(plan, intentId, "authorization-refused", stepKey(plan.eventId, "release"), deps);
}
