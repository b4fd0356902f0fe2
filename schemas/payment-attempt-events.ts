import { Type } from "@sinclair/typebox";
import { IntentId, ParkingLotId, ReservationId, Timestamp } from "./common.js";
import { defineEvent } from "./event-definition.js";

/** A provider's decline code (as payment-events.ts's). */
const ProviderCode = Type.String({ minLength: 1, maxLength: 100, pattern: "^[a-z0-9_]+$" });

/**
 * Issue 71: the customer's own try on the intent they confirm with Stripe.js (a PaymentIntent, a
 * SetupIntent, or the hold before the stay that asked for them) was declined. Nothing ends: Stripe.js
 * lets them try another card on the same intent until the booking's deadline (its hold, or the
 * action's deadline), which alone fails the payment; the booking's view shows this last decline.
 */
export const PaymentAttemptFailedData = Type.Object(
  {
    reservationId: ReservationId,
    parkingLotId: ParkingLotId,
    intentId: IntentId,
    /** The provider's decline code, when it gave one. */
    code: Type.Optional(ProviderCode),
    message: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })),
    failedAt: Timestamp,
  },
  { additionalProperties: false, $id: "PaymentAttemptFailed" },
);

export const PaymentAttemptFailedEvent = defineEvent({
  type: "PaymentAttemptFailed",
  schema: PaymentAttemptFailedData,
  stream: "payment",
  recordTime: "failedAt",
  audit: (d, by) =>
    `${by} recorded that the customer's try on payment ${d.intentId} for reservation ${d.reservationId} was declined${d.code ? ` (${d.code})` : ""}; they may try another card`,
});
