import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SqliteDocumentStore } from "../../document-store/embedded/sqlite-document-store.js";
import type { DocumentStore } from "../../document-store/port.js";
import { PARKING_LOTS } from "../../projections/read-models/parking-lots.js";
import { CHECKPOINTS, checkpointOp } from "../../projections/runtime/checkpoints.js";
import type { DomainEvent } from "../../schemas/events.js";
import { projectedLog, withProjectionIndexes } from "../../test-support/projected-log.js";
import { readViews } from "./views.js";

/**
 * The control center kept between reads (control-center-moment.ts) answers exactly what a fresh
 * read answers, at every instant: a history of windows around T0 (started, checked in, out,
 * canceled, no-shows, a closure), then instants from T0 on, many on the very edges where a figure
 * turns, each asked of one long-lived control-center view and of a new one; halfway, new events land.
 */

const HOUR = 3_600_000;
const T0 = Date.parse("2026-11-23T12:00:00.000Z");
const iso = (ms: number) => new Date(ms).toISOString();
const LOTS = ["L1", "L2"];

let log = projectedLog(new Date(T0));
const apply = (store: DocumentStore, events: readonly DomainEvent[]) => log.apply(store, events);

type Fate = "none" | "in" | "out" | "cancel" | "noShow";
interface Booking {
  readonly lot: number;
  readonly start: number;
  readonly length: number;
  readonly fate: Fate;
  readonly at: number;
}

function eventsOf(bookings: readonly Booking[], from: number): DomainEvent[] {
  return bookings.flatMap((b, k): DomainEvent[] => {
    const i = from + k;
    const base = { reservationId: `r${i}`, parkingLotId: LOTS[b.lot] as string, customerId: `C${i % 3}` };
    const window = { startsAt: iso(b.start), endsAt: iso(b.start + b.length) };
    const reserved: DomainEvent = {
      type: "ParkingReserved",
      data: {
        ...base,
        carNumber: `12가${1000 + i}`,
        amount: 1000,
        reservedAt: iso(T0 - 48 * HOUR),
        ...window,
      },
    };
    const at = iso(b.at);
    switch (b.fate) {
      case "none":
        return [reserved];
      case "in":
        return [reserved, { type: "ReservationCheckedIn", data: { ...base, checkedInAt: at } }];
      case "out":
        return [
          reserved,
          { type: "ReservationCheckedIn", data: { ...base, checkedInAt: at } },
          { type: "ReservationCheckedOut", data: { ...base, checkedOutAt: at, ...window } },
        ];
      case "cancel":
        return [
          reserved,
          { type: "ReservationCanceled", data: { ...base, reason: "plans", canceledAt: at, ...window } },
        ];
      case "noShow":
        return [reserved, { type: "ReservationNoShow", data: { ...base, ...window, recordedAt: at } }];
      default:
        throw new Error(`no such fate: ${b.fate satisfies never}`);
    }
  });
}

const minute = 60_000;
// Instants to the millisecond: on a minute's edge, the next minute (the chart moving on) would hide
// a missed turn.
const booking = fc.record({
  lot: fc.integer({ min: 0, max: 1 }),
  start: fc.integer({ min: -30 * HOUR, max: 30 * HOUR }).map((ms) => T0 + ms),
  length: fc.integer({ min: 30 * minute, max: 24 * HOUR }),
  fate: fc.constantFrom<Fate>("none", "in", "out", "cancel", "noShow"),
  at: fc.integer({ min: -30 * HOUR, max: 0 }).map((ms) => T0 + ms),
});

/** The instants where some figure of `bookings` may turn, and one millisecond either side. */
function edges(bookings: readonly Booking[]): number[] {
  const turns = bookings.flatMap((b) => [
    b.start - HOUR,
    b.start,
    b.start + HOUR,
    b.start + 24 * HOUR,
    b.start + b.length,
    b.start + b.length + 24 * HOUR,
    b.at,
    b.at + 24 * HOUR,
  ]);
  // The closure of every history: from T0 + 5 h to T0 + 7 h.
  return [...turns, T0 + 5 * HOUR, T0 + 7 * HOUR].flatMap((t) => [t - 1, t, t + 1]);
}

