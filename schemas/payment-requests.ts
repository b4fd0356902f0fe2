import { type Static, Type } from "@sinclair/typebox";
import { PLAIN_TEXT_NOT_BLANK_PATTERN, PLAIN_TEXT_RULE } from "../platform/plain-text.js";
import { Amount, ParkingLotId, PositionString, Reason, ReservationId } from "./common.js";

/** The payments API's requests and answers (issue 38): the operator's refund, Stripe's webhooks. */

/** An operator's refund of a captured payment: how much (at most what was captured and not refunded) and why. */
export const RefundPaymentBody = Type.Object(
  {
    amount: Type.Integer({
      ...Amount,
      minimum: 1,
      description:
        "What to give back, in the currency's minor unit: at most what was captured less what was refunded already (else 409 `refund-exceeds-captured`).",
      examples: [3000],
    }),
    reason: Type.String({
      ...Reason,
      pattern: PLAIN_TEXT_NOT_BLANK_PATTERN,
      description: `Why it is refunded (recorded in the fact, shown in the audit trail). Plain text: ${PLAIN_TEXT_RULE}.`,
    }),
  },
  { additionalProperties: false, $id: "RefundPaymentBody" },
);
export type RefundPaymentBody = Static<typeof RefundPaymentBody>;

export const PaymentRefundAccepted = Type.Object(
  {
    reservationId: ReservationId,
    parkingLotId: ParkingLotId,
    amount: Amount,
    reason: Reason,
    position: PositionString,
  },
  {
    $id: "PaymentRefundAccepted",
    description:
      "The refund is decided (a PaymentSettlementDecided in the log); the payments process manager asks the provider for it and records PaymentRefunded (or PaymentStepFailed) on the reservation.",
  },
);

/** A Stripe event as Stripe posts it (only what the service reads is checked; the signature is what counts). */
export const StripeWebhookEvent = Type.Object(
  {
    id: Type.String({ minLength: 1, maxLength: 255, examples: ["evt_1NG8Du2eZvKYlo2CUI79vXWy"] }),
    object: Type.Literal("event"),
    type: Type.String({
      minLength: 1,
      maxLength: 255,
      examples: ["payment_intent.amount_capturable_updated"],
    }),
    data: Type.Object(
      { object: Type.Object({}, { additionalProperties: true }) },
      { additionalProperties: true },
    ),
  },
  { additionalProperties: true, $id: "StripeWebhookEvent" },
);

export const StripeWebhookReceived = Type.Object(
  {
    received: Type.Literal(true),
    eventId: Type.String({ description: "Stripe's event id." }),
    applied: Type.Boolean({
      description:
        "Whether it changed anything: false for a type the service does not act on, a repeat, or an event that came after the fact it reports was recorded (the lot decides; any order is fine).",
    }),
  },
  { $id: "StripeWebhookReceived" },
);

/** Stripe's `Stripe-Signature` header: `t=<timestamp>,v1=<HMAC-SHA256 of "t.body">`. */
export const StripeSignature = Type.String({
  minLength: 1,
  maxLength: 2000,
  examples: ["t=1700000000,v1=5257a8..."],
});
