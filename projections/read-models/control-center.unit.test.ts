import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { applyUpdate, type MutableDocument } from "../../document-store/embedded/update-semantics.js";
import type { StoredDomainEvent } from "../../event-store/codec.js";
import type { DomainEvent } from "../../schemas/events.js";
import { activityId, controlCenterProjection, minuteOf, TOTALS_ID } from "./control-center.js";

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
        const minutes = [...docs.values()].filter((d) => d._id !== TOTALS_ID);
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
