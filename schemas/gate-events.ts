import { Type } from "@sinclair/typebox";
import { Amount, Identifier, ParkingLotId, ReservationId, Timestamp } from "./common.js";
import { byType, defineEvent } from "./event-definition.js";

const strict = { additionalProperties: false } as const;

/**
 * Issue 49, item 4: what a gate's camera read led to, one per read on its own short stream
 * (`gate-{lot}/{eventId}`, appended only if it does not exist: a repeated read finds it and is
 * answered alike). Holds no plate (personal data; the check-in/out it caused names the booking).
 */
/** The most bookings a read's record names for an attendant's review (the first ones the lot finds). */
export const MAX_REVIEW_CANDIDATES = 20;

export const GateEventRecordedData = Type.Object(
  {
    eventId: Identifier,
    parkingLotId: ParkingLotId,
    gateId: Identifier,
    direction: Type.Union([Type.Literal("entry"), Type.Literal("exit")]),
    confidence: Type.Number({ minimum: 0, maximum: 1 }),
    /** When the camera read the plate (the camera's clock). */
    at: Timestamp,
    decision: Type.Union([Type.Literal("open"), Type.Literal("deny"), Type.Literal("review")]),
    /** Why: CheckedIn, CheckedOut, a refusal's code, LowConfidence, SeveralBookings, NoStay. */
    reason: Type.String({ minLength: 1, maxLength: 64 }),
    reservationId: Type.Optional(ReservationId),
    /** The bookings a review concerns (the attendant chooses among them). */
    candidates: Type.Optional(Type.Array(ReservationId, { maxItems: MAX_REVIEW_CANDIDATES })),
    /** On an exit that opened: what the stay cost. */
    price: Type.Optional(Amount),
    recordedAt: Timestamp,
  },
  { ...strict, $id: "GateEventRecorded" },
);

export const GateEventRecordedEvent = defineEvent({
  type: "GateEventRecorded",
  schema: GateEventRecordedData,
  stream: "gate",
  recordTime: "recordedAt",
  audit: (d, by) =>
    `${by} read a plate at gate ${d.gateId} of lot ${d.parkingLotId} (${d.direction}, event ${d.eventId}, confidence ${d.confidence}): ${d.decision} (${d.reason})${d.reservationId ? `, reservation ${d.reservationId}` : ""}${d.price !== undefined ? `, cost ${d.price}` : ""}`,
});

/**
 * Issue 49, item 4: an attendant settled a read the gate sent to review, appended to the read's own
 * stream at the revision of its GateEventRecorded (so of two attendants racing, one resolves it).
 * `open` checked `reservationId` in (an entry) or out (an exit) through the lot's command path
 * first; `drive-up` admitted the car (an entry without a booking) through the lot's AdmitDriveUp first,
 * `reservationId` its stay; `deny` only records the answer.
 */
export const GateReviewResolvedData = Type.Object(
  {
    eventId: Identifier,
    parkingLotId: ParkingLotId,
    action: Type.Union([Type.Literal("open"), Type.Literal("drive-up"), Type.Literal("deny")]),
    /** The booking opened, or the drive-up stay started (never the plate: personal data). */
    reservationId: Type.Optional(ReservationId),
    /** On an exit opened by hand: what the stay cost. */
    price: Type.Optional(Amount),
    resolvedAt: Timestamp,
  },
  { ...strict, $id: "GateReviewResolved" },
);

export const GateReviewResolvedEvent = defineEvent({
  type: "GateReviewResolved",
  schema: GateReviewResolvedData,
  stream: "gate",
  recordTime: "resolvedAt",
  audit: (d, by) =>
    `${by} resolved the review of gate read ${d.eventId} at lot ${d.parkingLotId}: ${d.action}${d.reservationId ? `, reservation ${d.reservationId}` : ""}${d.price !== undefined ? `, cost ${d.price}` : ""}`,
});

/** A gate's reads, by type (each on its own stream, `gate-{lot}/{eventId}`). */
export const GATE_EVENTS = byType(GateEventRecordedEvent, GateReviewResolvedEvent);
