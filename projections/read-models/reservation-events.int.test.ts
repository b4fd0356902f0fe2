import { afterEach, describe, expect, it } from "vitest";
import type { DomainEvent } from "../../schemas/events.js";
import { type ProjectionOutcome, projectionSpec } from "../../test-support/projection-spec.js";
import { RESERVATION_EVENTS, reservationEventsProjection } from "./reservation-events.js";

const spec = projectionSpec(reservationEventsProjection);
const who = { reservationId: "R1", parkingLotId: "L1", customerId: "CUST1" };
const at = "2026-11-22T09:00:00.000Z";
const registered: DomainEvent = {
  type: "ParkingLotRegistered",
  data: { parkingLotId: "L1", name: "Lot", capacity: 2, registeredAt: at },
} as DomainEvent;
const reserved = (reservationId: string): DomainEvent => ({
  type: "ParkingReserved",
  data: { ...who, reservationId, carNumber: "12가3456", amount: 5000, reservedAt: at },
});
const checkedIn: DomainEvent = {
  type: "ReservationCheckedIn",
  data: { ...who, checkedInAt: at },
} as DomainEvent;
const issued: DomainEvent = {
  type: "CouponIssued",
  data: { couponId: "C1", reservationId: "R1", customerId: "CUST1", issuedAt: at },
} as DomainEvent;

const gateRead = (reservationId?: string): DomainEvent => ({
  type: "GateEventRecorded",
  data: {
    eventId: `cam-${reservationId ?? "none"}`,
    parkingLotId: "L1",
    gateId: "north",
    direction: "entry",
    confidence: 0.95,
    at,
    decision: reservationId ? "open" : "deny",
    reason: reservationId ? "CheckedIn" : "NoBooking",
    ...(reservationId ? { reservationId } : {}),
    recordedAt: at,
  },
});

describe("reservation-events projection (spec: events in, documents out)", () => {
  let outcome: ProjectionOutcome | undefined;
  afterEach(async () => {
    await outcome?.close();
    outcome = undefined;
  });

  it("indexes each event naming a reservation where it is in the log, and nothing else", async () => {
    outcome = await spec.given(registered, reserved("R1"), reserved("R2"), checkedIn, issued);
    const entry = (reservationId: string, type: string, commit: number) => ({
      _id: `${reservationId}:${commit}:${commit}`,
      reservationId,
      type,
      // The spec's events are one stream's, in order (test-support/projection-spec.ts).
      stream: "spec",
      revision: commit - 1,
      commit,
      prepare: commit,
    });
    await outcome.expectDocuments({
      [RESERVATION_EVENTS]: [
        entry("R1", "ParkingReserved", 2),
        entry("R1", "ReservationCheckedIn", 4),
        entry("R1", "CouponIssued", 5),
        entry("R2", "ParkingReserved", 3),
      ],
    });
  });

  it("indexes a gate's read that concerned a reservation, and skips one that concerned none (issue 49)", async () => {
    outcome = await spec.given(registered, reserved("R1"), gateRead(), gateRead("R1"));
    await outcome.expectDocuments({
      [RESERVATION_EVENTS]: [
        {
          _id: "R1:2:2",
          reservationId: "R1",
          type: "ParkingReserved",
          stream: "spec",
          revision: 1,
          commit: 2,
          prepare: 2,
        },
        {
          _id: "R1:4:4",
          reservationId: "R1",
          type: "GateEventRecorded",
          stream: "spec",
          revision: 3,
          commit: 4,
          prepare: 4,
        },
      ],
    });
  });

  it("reads every event type whose payload names a reservation, derived from the schemas", () => {
    expect([...reservationEventsProjection.eventTypes].sort()).toEqual([
      "CouponEarned",
      "CouponIssued",
      "CouponRedeemed",
      "CouponReturned",
      "CouponRevoked",
      "DriveUpAdmitted",
      "GateEventRecorded",
      "GateReviewResolved",
      "OverstayCharged",
      "ParkingReserved",
      "PaymentActionRequired",
      "PaymentAttemptFailed",
      "PaymentAuthorized",
      "PaymentCaptured",
      "PaymentCardSaved",
      "PaymentFailed",
      "PaymentHoldLapsed",
      "PaymentIntentCreated",
      "PaymentIntentReleased",
      "PaymentRefunded",
      "PaymentReleased",
      "PaymentRequested",
      "PaymentSettlementDecided",
      "PaymentStepFailed",
      "PaymentVoidDecided",
      "ReservationCanceled",
      "ReservationCheckedIn",
      "ReservationCheckedOut",
      "ReservationConfirmed",
      "ReservationNoShow",
    ]);
  });
});
