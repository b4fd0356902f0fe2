import { Type } from "@sinclair/typebox";
import { IntentId, ParkingLotId, ReservationId, Timestamp } from "./common.js";
import { defineEvent } from "./event-definition.js";

/**
 * Issue 68 item 4: the booking ended (canceled, a no-show) while the intent it recorded was not
 * authorized: the intent is canceled at the provider, so nothing stays held and no one can confirm
 * it late. Decided by the booking's end as the payments process manager follows it, once per
 * intent; `endedBy` is the id of the lot's fact that ended it (the cancel's idempotency key,
 * `parking:{endedBy}:void`, derives from it). PaymentIntentReleased (`booking-ended`) follows.
 */
export const PaymentVoidDecidedData = Type.Object(
  {
    reservationId: ReservationId,
    parkingLotId: ParkingLotId,
    intentId: IntentId,
    /** An event id (as a settlement's). */
    endedBy: Type.String({ minLength: 1, maxLength: 100, pattern: "^[A-Za-z0-9_.:-]+$" }),
    decidedAt: Timestamp,
  },
  { additionalProperties: false, $id: "PaymentVoidDecided" },
);

export const PaymentVoidDecidedEvent = defineEvent({
  type: "PaymentVoidDecided",
  schema: PaymentVoidDecidedData,
  stream: "payment",
  recordTime: "decidedAt",
  audit: (d, by) =>
    `${by} decided that payment ${d.intentId}, left unpaid by the end of reservation ${d.reservationId}, is canceled at the provider`,
});
