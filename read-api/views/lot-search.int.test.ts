import { describe, expect, it } from "vitest";
import { SqliteDocumentStore } from "../../document-store/embedded/sqlite-document-store.js";
import type { DocumentStore, NearQuery } from "../../document-store/port.js";
import type { DomainEvent } from "../../schemas/events.js";
import { projectedLog, withProjectionIndexes } from "../../test-support/projected-log.js";
import type { ReadOptions } from "./read-context.js";
import { readViews } from "./views.js";

/**
 * Find a spot over the read models (issue 49): the walk is bounded (a page of full lots comes back
 * short with a cursor to go on from, having read a bounded number of candidates), and what it keeps
 * is exactly what each lot's availability quote says.
 */
const HOUR = 3_600_000;
const T0 = Date.parse("2026-11-23T12:00:00.000Z");
const iso = (ms: number) => new Date(ms).toISOString();
const GANGNAM = { latitude: 37.4979, longitude: 127.0276 };
const north = (meters: number) => ({
  latitude: GANGNAM.latitude + meters / 111_319.5,
  longitude: GANGNAM.longitude,
});
const lot = (id: string, meters: number, capacity: number, hourlyRate?: number): DomainEvent => ({
  type: "ParkingLotRegistered",
  data: {
    parkingLotId: id,
    name: id,
    capacity,
    registeredAt: iso(T0 - 24 * HOUR),
    location: north(meters),
    timeZone: "Asia/Seoul",
    ...(hourlyRate === undefined ? {} : { hourlyRate }),
  },
});
const WINDOW = { from: T0 + 2 * HOUR, until: T0 + 4 * HOUR };

/** The store, counting the candidates findNear hands out. */
function counting(store: DocumentStore) {
  const seen = { candidates: 0, calls: [] as NearQuery[] };
  const proxy = new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (property !== "findNear" || typeof value !== "function") return value;
      return async (collection: string, query: NearQuery) => {
        const found = await value.call(target, collection, query);
        seen.candidates += found.length;
        seen.calls.push(query);
        return found;
      };
    },
  });
  return { store: proxy, seen };
}

async function withLots(
  events: DomainEvent[],
  test: (store: DocumentStore, lots: NonNullable<ReadOptions["lots"]>) => Promise<void>,
): Promise<void> {
  const store = SqliteDocumentStore.open({ file: ":memory:" });
  try {
    await withProjectionIndexes(store);
    const log = projectedLog(new Date(T0));
    await log.apply(store, events);
    await test(store, log.lots);
  } finally {
    await store.close();
  }
}

describe("finding a spot on the read side", () => {
  it("walks at most 50 candidates for a page of 1: 120 full lots nearer than the one free lot take three pages", async () => {
    const full = Array.from({ length: 120 }, (_, k) =>
      lot(`full-${String(k).padStart(3, "0")}`, 10 + k * 10, 0, 1000),
    );
    await withLots([...full, lot("free", 3_000, 2, 1000)], async (store, folded) => {
      const { store: watched, seen } = counting(store);
      const { search } = readViews(watched, { readYourWritesTimeoutMs: 2_000, now: () => T0, lots: folded });
      const ask = (cursor?: string) =>
        search.search({
          near: GANGNAM,
          radiusMeters: 5_000,
          ...WINDOW,
          sort: "distance",
          limit: 1,
          minPosition: null,
          ...(cursor ? { cursor } : {}),
        });
      const pages = [];
      let cursor: string | undefined;
      for (let k = 0; k < 10; k++) {
        const before = seen.candidates;
        const page = await ask(cursor);
        // A page reads at most its walk (50) and one batch beyond it.
        expect(seen.candidates - before).toBeLessThanOrEqual(50 + 9);
        pages.push(page.items.map((item) => item.parkingLotId));
        if (page.nextCursor === null) break;
        cursor = page.nextCursor;
      }
      expect(pages.slice(0, 2)).toEqual([[], []]);
      expect(pages.flat()).toEqual(["free"]);
      expect(seen.calls.every((call) => call.limit <= 50)).toBe(true);
    });
  });

  it("keeps exactly the lots whose availability quote has a spot, nearest first or cheapest first", async () => {
    const booked: DomainEvent = {
      type: "ParkingReserved",
      data: {
        reservationId: "r1",
        parkingLotId: "one-spot",
        customerId: "C1",
        carNumber: "12가3456",
        amount: 2000,
        reservedAt: iso(T0),
        startsAt: iso(WINDOW.from),
        endsAt: iso(WINDOW.until),
      },
    };
    const closed: DomainEvent = {
      type: "ParkingLotClosed",
      data: {
        closureId: "c1",
        parkingLotId: "closed",
        from: iso(WINDOW.from - HOUR),
        until: iso(WINDOW.until),
        reason: "painting",
        closedAt: iso(T0),
      },
    };
    const events = [
      lot("one-spot", 100, 1, 1000),
      lot("closed", 200, 5, 500),
      lot("pricey", 300, 5, 4000),
      lot("no-rate", 400, 5),
      lot("cheap", 900, 5, 700),
      lot("beyond", 1_500, 5, 100),
      booked,
      closed,
    ];
    await withLots(events, async (store, folded) => {
      const views = readViews(store, { readYourWritesTimeoutMs: 2_000, now: () => T0, lots: folded });
      const ask = (sort: "distance" | "price") =>
        views.search.search({
          near: GANGNAM,
          radiusMeters: 1_000,
          ...WINDOW,
          sort,
          limit: 10,
          minPosition: null,
        });
      const nearest = await ask("distance");
      expect(nearest.items.map((l) => [l.parkingLotId, l.distanceMeters, l.price])).toEqual([
        ["pricey", 300, 8000],
        ["no-rate", 400, null],
        ["cheap", 900, 1400],
      ]);
      // The same as each lot's availability quote says.
      for (const id of ["one-spot", "closed", "pricey", "no-rate", "cheap"]) {
        const quote = await views.lots.availability(id, WINDOW.from, WINDOW.until);
        const free = quote !== null && "availableSpots" in quote && quote.availableSpots > 0;
        expect(
          nearest.items.some((l) => l.parkingLotId === id),
          id,
        ).toBe(free);
      }
      expect((await ask("price")).items.map((l) => l.parkingLotId)).toEqual(["cheap", "pricey", "no-rate"]);
    });
  });
});
