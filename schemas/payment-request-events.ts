import { Type } from "@sinclair/typebox";
import {
  Amount,
  Currency,
  CustomerId,
  ParkingLotId,
  PaymentMethodId,
  Personal,
  ReservationId,
  Timestamp,
} from "./common.js";
import { byType, defineEvent } from "./event-definition.js";

/**
 * Issue 68 item 4: a booking asked to be paid (its lot's ParkingReserved with `payment`): the
 * payments process manager's inbox, the first fact of the payment's stream, appended as the
 * process follows the booking (once: `requestedBy`, the lot's fact, roots every key of the
 * authorization's steps, `parking:{requestedBy}:authorize`, as the authorize plans' did). What to
 * authorize (`amount`, `currency`), until when the spot waits for it (`holdUntil`), the card given
 * at booking (`method`, personal, sealed under its customer's key `customerId` as
 * PaymentIntentCreated's), the customer's pseudonym (`customer`: their provider customer is kept
 * under it) and, for a stay beyond a hold's lifetime, when its saved card is held (`authorizeAt`).
 */
export const PaymentRequestedData = Type.Object(
  {
    reservationId: ReservationId,
    parkingLotId: ParkingLotId,
    /** The id of the lot's fact that asked (as a settlement's). */
    requestedBy: Type.String({ minLength: 1, maxLength: 100, pattern: "^[A-Za-z0-9_.:-]+$" }),
    amount: Amount,
    currency: Currency,
    holdUntil: Type.Optional(Timestamp),
    customerId: Personal(CustomerId),
    method: Type.Optional(Personal(PaymentMethodId)),
    customer: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    authorizeAt: Type.Optional(Timestamp),
    requestedAt: Timestamp,
  },
  { additionalProperties: false, $id: "PaymentRequested" },
);

export const PaymentRequestedEvent = defineEvent({
  type: "PaymentRequested",
  schema: PaymentRequestedData,
  stream: "payment",
  recordTime: "requestedAt",
  audit: (d, by) =>
    `${by} recorded that reservation ${d.reservationId} asks for ${d.amount} ${d.currency} to be authorized${d.authorizeAt ? ` (its card saved now, held at ${d.authorizeAt})` : ""}`,
});

/** The process's inbox facts, by type: on a payment's own stream (schemas/events.ts registers them). */
export const PAYMENT_REQUEST_EVENTS = byType(PaymentRequestedEvent);
