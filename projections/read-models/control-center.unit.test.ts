import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { applyUpdate, type MutableDocument } from "../../document-store/embedded/update-semantics.js";
import type { StoredDomainEvent } from "../../schemas/event-codec.js";
import type { DomainEvent } from "../../schemas/events.js";
import {
  activityId,
  CLOSURE_ID_END,
  CLOSURE_PREFIX,
  closureId,
  controlCenterProjection,
  minuteOf,
  TOTALS_ID,
} from "./control-center.js";

/** Folds the projection's writes for `events` into documents, the way a store applies them. */
function project(events: readonly DomainEvent[]): Map<string, MutableDocument> {
  const docs = new Map<string, MutableDocument>();
  events.forEach((event, i) => {
    const stored = { event, position: { commit: i + 1, prepare: i + 1 } } as StoredDomainEvent;
    for (const op of controlCenterProjection.apply(stored, (logical) => logical)) {
      if (op.op !== "update") throw new Error(`unexpected ${op.op}`);
      const { doc } = applyUpdate(docs.get(op.id) ?? null, op.id, op.update, op.upsert ?? false);
      if (doc) docs.set(op.id, doc);
    }
  });
  return docs;
}

const reserved = (reservationId: string, reservedAt: string): DomainEvent => ({
  type: "ParkingReserved",
  data: {
    reservationId,
    parkingLotId: "1",
    customerId: "CUST1",
    carNumber: "10더8612",
    amount: 5000,
    reservedAt,
  },
});
const canceled = (reservationId: string, canceledAt: string): DomainEvent => ({
  type: "ReservationCanceled",
  data: { reservationId, parkingLotId: "1", customerId: "CUST1", reason: "plans changed", canceledAt },
});

describe("control-center projection: activity per minute", () => {
  it("given reservations in one minute and a cancellation in the next, counts each in its own minute", () => {
    const docs = project([
      reserved("r1", "2026-11-22T11:05:00.000Z"),
      reserved("r2", "2026-11-22T11:05:59.999Z"),
      canceled("r1", "2026-11-22T11:06:00.000Z"),
    ]);
    expect(docs.get(activityId("2026-11-22T11:05"))).toEqual({
      _id: "minute:2026-11-22T11:05",
      minute: "2026-11-22T11:05",
      reserved: 2,
      canceled: 0,
    });
    expect(docs.get(activityId("2026-11-22T11:06"))).toMatchObject({ reserved: 0, canceled: 1 });
    expect(docs.get(TOTALS_ID)).toMatchObject({ totalReservations: 2, canceledReservations: 1 });
  });

  it("normalizes timestamps with an offset to their UTC minute", () => {
    expect(minuteOf("2026-11-22T20:05:30+09:00")).toBe("2026-11-22T11:05");
  });

  it("per-minute counts always add up to the totals, and minute ids sort as time does", () => {
    const instant = fc
      .integer({ min: Date.UTC(2026, 0, 1), max: Date.UTC(2026, 0, 1, 3) })
      .map((ms) => new Date(ms).toISOString());
    const step = fc.record({ cancel: fc.boolean(), at: instant });
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
        const events = steps.map((s, i) => (s.cancel ? canceled(`r${i}`, s.at) : reserved(`r${i}`, s.at)));
        const docs = project(events);
        const minutes = [...docs.values()].filter((d) => d._id.startsWith("minute:"));
        const sum = (field: string) => minutes.reduce((n, d) => n + Number(d[field]), 0);
        expect(sum("reserved")).toBe(steps.filter((s) => !s.cancel).length);
        expect(sum("canceled")).toBe(steps.filter((s) => s.cancel).length);
        const byId = [...minutes].sort((a, b) => (a._id < b._id ? -1 : 1)).map((d) => d.minute);
        const byTime = [...minutes]
          .sort((a, b) => Date.parse(`${a.minute}Z`) - Date.parse(`${b.minute}Z`))
          .map((d) => d.minute);
        expect(byId).toEqual(byTime);
      }),
    );
  });
});

describe("control-center projection: what the query side needs for the figures of the moment", () => {
  it("counts the open-ended reservations holding a spot (not windows), released by a cancellation or a check-out", () => {
    const window = { startsAt: "2026-12-01T10:00:00.000Z", endsAt: "2026-12-01T12:00:00.000Z" };
    const reservedAt = "2026-11-22T11:00:00.000Z";
    const openEnded = (id: string) => reserved(id, reservedAt);
    const windowed = (id: string): DomainEvent => {
      const event = reserved(id, reservedAt);
      return { ...event, data: { ...event.data, ...window } } as DomainEvent;
    };
    const checkedOut = (id: string, extra: object = {}): DomainEvent => ({
      type: "ReservationCheckedOut",
      data: {
        reservationId: id,
        parkingLotId: "1",
        customerId: "CUST1",
        checkedOutAt: "2026-11-22T12:00:00.000Z",
        ...extra,
      },
    });
    const canceledWindow = (id: string): DomainEvent => {
      const event = canceled(id, "2026-11-22T11:30:00.000Z");
      return { ...event, data: { ...event.data, ...window } } as DomainEvent;
    };
    const docs = project([
      openEnded("o1"),
      openEnded("o2"),
      openEnded("o3"),
      windowed("w1"),
      windowed("w2"),
      windowed("w3"),
      canceled("o1", "2026-11-22T11:30:00.000Z"),
      checkedOut("o2"),
      canceledWindow("w1"),
      checkedOut("w2", window),
    ]);
    expect(docs.get(TOTALS_ID)).toMatchObject({
      openEndedHeld: 1,
      totalReservations: 6,
      canceledReservations: 2,
    });
  });

  it("keeps one document per closure, its id ordered by when the closure ends", () => {
    const closed = (closureId: string, from: string, until: string): DomainEvent => ({
      type: "ParkingLotClosed",
      data: {
        parkingLotId: "1",
        closureId,
        from,
        until,
        reason: "도색 공사",
        closedAt: "2026-11-22T09:00:00.000Z",
      },
    });
    const docs = project([
      closed("c1", "2026-11-23T13:00:00.000Z", "2026-11-23T15:00:00.000Z"),
      closed("c2", "2026-11-22T10:00:00.000Z", "2026-11-22T12:00:00.000Z"),
    ]);
    const closures = [...docs.values()].filter((d) => d._id >= CLOSURE_PREFIX && d._id < CLOSURE_ID_END);
    expect(closures.map((d) => d._id).sort()).toEqual([
      closureId("2026-11-22T12:00:00.000Z", "1", "c2"),
      closureId("2026-11-23T15:00:00.000Z", "1", "c1"),
    ]);
    expect(docs.get(closureId("2026-11-23T15:00:00.000Z", "1", "c1"))).toMatchObject({
      parkingLotId: "1",
      from: "2026-11-23T13:00:00.000Z",
      until: "2026-11-23T15:00:00.000Z",
    });
    // The totals document does not grow with closures.
    expect(docs.get(TOTALS_ID)).toBeUndefined();
  });
});
