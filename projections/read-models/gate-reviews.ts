import { logOrderOf } from "../../event-store/position.js";
import { defineProjection, upsertOne } from "./projection.js";

export const GATE_REVIEWS = "gate_reviews";

/** A review's document id: the read's lot and id, joined as its gate stream joins them. */
export const gateReviewId = (parkingLotId: string, eventId: string): string => `${parkingLotId}/${eventId}`;

/**
 * Issue 49, item 4: a lot's open gate reviews, newest first: one per plate read the lot's gate
 * decision sent to an attendant (`review`: LowConfidence, SeveralBookings, NoStay), with the
 * bookings it may concern, dropped once an attendant resolves it (GateReviewResolved). No plate: the read holds none (personal data stays on the reservation).
 */
export const gateReviewsProjection = defineProjection({
  name: "gate-reviews",
  // 2: `seq` is the event's prepare position (logOrderOf), unique on EventStoreDB where the
  // events of one append share their commit position.
  version: 2,
  collections: { [GATE_REVIEWS]: [{ name: "by_lot", keys: { parkingLotId: 1, seq: -1 } }] },
  on: {
    GateEventRecorded: ({ event, position }, collection) => {
      const d = event.data;
      if (d.decision !== "review") return [];
      return upsertOne(collection, GATE_REVIEWS, gateReviewId(d.parkingLotId, d.eventId), {
        $set: {
          eventId: d.eventId,
          parkingLotId: d.parkingLotId,
          gateId: d.gateId,
          direction: d.direction,
          confidence: d.confidence,
          at: d.at,
          reason: d.reason,
          candidates: d.candidates ?? [],
          seq: logOrderOf(position),
        },
      });
    },
    GateReviewResolved: ({ event }, collection) => [
      {
        op: "delete",
        collection: collection(GATE_REVIEWS),
        id: gateReviewId(event.data.parkingLotId, event.data.eventId),
      },
    ],
  },
});
