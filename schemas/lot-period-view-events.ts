import { Type } from "@sinclair/typebox";
import { ParkingLotId, ReservationId, Timestamp } from "./common.js";
import { byType, defineEvent } from "./event-definition.js";

const strict = { additionalProperties: false } as const;

/** A read model's document as its projection wrote it (without `_id`): open, the projection owns its shape. */
const ViewDocument = Type.Object({}, { additionalProperties: true });

/**
 * Issue 48, item 3 (retired by issue 68): the read side's view of a lot at the opening of its
 * period `period` (k ≥ 1), which a reactor appended to a side stream of its own,
 * `lotPeriodView-{lot}/{k}` (no lot's stream), for time travel to start from. Nothing writes nor
 * reads it any more (a lot as of a moment is its state: docs/domain.md, "Time travel"); the type
 * stays defined so that a log holding one still decodes for every reader of the whole log (the
 * control center's fold as of a moment, replays, rebuilds), which decode each event they meet.
 * `lot`: a lot's document; `reservations`: documents of the reservations the opening carried,
 * without customer or plate (nothing personal).
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
