import type { Logger } from "../../platform/logger.js";
import type { ParkingLotState } from "../../write-side/parking-lot/decider.js";
import { awaitingPayment } from "../../write-side/parking-lot/payments.js";
import {
  type AuthorizeWork,
  type HoldDeps,
  type HoldHelpers,
  metadataOf,
  type PlanResult,
  saveForLater,
} from "./hold-steps.js";
import { stepKey } from "./provider.js";

/** What the authorization uses of payment-steps.ts's StepDeps. */
export interface AuthorizeDeps extends HoldDeps {
  readonly logger: Pick<Logger, "debug" | "info" | "error">;
  /** The lot's state now: whether the booking still waits for its payment. */
  readonly lotState: (parkingLotId: string) => Promise<ParkingLotState>;
}

/**
 * A booking's authorization, as Stripe documents it for the case: the intent is created
 * (unconfirmed) only while the booking still waits for its payment, recorded on the lot (the one
 * intent whose authorization counts), then confirmed server-side with a saved method, or handed
 * to the customer (client secret) to confirm; 3-D Secure leaves it pending with its client secret.
 */
export async function authorizeBooking(
  plan: AuthorizeWork,
  deps: AuthorizeDeps,
  helpers: HoldHelpers,
): Promise<PlanResult> {
  const { provider, send } = deps;
  const cause = { correlationId: plan.correlationId, causationId: plan.eventId };
  const lot = { parkingLotId: plan.parkingLotId, reservationId: plan.reservationId };
  if (!awaitingPayment(await deps.lotState(plan.parkingLotId), plan.reservationId)) {
    deps.logger.debug(lot, "the booking no longer waits for its payment: no intent created");
    return "done";
  }
  // Every card is saved to the customer's provider customer, for what is charged later: a
  // saved method, a far stay's (a SetupIntent), and one its customer confirms with Stripe.js (the
  // intent's `setup_future_usage`; its authorization's webhook names the card, recorded sealed).
  const customer = plan.customer ? await helpers.customerOf(plan.customer) : undefined;
  if (customer && !customer.ok) return helpers.failed(customer, plan);
  if (customer && plan.authorizeAt) {
    return saveForLater(plan, plan.method, customer.value, plan.authorizeAt, deps, helpers);
  }
  const created = await provider.createIntent({
    amount: plan.amount,
    currency: plan.currency,
    ...(plan.method ? { paymentMethod: plan.method } : {}),
    ...(customer ? { customer: customer.value } : {}),
    metadata: metadataOf(plan),
    idempotencyKey: stepKey(plan.eventId, "authorize"),
  });
  if (!created.ok) return helpers.failed(created, plan);
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
    cause,
  );
  if (!recorded.ok) {
    // The booking stopped waiting meanwhile: the intent no one will use is canceled at once.
    const intent = { ...lot, intentId };
    return helpers.release(intent, stepKey(plan.eventId, "void"), cause, "booking-ended");
  }
  const outcome = plan.method
    ? await provider.confirm(intentId, plan.method, stepKey(plan.eventId, "confirm"))
    : created;
  if (!outcome.ok) return helpers.failed(outcome, plan, intentId);
  const { status, amount } = outcome.value;
  // Waiting for the customer (clientSecret, 3-D Secure): the provider's webhook authorizes it.
  if (status === "pending") {
    if (outcome.value.clientSecret) await deps.keepClientSecret(plan, outcome.value.clientSecret);
    return "done";
  }
  const sent = await send(
    { type: "AuthorizePayment", ...lot, intentId, amount, currency: plan.currency, now: deps.now() },
    cause,
  );
  if (sent.ok) return "done";
  // The lot did not take it (PaymentNotPending: the hold ran out or the booking was canceled
  // first; anything else it refuses): nothing may stay held for it, so it is let go.
  if (sent.code !== "PaymentNotPending")
    deps.logger.error(
      { ...lot, intentId, code: sent.code },
      "the lot refused an authorization; releasing it",
    );
  return helpers.release({ ...lot, intentId }, stepKey(plan.eventId, "release"), cause);
}