describe("the control center kept between reads", () => {
  it("answers what a fresh read answers, at every instant and across new events", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(booking, { minLength: 1, maxLength: 8 }),
        fc.array(booking, { maxLength: 4 }),
        fc.array(fc.integer({ min: 0, max: 50 * 60 }), { maxLength: 20 }),
        async (before, after, offsets) => {
          const store = SqliteDocumentStore.open({ file: ":memory:" });
          log = projectedLog(new Date(T0));
          try {
            await withProjectionIndexes(store);
            let clock = T0;
            const options = {
              readYourWritesTimeoutMs: 100,
              now: () => clock,
              lots: log.lots,
              eventStore: log.events,
            };
            const kept = readViews(store, options).controlCenter;
            await apply(store, [
              ...LOTS.map(
                (id): DomainEvent => ({
                  type: "ParkingLotRegistered",
                  data: { parkingLotId: id, name: id, capacity: 3, registeredAt: iso(T0 - 72 * HOUR) },
                }),
              ),
              {
                type: "ParkingLotClosed",
                data: {
                  closureId: "c1",
                  parkingLotId: "L2",
                  from: iso(T0 + 5 * HOUR),
                  until: iso(T0 + 7 * HOUR),
                  reason: "paint",
                  closedAt: iso(T0 - HOUR),
                },
              },
              ...eventsOf(before, 0),
            ]);
            const instants = [...offsets.map((m) => T0 + m * minute), ...edges([...before, ...after])]
              .filter((t) => t >= T0)
              .sort((a, b) => a - b);
            const half = Math.floor(instants.length / 2);
            for (const [k, t] of instants.entries()) {
              if (k === half && after.length > 0) await apply(store, eventsOf(after, before.length));
              clock = t;
              const fresh = readViews(store, options).controlCenter;
              expect(await kept.controlCenter({ limit: 10 }), iso(t)).toEqual(
                await fresh.controlCenter({ limit: 10 }),
              );
            }
          } finally {
            await store.close();
          }
        },
      ),
      { numRuns: 15 },
    );
  });

  it("reads the figures again only when a read model moved or a figure can turn, and never from a generation without the boundaries", async () => {
    const store = SqliteDocumentStore.open({ file: ":memory:" });
    // The figures are read again when the lots are: each read of the parking-lots collection counts.
    let counts = 0;
    const counting = new Proxy(store, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver);
        if (property !== "find" || typeof value !== "function") return value;
        return (collection: string, ...rest: unknown[]) => {
          if (collection.includes(PARKING_LOTS)) counts++;
          return value.call(target, collection, ...rest);
        };
      },
    });
    try {
      await withProjectionIndexes(store);
      const lot: DomainEvent = {
        type: "ParkingLotRegistered",
        data: { parkingLotId: "L1", name: "L1", capacity: 3, registeredAt: iso(T0 - HOUR) },
      };
      const [window] = eventsOf([{ lot: 0, start: T0 + 2 * HOUR, length: HOUR, fate: "none", at: T0 }], 100);
      await apply(store, [lot, window as DomainEvent]);
      let clock = T0;
      let service = readViews(counting, {
        readYourWritesTimeoutMs: 100,
        now: () => clock,
        lots: log.lots,
        eventStore: log.events,
      }).controlCenter;
      const ask = async () => {
        const before = counts;
        await service.controlCenter({ limit: 10 });
        return counts > before;
      };
      expect(await ask()).toBe(true);
      clock = T0 + 30 * 1000;
      expect(await ask()).toBe(false);
      // The window becomes expected an hour before it starts: read again then.
      clock = T0 + HOUR + 1;
      expect(await ask()).toBe(true);
      expect(await ask()).toBe(false);
      // A new event moves the read models.
      const [other] = eventsOf([{ lot: 0, start: T0 + 9 * HOUR, length: HOUR, fate: "none", at: T0 }], 200);
      await apply(store, [other as DomainEvent]);
      expect(await ask()).toBe(true);
      expect(await ask()).toBe(false);
      // A control-center generation built by a version before the boundaries: every read is fresh.
      await store.write([
        { op: "delete", collection: CHECKPOINTS, id: "control-center@1" },
        checkpointOp("control-center", 1, { position: log.position, state: "running" }, 1),
      ]);
      service = readViews(counting, {
        readYourWritesTimeoutMs: 100,
        now: () => clock,
        lots: log.lots,
        eventStore: log.events,
      }).controlCenter;
      expect(await ask()).toBe(true);
      expect(await ask()).toBe(true);
    } finally {
      await store.close();
    }
  });
});
