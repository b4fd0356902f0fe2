import { Type } from "@sinclair/typebox";
import { ParkingLotId, Reason, ReservationId, Timestamp } from "./common.js";
import { byType, defineEvent } from "./event-definition.js";

const strict = { additionalProperties: false } as const;

/**
 * Since issue 36: a customer's personal data was erased (their data keys deleted), so every
 * personal field sealed under them now reads `erased`. Recorded in the customer's own stream
 * (`customer-<subject>`), never naming them: `subject` is a keyed pseudonym of their id. The
 * reservations they held are listed so that read models rewrite exactly those documents.
 */
export const CustomerErasedData = Type.Object(
  {
    subject: Type.String({ minLength: 1, maxLength: 64, pattern: "^[A-Za-z0-9_-]+$" }),
    reservationIds: Type.Array(ReservationId, { maxItems: 100_000 }),
    parkingLotIds: Type.Array(ParkingLotId, { maxItems: 100_000 }),
    /** Why (an operator's erasure; a customer's own has none). */
    reason: Type.Optional(Reason),
    erasedAt: Timestamp,
    /**
     * The process that erased could not list the reservations (a command-api without the read
     * models): the projectors' retention reactor lists them from the reservations read model and
     * records a second erasure fact that does (projections/retention/erasure-listing.ts).
     */
    unlisted: Type.Optional(Type.Literal(true)),
  },
  { ...strict, $id: "CustomerErased" },
);

export const CustomerErasedEvent = defineEvent({
  type: "CustomerErased",
  schema: CustomerErasedData,
  stream: "customer",
  recordTime: "erasedAt",
  audit: (d, by) =>
    `${by} erased a customer's personal data (${d.reservationIds.length} reservations)${d.reason ? `: ${d.reason}` : ""}`,
});

/** The customer's facts, by type (their own stream, `customer-<subject>`). */
export const CUSTOMER_EVENTS = byType(CustomerErasedEvent);
