import { describe, expect, it } from "vitest";
import type { StoredDomainEvent } from "../../schemas/event-codec.js";
import type { DomainEvent } from "../../schemas/events.js";
import { auditEntry, stampMsOfRaw } from "./audit-entry.js";

const stored = (event: DomainEvent, actor?: { sub: string; role: "customer" | "operator" | "system" }) =>
  ({
    event,
    id: "e1",
    streamId: "parkingLot-1",
    revision: 3,
    position: { commit: 42, prepare: 42 },
    metadata: {
      correlationId: "corr-1",
      causationId: "cmd-1",
      schemaVersion: 1,
      ...(actor ? { actor } : {}),
    },
    createdAt: new Date(0),
  }) as StoredDomainEvent;

describe("an audit entry", () => {
  it("says who canceled which reservation, when and why", () => {
    const entry = auditEntry(
      stored(
        {
          type: "ReservationCanceled",
          data: {
            reservationId: "r-1",
            parkingLotId: "1",
            customerId: "CUST1",
            reason: "lot-closed",
            canceledAt: "2026-11-23T14:05:00+00:00",
          },
        },
        { sub: "ops-1", role: "operator" },
      ),
    );
    expect(entry).toEqual({
      position: "42",
      streamId: "parkingLot-1",
      at: "2026-11-23T14:05:00.000Z",
      type: "ReservationCanceled",
      actor: { sub: "ops-1", role: "operator" },
      reason: "lot-closed",
      reservationId: "r-1",
      correlationId: "corr-1",
      causationId: "cmd-1",
      summary: "ops-1 (operator) canceled reservation r-1 of customer CUST1: lot-closed",
    });
  });

  it("names the system process, and a booking made on a customer's behalf", () => {
    const booked = auditEntry(
      stored(
        {
          type: "ParkingReserved",
          data: {
            reservationId: "r-2",
            parkingLotId: "1",
            customerId: "CUST2",
            carNumber: "10더8612",
            amount: 5000,
            reservedAt: "2026-11-23T14:00:00.000Z",
          },
        },
        { sub: "ops-1", role: "operator" },
      ),
    );
    expect(booked.summary).toBe(
      "ops-1 (operator) reserved r-2 for customer CUST2 in lot 1, car 10더8612, open-ended, amount 5000",
    );
    const coupon = auditEntry(
      stored(
        {
          type: "CouponIssued",
          data: {
            couponId: "c-2",
            reservationId: "r-2",
            parkingLotId: "1",
            customerId: "CUST2",
            issuedAt: "2026-11-23T14:00:01.000Z",
          },
        },
        { sub: "coupon-policy", role: "system" },
      ),
    );
    expect(coupon.summary).toBe("coupon-policy (system) issued coupon c-2 for reservation r-2");
  });

  it("says so when a fact predates recorded actors", () => {
    const entry = auditEntry(
      stored({
        type: "ParkingLotCapacityChanged",
        data: { parkingLotId: "1", capacity: 5, previousCapacity: 3, changedAt: "2026-11-23T09:00:00.000Z" },
      }),
    );
    expect(entry.actor).toBeUndefined();
    expect(entry.summary).toBe("someone (not recorded) changed the capacity of lot 1 from 3 to 5");
  });

  it("reads a raw payload's stamp, and none from a payload that has none", () => {
    expect(stampMsOfRaw("ReservationCheckedIn", { checkedInAt: "2026-11-23T14:10:00.000Z" })).toBe(
      Date.parse("2026-11-23T14:10:00.000Z"),
    );
    expect(stampMsOfRaw("Unknown", {})).toBeNaN();
    expect(stampMsOfRaw("CouponIssued", null)).toBeNaN();
  });
});
