import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { StoredDomainEvent } from "../../schemas/event-codec.js";
import { CURRENT_SCHEMA_VERSION, type DomainEvent } from "../../schemas/events.js";
import type { ParkingLotEvent } from "../../write-side/parking-lot/decider.js";
import { bookingEndOf } from "../../write-side/payment/lot-booking.js";
import { dueOps, PAYMENT_DUE } from "./payment-due.js";
import {
  customerRefOf,
  endsOf,
  erasedOps,
  PAYMENT_CLIENT_SECRETS,
  PAYMENT_CUSTOMERS,
  PAYMENT_METHODS,
  requestsOf,
  retryDelayMs,
} from "./payment-inbox.js";

const stored = (event: DomainEvent, commit: number): StoredDomainEvent => ({
  event,
  id: `evt-${commit}`,
  streamId: "parkingLot-L1",
  revision: commit - 1,
  position: { commit, prepare: commit },
  metadata: { correlationId: "corr-1", causationId: randomUUID(), schemaVersion: CURRENT_SCHEMA_VERSION },
  createdAt: new Date(0),
});

const reserved = (reservationId: string, method?: string): DomainEvent => ({
  type: "ParkingReserved",
  data: {
    reservationId,
    parkingLotId: "L1",
    customerId: "C1",
    carNumber: "12가3456",
    amount: 2000,
    reservedAt: "2026-11-25T00:00:00.000Z",
    startsAt: "2026-11-25T01:00:00.000Z",
    endsAt: "2026-11-25T03:00:00.000Z",
    payment: {
      amount: 2000,
      currency: "KRW",
      holdUntil: "2026-11-25T00:15:00.000Z",
      ...(method ? { method } : {}),
    },
  },
});

const settlement = (
  reservationId: string,
  amounts: { capture: number; release: number; offSession: number; refund: number },
): DomainEvent => ({
  type: "PaymentSettlementDecided",
  data: {
    reservationId,
    parkingLotId: "L1",
    intentId: "pi_1",
    currency: "KRW",
    ...amounts,
    because: amounts.refund > 0 ? "refund" : "check-out",
    decidedAt: "2026-11-25T03:30:00.000Z",
  },
});

describe("the payment plans a batch queues", () => {
  const NOW = "2026-11-25T00:00:00.000Z";

  it("one payment request per paid booking, keyed by its event id, its saved method on it (issue 68 item 4: on its payment's stream)", () => {
    const requests = requestsOf([stored(reserved("R1", "pm_card_visa"), 1)], NOW);
    // Issue 71: whose method it is, by the customer's pseudonym (their provider customer), never their id.
    const customer = customerRefOf("C1");
    expect(customer).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    expect(requests).toEqual([
      {
        correlationId: "corr-1",
        command: expect.objectContaining({
          type: "RequestPayment",
          requestedBy: "evt-1",
          reservationId: "R1",
          amount: 2000,
          currency: "KRW",
          method: "pm_card_visa",
          customer,
          now: NOW,
        }),
      },
    ]);
  });

  it("a booking without payment (PAYMENTS=none) queues nothing", () => {
    const event = reserved("R2");
    const { payment: _, ...data } = event.data as Record<string, unknown>;
    expect(requestsOf([stored({ type: "ParkingReserved", data } as DomainEvent, 1)], NOW)).toEqual([]);
  });

  it("a settlement queues no plan: it makes its booking due (issue 68 item 4)", () => {
    const batch = [
      stored(reserved("R3", "pm_card_visa"), 1),
      stored(settlement("R3", { capture: 2000, release: 0, offSession: 500, refund: 0 }), 2),
      stored(settlement("R4", { capture: 0, release: 0, offSession: 0, refund: 300 }), 3),
    ];
    expect(requestsOf(batch, NOW).map(({ command }) => command.reservationId)).toEqual(["R3"]);
    const due = (id: string) => ({
      op: "update",
      collection: PAYMENT_DUE,
      id,
      upsert: true,
      update: { $set: { dueAt: NOW, attempt: 0 } },
    });
    expect(dueOps(batch, NOW)).toEqual([due("R3"), due("R4")]);
  });

  it("backs off from 0.5 s doubling to 30 s, scaled, within ±20 %", () => {
    expect(retryDelayMs(1, 1, () => 0.5)).toBe(500);
    expect(retryDelayMs(2, 1, () => 0.5)).toBe(1000);
    expect(retryDelayMs(20, 1, () => 0.5)).toBe(30_000);
    expect(retryDelayMs(20, 1, () => 0)).toBe(24_000);
    expect(retryDelayMs(20, 1, () => 1)).toBe(36_000);
    expect(retryDelayMs(3, 0.01, () => 0.5)).toBe(20);
  });
});

