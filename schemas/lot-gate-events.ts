import { Type } from "@sinclair/typebox";
import {
  GateConfidenceThreshold,
  HourlyRate,
  Identifier,
  ParkingLotId,
  ReservationId,
  Timestamp,
} from "./common.js";
import { defineEvent } from "./event-definition.js";

/**
 * The lot's own facts about its gates (issue 49, item 4), on the lot's stream like every fact of
 * schemas/lot-events.ts, which lists them among the lot's types; a gate's reads themselves are on
 * their own streams (schemas/gate-events.ts).
 */

const strict = { additionalProperties: false } as const;

/**
 * Issue 49: a car without a booking was let in at a gate: the ParkingReserved (open-ended, at
 * `hourlyRate`, for the stay's own drive-up customer) and ReservationCheckedIn appended with it, in the
 * same append, are its stay; this fact says why they happened (the lot's audit trail shows the
 * gate). `minStayMinutes`: the span a spot had to be free for.
 */
export const DriveUpAdmittedData = Type.Object(
  {
    reservationId: ReservationId,
    parkingLotId: ParkingLotId,
    gateId: Identifier,
    hourlyRate: HourlyRate,
    minStayMinutes: Type.Integer({ minimum: 1, maximum: 1440 }),
    admittedAt: Timestamp,
  },
  { ...strict, $id: "DriveUpAdmitted" },
);

export const DriveUpAdmittedEvent = defineEvent({
  type: "DriveUpAdmitted",
  schema: DriveUpAdmittedData,
  stream: "lot",
  recordTime: "admittedAt",
  audit: (d, by) =>
    `${by} let a drive-up car in at gate ${d.gateId} of lot ${d.parkingLotId}: open-ended stay ${d.reservationId} at ${d.hourlyRate} an hour, checked in (a spot was free for ${d.minStayMinutes} minutes)`,
});

/**
 * Issue 49: the confidence below which the lot's gates send a plate read to review, from then on
 * (absent before: DEFAULT_GATE_CONFIDENCE_THRESHOLD).
 */
export const ParkingLotGateConfidenceChangedData = Type.Object(
  {
    parkingLotId: ParkingLotId,
    gateConfidenceThreshold: GateConfidenceThreshold,
    previousGateConfidenceThreshold: GateConfidenceThreshold,
    changedAt: Timestamp,
  },
  { ...strict, $id: "ParkingLotGateConfidenceChanged" },
);

export const ParkingLotGateConfidenceChangedEvent = defineEvent({
  type: "ParkingLotGateConfidenceChanged",
  schema: ParkingLotGateConfidenceChangedData,
  stream: "lot",
  recordTime: "changedAt",
  audit: (d, by) =>
    `${by} changed the gate confidence threshold of lot ${d.parkingLotId} from ${d.previousGateConfidenceThreshold} to ${d.gateConfidenceThreshold}: reads below it go to review`,
});
