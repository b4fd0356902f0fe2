import type { Logger } from "../../platform/logger.js";
import type { AuthorizePayment, RecordPaymentIntent } from "../../schemas/commands.js";
import type { PaymentState } from "../../write-side/payment/payment.js";
import {
  type PaymentMetadata,
  type PaymentProvider,
  type ProviderFailure,
  type ProviderOutcome,
  stepKey,
} from "./provider.js";

/**
 * Issue 71, the payments process manager's steps for a stay beyond a card hold's lifetime (the
 * horizon rule, write-side/payment/payment-policy.ts holdPlanOf): the card saved at booking, held
 * off-session before the stay. payment-steps.ts runs them, with its own steps as `helpers`.
 */

/**
 * How carrying out a step went: `done` (its outcome recorded: the next is asked) or `retry` (the
 * provider or the store is out: the same steps, with the same keys, later).
 */
export type PlanResult = "done" | "retry";

/**
 * What a step works on: whose payment, the fact that asked for it (its id roots the step's keys and
 * is the commands' cause), and the booking's saved card (`customer`: its customer's pseudonym).
 */
export interface StepWork {
  readonly reservationId: string;
  readonly parkingLotId: string;
  readonly eventId: string;
  readonly correlationId: string;
  readonly currency: string;
  readonly method?: string;
  readonly customer?: string;
}

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
type Cause = { readonly correlationId: string; readonly causationId: string };

/** What these steps use of payment-steps.ts's StepDeps. */
export interface HoldDeps {
  readonly provider: PaymentProvider;
  readonly send: (
    command: AuthorizePayment | RecordPaymentIntent,
    cause: Cause,
  ) => Promise<{ readonly ok: true } | { readonly ok: false; readonly code: string }>;
  readonly logger: Pick<Logger, "info">;
  readonly now: () => string;
  readonly paymentState: (parkingLotId: string, reservationId: string) => Promise<PaymentState>;
  readonly keepClientSecret: (
    plan: { readonly reservationId: string },
    clientSecret: string,
  ) => Promise<void>;
}

/** payment-steps.ts's own steps: a failure recorded, the provider customer, an intent released. */
export interface HoldHelpers {
  readonly failed: (
    outcome: ProviderFailure,
    plan: AuthorizeWork | HoldWork,
    intentId?: string,
  ) => Promise<PlanResult>;
  readonly customerOf: (ref: string) => Promise<ProviderOutcome<string>>;
  readonly release: (
    intent: { readonly intentId: string; readonly parkingLotId: string; readonly reservationId: string },
    key: string,
    cause: Cause,
    because?: "booking-ended" | "authorization-refused",
  ) => Promise<PlanResult>;
}

/** How long a card whose saving asks for 3-D Secure waits for its customer, at most. */
const SAVE_ACTION_HOURS = 24;

export const metadataOf = (plan: {
  readonly reservationId: string;
  readonly parkingLotId: string;
}): PaymentMetadata => ({
  reservationId: plan.reservationId,
  parkingLotId: plan.parkingLotId,
});

/**
 * Issue 71: a stay beyond a hold's lifetime: the card is saved to the customer's provider customer
 * (a SetupIntent), nothing held, and the booking confirmed on it (PaymentCardSaved, which plans its
 * hold before the stay). A card that asks for 3-D Secure to be saved waits for its customer
 * (PaymentActionRequired with `authorizeAt`, the booking confirmed, the SetupIntent's client secret
 * kept for them) until 24 h after booking or the hold's time if earlier; the SetupIntent's webhook
 * saves it then (PaymentCardSaved), or its deadline step fails it (deadlinePassed). Without a
 * `method` the customer enters their card with Stripe.js: the SetupIntent is recorded as the
 * booking's intent and its client secret kept, as a PaymentIntent's (the booking waits for it until
 * its hold ends; `setup_intent.succeeded` saves the card and confirms the booking).
 */
export async function saveForLater(
  plan: AuthorizeWork,
  method: string | undefined,
  customer: string,
  authorizeAt: string,
  deps: HoldDeps,
  helpers: HoldHelpers,
): Promise<PlanResult> {
  const lot = { parkingLotId: plan.parkingLotId, reservationId: plan.reservationId };
  const saved = await deps.provider.saveCard({
    ...(method ? { paymentMethod: method } : {}),
    customer,
    // What its webhook saves, should the customer be asked (setup_intent.succeeded carries no amount).
    metadata: { ...metadataOf(plan), amount: String(plan.amount), currency: plan.currency },
    idempotencyKey: stepKey(plan.eventId, "save"),
  });
  if (!saved.ok) return helpers.failed(saved, plan);
  const { status, clientSecret, setupId: intentId } = saved.value;
  const { amount, currency } = plan;
  const cause = { correlationId: plan.correlationId, causationId: plan.eventId };
  if (!method) {
    const record = { type: "RecordPaymentIntent", ...lot, intentId, amount, currency, authorizeAt } as const;
    const recorded = await deps.send({ ...record, now: deps.now() }, cause);
    // The booking stopped waiting meanwhile: the SetupIntent no one will use is canceled at once.
    if (!recorded.ok) return helpers.release({ ...lot, intentId }, stepKey(plan.eventId, "void"), cause);
    if (clientSecret !== undefined) await deps.keepClientSecret(plan, clientSecret);
    return "done";
  }
  if (status === "pending" && clientSecret === undefined)
    return helpers.failed(
      { ok: false, kind: "declined", code: "authentication_required", message: "" },
      plan,
    );
  if (status === "pending" && clientSecret !== undefined) await deps.keepClientSecret(plan, clientSecret);
  const now = deps.now();
  const dayAfter = new Date(Date.parse(now) + SAVE_ACTION_HOURS * 3_600_000).toISOString();
  const actionDeadline = Date.parse(dayAfter) < Date.parse(authorizeAt) ? dayAfter : authorizeAt;
  // The card given at booking is named by its PaymentCardSaved (sealed), which its hold reads.
  const card = method ? { paymentMethod: method } : {};
  const command = {
    type: "AuthorizePayment",
    ...lot,
    intentId,
    amount,
    currency,
    authorizeAt,
    ...card,
  } as const;
  const sent = await deps.send(
    { ...command, ...(status === "pending" ? { actionDeadline } : {}), now },
    cause,
  );
  if (!sent.ok) deps.logger.info({ ...lot, code: sent.code }, "the booking did not take its saved card");
  return "done";
}

