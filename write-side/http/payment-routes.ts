import type { Static } from "@sinclair/typebox";
import type { Request } from "express";
import { rawBodyOf } from "../../platform/http/middleware.js";
import type { OperationHandler } from "../../platform/http/operation-routes.js";
import { invalidField, ProblemError } from "../../platform/http/problem.js";
import type { Logger } from "../../platform/logger.js";
import type { Metrics } from "../../platform/metrics.js";
import type { ParkingLotCommand } from "../../schemas/commands.js";
import type { StripeWebhookReceived } from "../../schemas/payment-requests.js";
import type { CommandRejection as Rejection } from "../payment/payment-rejections.js";
import { type CommandRouteDeps, positionOf, type Route, type Unstamped } from "./lot-term-routes.js";

/** The payments API's routes: an operator's refund, the payment provider's webhooks. */

/**
 * What a provider's webhook asks (absent: nothing): record an authorization, that the provider let
 * one go, that saving the customer's card failed, or that a refused charge was paid.
 */
export type PaymentWebhookCommand = Extract<
  Unstamped,
  { type: "AuthorizePayment" | "RecordHoldLapsed" | "FailPayment" | "RecordLateCharge" }
>;

/** Reads a provider's webhook: checks its signature against the raw body (the provider's SDK), says what it asks. */
export type PaymentWebhookReader = (
  rawBody: Buffer,
  signature: string | undefined,
) => /** `field` "body": signed, but not an event as the provider sends it (else the signature is wrong). */
  | { readonly ok: false; readonly message: string; readonly field?: "body" }
  | { readonly ok: true; readonly eventId: string; readonly command?: PaymentWebhookCommand };

/** Cancels an intent at the provider: `retryable` while it is out (the webhook answers 503, sent again). */
export type PaymentIntentReleaser = (
  intentId: string,
  idempotencyKey: string,
) => Promise<
  | { readonly ok: true; readonly released: number }
  | { readonly ok: false; readonly retryable: boolean; readonly message: string }
>;

/** What the webhook route needs besides the commands (command-routes.ts's options carry it). */
export interface PaymentWebhookSettings {
  /** PAYMENTS=stripe: reads Stripe's webhooks (without: the webhook route answers 404). */
  readonly stripeWebhooks?: PaymentWebhookReader;
  /** PAYMENTS=stripe: lets an authorization the lot did not take go at once. */
  readonly stripeRelease?: PaymentIntentReleaser;
  readonly logger?: Logger;
  readonly metrics?: Metrics;
}

type PaymentRouteDeps = Pick<CommandRouteDeps, "run" | "runAs" | "now">;

const SIGNATURE = "Stripe-Signature";

/** POST /payments/webhooks/stripe: public, the signature is the authentication; any order, any repeat. */
export const stripeWebhook =
  (
    deps: PaymentRouteDeps,
    webhooks: PaymentWebhookSettings,
  ): OperationHandler<Static<typeof StripeWebhookReceived>> =>
  async (req, res) => {
    const reader = webhooks.stripeWebhooks;
    if (!reader)
      throw new ProblemError("not-found", "Payments are off (PAYMENTS=none): no provider calls here.");
    const raw = rawBodyOf(req);
    const signature = req.get(SIGNATURE);
    const read = raw ? reader(raw, signature) : { ok: false as const, message: "the body was not read" };
    if (!read.ok && read.field === "body")
      throw invalidField(
        "body",
        read.message,
        "The event is not one the provider sends: nothing was applied.",
      );
    if (!read.ok)
      throw invalidField(
        `header.${SIGNATURE}`,
        read.message,
        `The ${SIGNATURE} header is ${signature ? "not a valid signature of this body" : "missing"}: nothing was applied.`,
      );
    let applied = false;
    if (read.command) {
      const outcome = await deps.runAs(req, { ...read.command, now: deps.now() } as ParkingLotCommand);
      // A refusal (a reservation this service does not know, a booking no longer pending, a word
      // that does not fit the booking) is an answer, not an error: Stripe must not retry it.
      applied = outcome.ok && outcome.events.length > 0;
      if (!outcome.ok) await ignored(req, deps, webhooks, read.eventId, read.command, outcome.rejection);
    }
    res.status(200).json({ received: true, eventId: read.eventId, applied });
  };

/** Why a webhook changed no booking, as the log and the counter say it. */
function ignoredReason(rejection: Rejection): string {
  if (rejection.code === "PaymentMismatch") return rejection.reason;
  if (rejection.code === "PaymentNotPending") return "not-pending";
  if (rejection.code === "ReservationNotFound" || rejection.code === "LotNotFound") return "unknown";
  return rejection.code;
}

/**
 * A signed event the lot did not take is logged with why and counted; an authorization it did not
 * take holds money for nothing, so it is released at once (whoever confirmed it) and the release
 * recorded. While the provider is out the webhook answers 503: Stripe sends it again.
 */
async function ignored(
  req: Request,
  deps: PaymentRouteDeps,
  webhooks: PaymentWebhookSettings,
  eventId: string,
  command: PaymentWebhookCommand,
  rejection: Rejection,
): Promise<void> {
  const reason = ignoredReason(rejection);
  const release = webhooks.stripeRelease;
  const { type, parkingLotId, reservationId, intentId } = command;
  const about = { eventId, type, parkingLotId, reservationId, intentId, reason };
  webhooks.metrics?.paymentWebhooksIgnored.inc({ reason });
  webhooks.logger?.warn(about, "a payment webhook changed no booking");
  // An authorization of the booking's own intent that is short or in another currency stays for
  // the booking's hold to end (its cancel releases it); any other is released now.
  if (
    command.type !== "AuthorizePayment" ||
    command.intentId.startsWith("seti_") || // a card saved, nothing held
    !release ||
    reason === "amount" ||
    reason === "currency"
  )
    return;
  const released = await release(command.intentId, `parking:webhook:${command.intentId}:release`);
  if (!released.ok && released.retryable)
    throw new ProblemError(
      "service-unavailable",
      "The payment provider is out: the authorization this webhook reports could not be released yet. Send it again later.",
    );
  if (!released.ok) {
    webhooks.logger?.error(
      { ...about, message: released.message },
      "releasing an unwanted authorization failed",
    );
    return;
  }
  const recorded = await deps.runAs(req, {
    type: "RecordIntentReleased",
    parkingLotId,
    reservationId,
    intentId: command.intentId,
    amount: released.released,
    because: "authorization-refused",
    now: deps.now(),
  });
  if (!recorded.ok)
    webhooks.logger?.warn({ ...about, code: recorded.rejection.code }, "the release was not recorded");
}

/** POST /parking-lots/{parkingLotId}/reservations/{reservationId}/refund: an operator gives money back. */
export const refundPayment =
  ({ run }: PaymentRouteDeps): Route<"refundPayment"> =>
  async (req, res, _next, { path: { parkingLotId, reservationId }, body: { amount, reason } }) => {
    const result = await run(req, { type: "RefundPayment", parkingLotId, reservationId, amount, reason });
    res.status(200).json({
      reservationId,
      parkingLotId,
      amount,
      reason,
      position: positionOf(result),
    });
  };
