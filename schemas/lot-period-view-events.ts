import { Type } from "@sinclair/typebox";
import { ParkingLotId, ReservationId, Timestamp } from "./common.js";
import { byType, defineEvent } from "./event-definition.js";

const strict = { additionalProperties: false } as const;

/** A read model's document as its projection wrote it (without `_id`): open, the projection owns its shape. */
const ViewDocument = Type.Object({}, { additionalProperties: true });

/**
 * Issue 48, item 3: the read side's view of a lot at the opening of its period `period` (k ≥ 1),
 * appended once by the lot-period-view reactor (projections/lot-period-view/) to a side stream of
 * its own, `lotPeriodView-{lot}/{k}` (no lot's stream: the lot's decider, projections, history and
 * audit never read it), so that time travel can start a view of the lot at that opening (docs/
 * domain.md, "Time travel"). Read side only: no decision reads it. `lot`: the lot's document
 * (projections/read-models/parking-lots.ts: its registration instant, counters, the closures not
 * over with their reasons and the cars in the lot when each began). `reservations`: the document
 * (projections/read-models/reservations.ts) of each reservation the opening carries, its booking
 * position and times, without its customer and plate (those are the opening's records', sealed
 * there), so it holds no personal value and needs no erasure.
 */
export const LotPeriodViewRecordedData = Type.Object(
  {
    parkingLotId: ParkingLotId,
    period: Type.Integer({ minimum: 1 }),
    recordedAt: Timestamp,
    lot: ViewDocument,
    reservations: Type.Array(Type.Object({ reservationId: ReservationId }, { additionalProperties: true })),
  },
  { ...strict, $id: "LotPeriodViewRecorded" },
);

export const LotPeriodViewRecordedEvent = defineEvent({
  type: "LotPeriodViewRecorded",
  schema: LotPeriodViewRecordedData,
  stream: "lotView",
  recordTime: "recordedAt",
  audit: (d, by) =>
    `${by} recorded the read side's view of lot ${d.parkingLotId} at the opening of period ${d.period} (${d.reservations.length} reservations carried)`,
});

/** The read side's views of the lots' periods, by type (each on its own stream, `lotPeriodView-{lot}/{k}`). */
export const LOT_PERIOD_VIEW_EVENTS = byType(LotPeriodViewRecordedEvent);