describe("a customer's erasure", () => {
  it("deletes the saved method and the client secret of each booking it lists, and marks their provider customer to delete", () => {
    const erased: DomainEvent = {
      type: "CustomerErased",
      data: {
        subject: "pseudonym-1",
        reservationIds: ["r1", "r2"],
        parkingLotIds: ["L1"],
        erasedAt: "2026-11-26T00:00:00.000Z",
      },
    };
    const NOW = "2026-11-26T00:00:01.000Z";
    expect(erasedOps([stored(reserved("r3", "pm_card_visa"), 1), stored(erased, 2)], NOW)).toEqual([
      ...["r1", "r2"].flatMap((id) => [
        { op: "delete", collection: PAYMENT_METHODS, id },
        { op: "delete", collection: PAYMENT_CLIENT_SECRETS, id },
      ]),
      // Issue 68 item 4: no plan: their provider customer's document is marked, for the clock work.
      {
        op: "update",
        collection: PAYMENT_CUSTOMERS,
        id: "pseudonym-1",
        update: { $set: { forgetAt: NOW, attempt: 0 } },
      },
    ]);
  });
});

describe("a booking's end (issue 48)", () => {
  const ended = (reason: string, role: "customer" | "operator" | "system"): StoredDomainEvent => {
    const event = stored(
      {
        type: "ReservationCanceled",
        data: {
          reservationId: "r-1",
          parkingLotId: "L1",
          customerId: "C1",
          reason,
          canceledAt: "2026-11-25T00:30:00.000Z",
        },
      },
      7,
    );
    return { ...event, metadata: { ...event.metadata, actor: { sub: "someone", role } } };
  };

  it("decides the settlement of a checked-out, canceled or no-show booking on its payment's stream, under an id of its own", () => {
    const checkedOut = stored(
      {
        type: "ReservationCheckedOut",
        data: {
          reservationId: "r-1",
          parkingLotId: "L1",
          customerId: "C1",
          checkedOutAt: "2026-11-25T03:30:00.000Z",
          overstayCharge: 1500,
        },
      },
      5,
    );
    // Issue 68 item 4: decided as the saga follows it (endsOf), no longer queued as a plan.
    expect(requestsOf([checkedOut], "2026-11-25T03:30:00.000Z")).toEqual([]);
    expect(endsOf([checkedOut])).toMatchObject([
      {
        eventId: "evt-5",
        endedAt: "2026-11-25T03:30:00.000Z",
        end: { because: "check-out", overstayCharge: 1500 },
      },
    ]);
    // Issue 68 item 4: a cancel queues nothing; its end decides its settlement, or the void of an
    // intent it left unpaid (PaymentVoidDecided); a cancel because the payment failed may leave one too.
    expect(requestsOf([ended("changed plans", "customer")], "2026-11-25T00:30:00.000Z")).toEqual([]);
    expect(endsOf([ended("changed plans", "customer")]).map((end) => end.eventId)).toEqual(["evt-7"]);
    expect(endsOf([ended("payment-expired", "system")])).toMatchObject([
      { eventId: "evt-7", end: { because: "operator-cancel" } },
    ]);
    // A no-show too: its window may have ended while its payment was still awaited (an open intent).
    const noShow = stored(
      {
        type: "ReservationNoShow",
        data: {
          reservationId: "r-1",
          parkingLotId: "L1",
          customerId: "C1",
          startsAt: "2026-11-25T01:00:00.000Z",
          endsAt: "2026-11-25T02:00:00.000Z",
          recordedAt: "2026-11-25T02:00:01.000Z",
        },
      },
      9,
    );
    expect(requestsOf([noShow], "2026-11-25T02:00:01.000Z")).toEqual([]);
    expect(endsOf([noShow]).map((end) => end.eventId)).toEqual(["evt-9"]);
  });

  const bookingEndOfStored = (e: StoredDomainEvent) =>
    bookingEndOf(e.event as ParkingLotEvent, e.metadata.actor?.role);

  it("says who ended it: a customer's own cancel follows the policy, anyone else's is free; a closure; nothing for a failed payment", () => {
    expect(bookingEndOfStored(ended("changed plans", "customer"))).toEqual({ because: "customer-cancel" });
    expect(bookingEndOfStored(ended("changed plans", "operator"))).toEqual({ because: "operator-cancel" });
    expect(bookingEndOfStored(ended("lot-closed", "system"))).toEqual({ because: "closure" });
    expect(bookingEndOfStored(ended("payment-failed", "system"))).toBeUndefined();
    expect(bookingEndOfStored(ended("payment-expired", "system"))).toBeUndefined();
  });
});
