import type { Request } from "express";
import { formatPosition } from "../../event-store/position.js";
import { rawBodyOf } from "../../platform/http/middleware.js";
import { bodyOf, type HandlerOf, pathParam } from "../../platform/http/operation-routes.js";
import { ProblemError } from "../../platform/http/problem.js";
import type { AuthorizePayment, FailPayment, ParkingLotCommand } from "../../schemas/commands.js";
import { RefundPaymentBody } from "../../schemas/payment-requests.js";
import type { CommandOutcome } from "../command-handler.js";
import { type Caller, callerOf } from "./access.js";
import type { COMMAND_OPERATIONS } from "./operations.js";

/** The payments API's routes (issue 38): an operator's refund, the payment provider's webhooks. */

type Accepted = Extract<CommandOutcome, { ok: true }>;

/** What a provider's webhook asks of the lot (absent: an event the service does not act on). */
export type PaymentWebhookCommand = Omit<AuthorizePayment, "now"> | Omit<FailPayment, "now">;

/**
 * Reads a provider's webhook: checks its signature against the raw body (the provider's SDK), and
 * says what it asks of the lot. `invalid`: the signature is missing or does not match (nothing is
 * applied).
 */
export type PaymentWebhookReader = (
  rawBody: Buffer,
  signature: string | undefined,
) =>
  | { readonly ok: false; readonly message: string }
  | { readonly ok: true; readonly eventId: string; readonly command?: PaymentWebhookCommand };

export interface PaymentRouteDeps {
  readonly run: (req: Request, command: ParkingLotCommand, caller?: Caller) => Promise<Accepted>;
  readonly runAs: (req: Request, command: ParkingLotCommand) => Promise<CommandOutcome>;
  readonly now: () => string;
}

const SIGNATURE = "Stripe-Signature";

/** POST /payments/webhooks/stripe: public, the signature is the authentication; any order, any repeat. */
export const stripeWebhook =
  (
    deps: PaymentRouteDeps,
    reader: PaymentWebhookReader | undefined,
  ): HandlerOf<typeof COMMAND_OPERATIONS, "stripeWebhook"> =>
  async (req, res) => {
    if (!reader)
      throw new ProblemError("not-found", "Payments are off (PAYMENTS=none): no provider calls here.");
    const raw = rawBodyOf(req);
    const signature = req.get(SIGNATURE);
    const read = raw ? reader(raw, signature) : { ok: false as const, message: "the body was not read" };
    if (!read.ok)
      throw new ProblemError(
        "validation",
        `The ${SIGNATURE} header is ${signature ? "not a valid signature of this body" : "missing"}: nothing was applied.`,
        { errors: [{ field: `header.${SIGNATURE}`, message: read.message }] },
      );
    let applied = false;
    if (read.command) {
      const outcome = await deps.runAs(req, { ...read.command, now: deps.now() } as ParkingLotCommand);
      // A refusal (a reservation this service does not know, a booking no longer pending) is an
      // answer, not an error: Stripe must not retry it.
      applied = outcome.ok && outcome.events.length > 0;
    }
    res.status(200).json({ received: true, eventId: read.eventId, applied });
  };

/** POST /parking-lots/{parkingLotId}/reservations/{reservationId}/refund: an operator gives money back. */
export const refundPayment =
  (deps: PaymentRouteDeps): HandlerOf<typeof COMMAND_OPERATIONS, "refundPayment"> =>
  async (req, res) => {
    const parkingLotId = pathParam(req, "parkingLotId");
    const reservationId = pathParam(req, "reservationId");
    const { amount, reason } = bodyOf(req, RefundPaymentBody);
    const result = await deps.run(
      req,
      { type: "RefundPayment", parkingLotId, reservationId, amount, reason, now: deps.now() },
      callerOf(req),
    );
    res.status(200).json({
      reservationId,
      parkingLotId,
      amount,
      reason,
      position: result.position ? formatPosition(result.position) : "0",
    });
  };
