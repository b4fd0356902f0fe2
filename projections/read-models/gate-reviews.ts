import { logOrderOf } from "../../event-store/position.js";
import { defineProjection, upsertOne } from "./projection.js";

export const GATE_REVIEWS = "gate_reviews";

/** A review's document id: the read's lot and id, joined as its gate stream joins them. */
export const gateReviewId = (parkingLotId: string, eventId: string): string => `${parkingLotId}/${eventId}`;

/**
 * A lot's open gate reviews, newest first: one per plate read its gate sent to an attendant, with
 * the bookings it may concern, until resolved. No plate: personal data stays on the reservation.
 */
export const gateReviewsProjection = defineProjection({
  name: "gate-reviews",
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