/**
 * Issue 71: a saved card held off-session before the stay (PaymentCardSaved's `authorizeAt`), with
 * the customer's provider customer: authorized, the payment reads `authorized`; declined, the
 * payment fails and its booking is canceled (the lot's policy: the spot released, PaymentFailed
 * saying why). A card that asks for the customer (`authentication_required`) waits for them until
 * the stay's start (PaymentActionRequired, its client secret kept for them; the intent's webhook
 * authorizes it), and its deadline step (payment-next.ts) fails it then. A booking that ended meanwhile asks for nothing.
 */
export async function holdBeforeStay(
  plan: HoldWork & { readonly amount: number },
  deps: HoldDeps,
  helpers: HoldHelpers,
): Promise<PlanResult> {
  const lot = { parkingLotId: plan.parkingLotId, reservationId: plan.reservationId };
  if (!plan.method) return "done";
  const customer = plan.customer ? await helpers.customerOf(plan.customer) : undefined;
  if (customer && !customer.ok) return helpers.failed(customer, plan);
  const held = await deps.provider.authorizeOffSession({
    amount: plan.amount,
    currency: plan.currency,
    paymentMethod: plan.method,
    ...(customer ? { customer: customer.value } : {}),
    metadata: metadataOf(plan),
    idempotencyKey: stepKey(plan.eventId, "authorize"),
  });
  if (!held.ok) return helpers.failed(held, plan);
  const { intentId, amount, status, clientSecret } = held.value;
  const cause = { correlationId: plan.correlationId, causationId: plan.eventId };
  const waits = status === "pending" && clientSecret !== undefined && plan.startsAt !== undefined;
  if (status === "pending" && !waits)
    return helpers.failed(
      { ok: false, kind: "declined", code: "authentication_required", message: "" },
      plan,
    );
  if (waits) await deps.keepClientSecret(plan, clientSecret);
  const sent = await deps.send(
    {
      type: "AuthorizePayment",
      ...lot,
      intentId,
      amount: waits ? plan.amount : amount,
      currency: plan.currency,
      ...(waits ? { actionDeadline: plan.startsAt } : {}),
      now: deps.now(),
    },
    cause,
  );
  if (sent.ok) return "done";
  return helpers.release({ ...lot, intentId }, stepKey(plan.eventId, "release"), cause);
}

/**
 * Issue 71: the stay's start came while the hold still waited for its customer: the payment fails
 * (`authentication_required`: the booking is canceled, its spot released), then the intent no one
 * completed is canceled at the provider (a retry asks the same). The race with the customer
 * completing it at that moment is decided by the payment's stream (its expected revision): an
 * authorization recorded first stands (the failure records nothing, the hold is kept); a failure
 * recorded first refuses the authorization that comes after, whose hold the webhook route releases.
 */
export async function deadlinePassed(
  plan: HoldWork,
  payment: PaymentState,
  deps: HoldDeps,
  helpers: HoldHelpers,
): Promise<PlanResult> {
  if (payment.kind !== "open" || payment.settled || !payment.action) return "done";
  // A later action than this plan's (the card saved, then its hold asked too): that one's plan decides.
  if (Date.parse(payment.action.deadline) > Date.parse(deps.now())) return "done";
  const lot = { parkingLotId: plan.parkingLotId, reservationId: plan.reservationId };
  const cause = { correlationId: plan.correlationId, causationId: plan.eventId };
  let after: PaymentState = payment;
  if (payment.status === "action-required") {
    const message = "The customer did not complete the authentication the card asked for before the stay.";
    const failed = await helpers.failed(
      { ok: false, kind: "declined", code: "authentication_required", message },
      plan,
    );
    if (failed !== "done") return failed;
    after = await deps.paymentState(plan.parkingLotId, plan.reservationId);
  }
  // Saving the card never completed (its SetupIntent, nothing held) is canceled at the provider too.
  const { intentId } = payment.action;
  if (after.kind !== "open" || after.status !== "failed" || after.releasedIntents.includes(intentId))
    return "done";
  return helpers.release({ ...lot, intentId }, stepKey(plan.eventId, "release"), cause);
}
