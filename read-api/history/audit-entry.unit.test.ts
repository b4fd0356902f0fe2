import { describe, expect, it } from "vitest";
import type { StoredDomainEvent } from "../../schemas/event-codec.js";
import { stampMsOfRaw } from "../../schemas/event-stamps.js";
import type { DomainEvent, EventType } from "../../schemas/events.js";
import { validateEvent } from "../../schemas/validation.js";
import { auditEntry } from "./audit-entry.js";

type Actor = { sub: string; role: "customer" | "operator" | "system" };
const stored = (event: DomainEvent, actor?: Actor) =>
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

  it("says what became of a booking's payment: authorized, declined, or its hold ran out", () => {
    const saga = { sub: "payment-saga", role: "system" } as const;
    const authorized = auditEntry(
      stored(
        validateEvent("PaymentAuthorized", {
          reservationId: "r-3",
          parkingLotId: "1",
          intentId: "pi_123",
          amount: 5000,
          currency: "KRW",
          authorizedAt: "2026-11-23T14:00:02.000Z",
        }),
        saga,
      ),
    );
    expect(authorized.at).toBe("2026-11-23T14:00:02.000Z");
    expect(authorized.reservationId).toBe("r-3");
    expect(authorized.summary).toBe(
      "payment-saga (system) recorded that payment pi_123 of 5000 KRW for reservation r-3 was authorized",
    );
    const declined = auditEntry(
      stored(
        validateEvent("PaymentFailed", {
          reservationId: "r-4",
          parkingLotId: "1",
          intentId: "pi_456",
          reason: "declined",
          code: "card_declined",
          failedAt: "2026-11-23T14:00:03.000Z",
        }),
        saga,
      ),
    );
    expect(declined.summary).toBe(
      "payment-saga (system) recorded that payment pi_456 for reservation r-4 was declined (card_declined)",
    );
    const expired = auditEntry(
      stored(
        validateEvent("PaymentFailed", {
          reservationId: "r-5",
          parkingLotId: "1",
          reason: "expired",
          failedAt: "2026-11-23T14:15:00.000Z",
        }),
        saga,
      ),
    );
    expect(expired.at).toBe("2026-11-23T14:15:00.000Z");
    expect(expired.summary).toBe(
      "payment-saga (system) recorded that the payment hold of reservation r-5 ran out before the payment was authorized",
    );
  });

  it("says how a paid booking's money was settled and what each step at the provider did", () => {
    const saga = { sub: "payments", role: "system" } as const;
    const ids = { reservationId: "r-7", parkingLotId: "1" };
    const summary = (type: string, data: Record<string, unknown>, actor: Actor = saga) =>
      auditEntry(stored(validateEvent(type as EventType, { ...ids, ...data }), actor)).summary;
    const settled = auditEntry(
      stored(
        validateEvent("PaymentSettlementDecided", {
          ...ids,
          intentId: "pi_7",
          currency: "KRW",
          capture: 5000,
          release: 0,
          offSession: 410,
          refund: 0,
          because: "check-out",
          decidedAt: "2026-11-23T16:00:00.000Z",
        }),
        { sub: "ops-1", role: "operator" },
      ),
    );
    expect(settled.at).toBe("2026-11-23T16:00:00.000Z");
    expect(settled.reservationId).toBe("r-7");
    expect(settled.summary).toBe(
      "ops-1 (operator) settled payment pi_7 of reservation r-7 on its check-out: capture 5000, charge 410 off-session KRW",
    );
    const refund = auditEntry(
      stored(
        validateEvent("PaymentSettlementDecided", {
          ...ids,
          intentId: "pi_7",
          currency: "KRW",
          capture: 0,
          release: 0,
          offSession: 0,
          refund: 1000,
          because: "refund",
          reason: "gate broken",
          decidedAt: "2026-11-23T17:00:00.000Z",
        }),
        { sub: "ops-1", role: "operator" },
      ),
    );
    expect(refund.reason).toBe("gate broken");
    expect(refund.summary).toBe(
      "ops-1 (operator) settled payment pi_7 of reservation r-7 on a refund: refund 1000 KRW (gate broken)",
    );
    const step = { intentId: "pi_7", settlementId: "ev-1" };
    expect(
      summary("PaymentCaptured", {
        ...step,
        amount: 5000,
        currency: "KRW",
        capturedAt: "2026-11-23T16:00:01Z",
      }),
    ).toBe("payments (system) recorded that 5000 KRW of payment pi_7 for reservation r-7 was captured");
    expect(summary("PaymentReleased", { ...step, amount: 300, releasedAt: "2026-11-23T16:00:01Z" })).toBe(
      "payments (system) recorded that 300 of payment pi_7 for reservation r-7 was released",
    );
    expect(
      summary("PaymentRefunded", {
        ...step,
        refundId: "re_1",
        amount: 1000,
        currency: "KRW",
        refundedAt: "2026-11-23T17:00:01Z",
      }),
    ).toBe(
      "payments (system) recorded that 1000 KRW of payment pi_7 for reservation r-7 was refunded (re_1)",
    );
    expect(
      summary("OverstayCharged", {
        ...step,
        intentId: "pi_8",
        amount: 410,
        currency: "KRW",
        chargedAt: "2026-11-23T16:00:02Z",
      }),
    ).toBe(
      "payments (system) recorded that 410 KRW beyond the authorization of reservation r-7 was charged off-session (pi_8)",
    );
    expect(
      summary("PaymentStepFailed", {
        settlementId: "ev-1",
        step: "overstay",
        code: "card_declined",
        message: "Your card was declined.",
        failedAt: "2026-11-23T16:00:02Z",
      }),
    ).toBe(
      "payments (system) recorded that the overstay of reservation r-7's payment failed (card_declined): Your card was declined.",
    );
  });

  it("refuses a payment fact with an unknown failure reason or a missing amount", () => {
    const base = { reservationId: "r-6", parkingLotId: "1", failedAt: "2026-11-23T14:00:00.000Z" };
    expect(() => validateEvent("PaymentFailed", { ...base, reason: "stolen" })).toThrow(/reason/);
    expect(() =>
      validateEvent("PaymentAuthorized", {
        reservationId: "r-6",
        parkingLotId: "1",
        intentId: "pi_1",
        currency: "KRW",
        authorizedAt: "2026-11-23T14:00:00.000Z",
      }),
    ).toThrow(/amount/);
  });

  it("reads a raw payload's stamp, and none from a payload that has none", () => {
    expect(stampMsOfRaw("ReservationCheckedIn", { checkedInAt: "2026-11-23T14:10:00.000Z" })).toBe(
      Date.parse("2026-11-23T14:10:00.000Z"),
    );
    expect(stampMsOfRaw("Unknown", {})).toBeNaN();
    expect(stampMsOfRaw("CouponIssued", null)).toBeNaN();
  });
});
