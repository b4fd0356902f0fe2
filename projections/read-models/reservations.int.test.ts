import { afterEach, describe, expect, it } from "vitest";
import type { DomainEvent } from "../../schemas/events.js";
import { type ProjectionOutcome, projectionSpec } from "../../test-support/projection-spec.js";
import { HELD_OPEN_ENDED, reservationsProjection } from "./reservations.js";

const spec = projectionSpec(reservationsProjection);
const who = { reservationId: "R1", parkingLotId: "L1", customerId: "CUST1" };
const reserved = (window?: { startsAt: string; endsAt: string }): DomainEvent => ({
  type: "ParkingReserved",
  data: { ...who, carNumber: "12가3456", amount: 5000, reservedAt: "2026-11-22T09:00:00.000Z", ...window },
});
const window = { startsAt: "2026-11-22T10:00:00.000Z", endsAt: "2026-11-22T12:00:00.000Z" };

describe("reservations projection (spec: events in, documents out)", () => {
  let outcome: ProjectionOutcome | undefined;
  afterEach(async () => {
    await outcome?.close();
    outcome = undefined;
  });

  it("given an open-ended booking, holds its spot from when it was made, with no end", async () => {
    outcome = await spec.given(reserved());
    await outcome.expectDocuments({
      reservations: [
        {
          _id: "R1",
          ...who,
          carNumber: "12가3456",
          amount: 5000,
          reservedAt: "2026-11-22T09:00:00.000Z",
          status: "RESERVED",
          seq: 1,
          position: "1",
          heldFrom: "2026-11-22T09:00:00.000Z",
          heldUntil: HELD_OPEN_ENDED,
        },
      ],
    });
  });

  it("given a window canceled before it starts, holds nothing past the cancellation", async () => {
    outcome = await spec.given(reserved(window), {
      type: "ReservationCanceled",
      data: { ...who, reason: "plans changed", canceledAt: "2026-11-22T09:30:00.000Z" },
    });
    const [doc] = await outcome.documents("reservations");
    expect(doc).toMatchObject({
      status: "CANCELED",
      cancelReason: "plans changed",
      heldFrom: window.startsAt,
      heldUntil: "2026-11-22T09:30:00.000Z",
    });
  });

  it("given a stay checked in and out early, with its coupon issued then revoked", async () => {
    const coupon = { couponId: "CPN1", ...who };
    outcome = await spec.given(
      reserved(window),
      { type: "ReservationCheckedIn", data: { ...who, checkedInAt: "2026-11-22T10:05:00.000Z" } },
      { type: "CouponIssued", data: { ...coupon, issuedAt: "2026-11-22T10:06:00.000Z" } },
      { type: "ReservationCheckedOut", data: { ...who, checkedOutAt: "2026-11-22T11:00:00.000Z" } },
      { type: "CouponRevoked", data: { ...coupon, revokedAt: "2026-11-22T11:01:00.000Z" } },
    );
    const [doc] = await outcome.documents("reservations");
    expect(doc).toMatchObject({
      status: "COMPLETED",
      checkedInAt: "2026-11-22T10:05:00.000Z",
      checkedOutAt: "2026-11-22T11:00:00.000Z",
      heldUntil: "2026-11-22T11:00:00.000Z",
      coupon: {
        couponId: "CPN1",
        status: "REVOKED",
        issuedAt: "2026-11-22T10:06:00.000Z",
        revokedAt: "2026-11-22T11:01:00.000Z",
      },
    });
  });

  it("given a window that ended without the car, marks it NO_SHOW and keeps the span it held", async () => {
    outcome = await spec.given(reserved(window), {
      type: "ReservationNoShow",
      data: { ...who, ...window, recordedAt: "2026-11-22T12:00:01.000Z" },
    });
    const [doc] = await outcome.documents("reservations");
    expect(doc).toMatchObject({ status: "NO_SHOW", heldFrom: window.startsAt, heldUntil: window.endsAt });
  });
});
