import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SqliteDocumentStore } from "../../document-store/embedded/sqlite-document-store.js";
import { MemoryDocumentStore } from "../../document-store/memory/memory-document-store.js";
import type { DocumentStore } from "../../document-store/port.js";
import type { DomainEvent } from "../../schemas/events.js";
import { projectedLog, withProjectionIndexes } from "../../test-support/projected-log.js";
import { quoteWindow } from "../../write-side/parking-lot/booking.js";
import { evolve, initialState, type ParkingLotState } from "../../write-side/parking-lot/decider.js";
import { readViews } from "./views.js";

/*
 * Find a spot against an independent oracle: random lots around random points (the antimeridian,
 * the poles, 0/0, radii from 1 m to 50 km), some without a place, some moved, some full or closed
 * for the window, ties in distance and price. Every page is walked with its cursor; the union must be
 * exactly the lots within the radius (by an independent great-circle formula) whose decider quote has
 * a free spot, in order, each once.
 */

const HOUR = 3_600_000;
const T0 = Date.parse("2026-11-23T12:00:00.000Z");
const iso = (ms: number) => new Date(ms).toISOString();
const WINDOW = { from: T0 + 2 * HOUR, until: T0 + 4 * HOUR };
const R = 6_378_100;
const RAD = Math.PI / 180;

interface Pt {
  latitude: number;
  longitude: number;
}

/** Great-circle meters by the chord of unit vectors (not the haversine the service uses). */
function oracleDistance(a: Pt, b: Pt): number {
  const v = (p: Pt) => [
    Math.cos(p.latitude * RAD) * Math.cos(p.longitude * RAD),
    Math.cos(p.latitude * RAD) * Math.sin(p.longitude * RAD),
    Math.sin(p.latitude * RAD),
  ];
  const [x1, y1, z1] = v(a) as [number, number, number];
  const [x2, y2, z2] = v(b) as [number, number, number];
  const chord = Math.hypot(x1 - x2, y1 - y2, z1 - z2);
  return 2 * R * Math.asin(Math.min(1, chord / 2));
}

/** The point `meters` from `c` towards `bearing` (radians). */
function destination(c: Pt, meters: number, bearing: number): Pt {
  const d = meters / R;
  const lat1 = c.latitude * RAD;
  const lng1 = c.longitude * RAD;
  const lat2 = Math.asin(Math.sin(lat1) * Math.cos(d) + Math.cos(lat1) * Math.sin(d) * Math.cos(bearing));
  const lng2 =
    lng1 +
    Math.atan2(
      Math.sin(bearing) * Math.sin(d) * Math.cos(lat1),
      Math.cos(d) - Math.sin(lat1) * Math.sin(lat2),
    );
  let lng = lng2 / RAD;
  while (lng > 180) lng -= 360;
  while (lng < -180) lng += 360;
  return { latitude: Math.max(-90, Math.min(90, lat2 / RAD)), longitude: lng };
}

type Where =
  | { kind: "offset"; fraction: number; bearing: number }
  | { kind: "same" }
  | { kind: "special"; at: Pt }
  | { kind: "none" };

interface LotSpec {
  where: Where;
  movedTo?: Where;
  capacity: number;
  booked: number;
  closed: boolean;
  rate: number | undefined;
  openEnded?: boolean;
}

const whereArb = (center: Pt): fc.Arbitrary<Where> =>
  fc.oneof(
    {
      weight: 8,
      arbitrary: fc.record({
        kind: fc.constant("offset" as const),
        fraction: fc.oneof(
          fc.double({ min: 0, max: 1.3, noNaN: true }),
          // Dense near the center (a city in a 50 km circle): the first rings of the geo index.
          fc.double({ min: 0, max: 0.02, noNaN: true }),
          fc.constantFrom(0, 1, 0.999999, 1.000001, 0.5),
        ),
        bearing: fc.oneof(
          fc.double({ min: 0, max: 2 * Math.PI, noNaN: true }),
          fc.constantFrom(0, Math.PI / 2, Math.PI, (3 * Math.PI) / 2),
        ),
      }),
    },
    { weight: 3, arbitrary: fc.constant({ kind: "same" as const }) },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant("special" as const),
        at: fc.constantFrom<Pt>(
          { latitude: 90, longitude: 0 },
          { latitude: 90, longitude: 123 },
          { latitude: -90, longitude: -45 },
          { latitude: 0, longitude: 0 },
          { latitude: center.latitude, longitude: 180 },
          { latitude: center.latitude, longitude: -180 },
          { latitude: center.latitude, longitude: center.longitude },
          { latitude: center.latitude, longitude: -center.longitude },
        ),
      }),
    },
    { weight: 1, arbitrary: fc.constant({ kind: "none" as const }) },
  );

const centerArb: fc.Arbitrary<Pt> = fc.record({
  latitude: fc.oneof(
    fc.constantFrom(90, -90, 0, -0, 89.9999, -89.9999, 89.55, -89.6, 89.7, 45),
    fc.double({ min: -90, max: 90, noNaN: true }),
  ),
  longitude: fc.oneof(
    fc.constantFrom(180, -180, 0, -0, 179.9999, -179.9999, 179.7, -179.8),
    fc.double({ min: -180, max: 180, noNaN: true }),
  ),
});

const radiusArb = fc.oneof(
  fc.constantFrom(1, 2, 10, 100, 1_000, 10_000, 50_000),
  fc.integer({ min: 1, max: 50_000 }),
);

const scenarioArb = fc.tuple(centerArb, radiusArb).chain(([center, radius]) =>
  fc.record({
    center: fc.constant(center),
    radius: fc.constant(radius),
    sort: fc.constantFrom("distance" as const, "price" as const),
    limit: fc.integer({ min: 1, max: 4 }),
    lots: fc.array(
      fc.record(
        {
          where: whereArb(center),
          movedTo: fc.option(whereArb(center), { freq: 4, nil: undefined }),
          capacity: fc.integer({ min: 1, max: 2 }),
          booked: fc.constantFrom(0, 0, 0, 1, 2),
          closed: fc.constantFrom(false, false, false, false, false, true),
          rate: fc.constantFrom(undefined, 1000, 1000, 2000),
        },
        { requiredKeys: ["where", "capacity", "booked", "closed"] },
      ),
      { maxLength: 18 },
    ),
  }),
);

type Scenario = { center: Pt; radius: number; sort: "distance" | "price"; limit: number; lots: LotSpec[] };

function placeOf(where: Where, center: Pt, radius: number, previous: Pt | undefined): Pt | undefined {
  switch (where.kind) {
    case "none":
      return undefined;
    case "same":
      return previous ?? center;
    case "special":
      return where.at;
    case "offset":
      return destination(center, where.fraction * radius, where.bearing);
  }
}

function eventsOf(s: Scenario): { events: DomainEvent[]; places: Map<string, Pt | undefined> } {
  const events: DomainEvent[] = [];
  const places = new Map<string, Pt | undefined>();
  let previous: Pt | undefined;
  s.lots.forEach((lot, k) => {
    const id = `lot-${String(k).padStart(2, "0")}`;
    const at = placeOf(lot.where, s.center, s.radius, previous);
    if (at) previous = at;
    events.push({
      type: "ParkingLotRegistered",
      data: {
        parkingLotId: id,
        name: id,
        capacity: lot.capacity,
        registeredAt: iso(T0 - 24 * HOUR),
        ...(at ? { location: at } : {}),
        timeZone: "UTC",
        ...(lot.rate === undefined ? {} : { hourlyRate: lot.rate }),
      },
    } as DomainEvent);
    let place = at;
    if (lot.movedTo && lot.movedTo.kind !== "none") {
      const to = placeOf(lot.movedTo, s.center, s.radius, previous);
      if (to) {
        place = to;
        events.push({
          type: "ParkingLotPlaceChanged",
          data: {
            parkingLotId: id,
            location: to,
            timeZone: "UTC",
            ...(at ? { previousLocation: at } : {}),
            changedAt: iso(T0 - 12 * HOUR),
          },
        } as DomainEvent);
      }
    }
    places.set(id, place);
    for (let b = 0; b < lot.booked; b++)
      events.push({
        type: "ParkingReserved",
        data: {
          reservationId: `${id}-r${b}`,
          parkingLotId: id,
          customerId: `C${b}`,
          carNumber: "12가3456",
          amount: 2000,
          reservedAt: iso(T0 - HOUR),
          // Every other booking open-ended (it holds a spot from now on).
          ...(b % 2 === 1 && lot.openEnded
            ? {}
            : { startsAt: iso(WINDOW.from + HOUR), endsAt: iso(WINDOW.until + HOUR) }),
        },
      } as DomainEvent);
    if (lot.closed)
      events.push({
        type: "ParkingLotClosed",
        data: {
          closureId: `${id}-c`,
          parkingLotId: id,
          from: iso(WINDOW.until - 30 * 60_000),
          until: iso(WINDOW.until + 5 * HOUR),
          reason: "painting",
          closedAt: iso(T0 - HOUR),
        },
      } as DomainEvent);
  });
  return { events, places };
}

/** What the decider says of each lot's window: its free spots and amount, folding its events. */
function decided(events: DomainEvent[]): Map<string, { free: number; amount: number | null } | null> {
  const states = new Map<string, ParkingLotState>();
  for (const e of events) {
    const id = (e.data as { parkingLotId: string }).parkingLotId;
    states.set(id, evolve(states.get(id) ?? initialState, e as never));
  }
  const out = new Map<string, { free: number; amount: number | null } | null>();
  for (const [id, state] of states) {
    if (state.kind !== "registered") continue;
    const q = quoteWindow(state as never, { ...WINDOW, now: T0 });
    out.set(id, "code" in q ? null : q);
  }
  return out;
}

const EPS = 1e-6;
const STATS = { runs: 0, found: 0, must: 0 };

async function check(open: () => Promise<DocumentStore>, s: Scenario): Promise<void> {
  const { events, places } = eventsOf(s);
  const store = await open();
  try {
    await withProjectionIndexes(store);
    const log = projectedLog(new Date(T0));
    if (events.length > 0) await log.apply(store, events);
    const views = readViews(store, { readYourWritesTimeoutMs: 2_000, now: () => T0, lots: log.lots });
    const quotes = decided(events);
    // The oracle: every lot with a place, its distance, whether it must, may or must not be found.
    const must = new Set<string>();
    const may = new Set<string>();
    const dist = new Map<string, number>();
    for (const [id, at] of places) {
      if (!at) continue;
      const d = oracleDistance(s.center, at);
      dist.set(id, d);
      const q = quotes.get(id);
      const free = q !== null && q !== undefined && q.free > 0;
      if (!free) continue;
      if (d <= s.radius - EPS) must.add(id);
      else if (d <= s.radius + EPS) may.add(id);
    }
    const seen: {
      parkingLotId: string;
      distanceMeters: number;
      price: number | null;
      windowAvailableSpots: number;
    }[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 200; page++) {
      const answer = await views.search.search({
        near: s.center,
        radiusMeters: s.radius,
        ...WINDOW,
        sort: s.sort,
        limit: s.limit,
        minPosition: null,
        ...(cursor ? { cursor } : {}),
      });
      expect(answer.items.length).toBeLessThanOrEqual(s.limit);
      seen.push(...(answer.items as unknown as typeof seen));
      if (answer.nextCursor === null) break;
      cursor = answer.nextCursor;
      if (page === 199) throw new Error("more than 200 pages");
    }
    const ids = seen.map((i) => i.parkingLotId);
    STATS.runs++;
    STATS.found += ids.length;
    STATS.must += must.size;
    expect(new Set(ids).size, `duplicates: ${ids}`).toBe(ids.length);
    for (const id of must) expect(ids, `missed ${id} at ${dist.get(id)} m`).toContain(id);
    for (const item of seen) {
      const id = item.parkingLotId;
      expect(
        must.has(id) || may.has(id),
        `${id} at ${dist.get(id)} m (radius ${s.radius}) is not one to find`,
      ).toBe(true);
      expect(Math.abs(item.distanceMeters - (dist.get(id) ?? Number.NaN))).toBeLessThanOrEqual(1);
      const q = quotes.get(id)!;
      expect(item.price).toBe(q.amount);
      expect(item.windowAvailableSpots).toBe(q.free);
    }
    // Order: by (price, distance, id) or (distance, id), equal distances within EPS interchangeable.
    const key = (id: string) => ({
      p: s.sort === "price" ? (quotes.get(id)?.amount ?? Number.POSITIVE_INFINITY) : 0,
      d: dist.get(id)!,
    });
    for (let k = 1; k < ids.length; k++) {
      const a = key(ids[k - 1]!);
      const b = key(ids[k]!);
      const ordered = a.p < b.p || (a.p === b.p && a.d <= b.d + EPS);
      expect(
        ordered,
        `order ${ids[k - 1]} (${JSON.stringify(a)}) before ${ids[k]} (${JSON.stringify(b)})`,
      ).toBe(true);
      const pa = places.get(ids[k - 1]!)!;
      const pb = places.get(ids[k]!)!;
      if (a.p === b.p && pa.latitude === pb.latitude && pa.longitude === pb.longitude)
        expect(ids[k - 1]! < ids[k]!, `ties at one point by id: ${ids[k - 1]} ${ids[k]}`).toBe(true);
    }
  } finally {
    await store.close();
  }
}

const stores: [string, () => Promise<DocumentStore>][] = [
  ["sqlite", async () => SqliteDocumentStore.open({ file: ":memory:" })],
  ["memory", async () => new MemoryDocumentStore()],
];

describe.each(stores)("find a spot against an oracle (%s store)", (_name, open) => {
  it("finds exactly the free lots within the radius, in order, each once, across pages", async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb, (s) => check(open, s as Scenario)),
      { numRuns: Number(process.env.GEO_RUNS ?? 100) },
    );
    if (process.env.GEO_STATS) console.log(JSON.stringify(STATS));
  });
});

describe("findNear of the embedded store, page by page, against the in-memory store's full scan", () => {
  it("answers the same pages (ties, the antimeridian, the poles, dense and sparse lots)", async () => {
    const GEO = [{ name: "by_point", geo: "point" }] as const;
    const arb = fc.tuple(centerArb, radiusArb).chain(([center, radius]) =>
      fc.record({
        center: fc.constant(center),
        radius: fc.constant(radius),
        limit: fc.integer({ min: 1, max: 6 }),
        points: fc.array(whereArb(center), { minLength: 0, maxLength: 60 }),
      }),
    );
    await fc.assert(
      fc.asyncProperty(arb, async ({ center, radius, limit, points }) => {
        const sqlite = SqliteDocumentStore.open({ file: ":memory:" });
        const memory = new MemoryDocumentStore();
        try {
          let previous: Pt | undefined;
          const ops = points.flatMap((where, k) => {
            const at = placeOf(where, center, radius, previous);
            if (at) previous = at;
            return [
              {
                op: "replace" as const,
                collection: "c",
                id: `p${String(k).padStart(2, "0")}`,
                document: at ? { point: { type: "Point", coordinates: [at.longitude, at.latitude] } } : {},
              },
            ];
          });
          for (const store of [sqlite, memory]) {
            await store.ensureIndexes("c", GEO);
            if (ops.length > 0) await store.write(ops);
          }
          const walk = async (store: DocumentStore) => {
            const seen: [string, number][] = [];
            let after: { distanceMeters: number; id: string } | undefined;
            for (let page = 0; page < 100; page++) {
              const found = await store.findNear("c", {
                field: "point",
                ...center,
                maxDistanceMeters: radius,
                limit,
                ...(after ? { after } : {}),
              });
              seen.push(...found.map((n): [string, number] => [n.document._id as string, n.distanceMeters]));
              const last = found.at(-1);
              if (!last || found.length < limit) break;
              after = { distanceMeters: last.distanceMeters, id: last.document._id as string };
            }
            return seen;
          };
          expect(await walk(sqlite)).toEqual(await walk(memory));
        } finally {
          await sqlite.close();
        }
      }),
      { numRuns: Number(process.env.GEO_RUNS ?? 100) },
    );
  });
});

describe("findNear of the embedded store: a box's corner is not nearer than a point past its edge", () => {
  it("answers the lot 105 m north before the one 140 m north-east", async () => {
    const sqlite = SqliteDocumentStore.open({ file: ":memory:" });
    try {
      const c = { latitude: 0, longitude: 0 };
      const at = (p: Pt) => ({ point: { type: "Point", coordinates: [p.longitude, p.latitude] } });
      await sqlite.ensureIndexes("c", [{ name: "by_point", geo: "point" }]);
      await sqlite.write([
        { op: "replace", collection: "c", id: "corner", document: at(destination(c, 140, Math.PI / 4)) },
        { op: "replace", collection: "c", id: "edge", document: at(destination(c, 105, 0)) },
      ]);
      const found = await sqlite.findNear("c", { field: "point", ...c, maxDistanceMeters: 50_000, limit: 1 });
      expect(found.map((n) => n.document._id)).toEqual(["edge"]);
    } finally {
      await sqlite.close();
    }
  });
});

describe.each(stores)("find a spot past more full lots than a page walks (%s store)", (_name, open) => {
  it("pages short past the full lots and still finds every free one once, in order (both sorts)", async () => {
    const arb = fc.record({
      center: centerArb,
      sort: fc.constantFrom("distance" as const, "price" as const),
      limit: fc.integer({ min: 1, max: 3 }),
      free: fc.array(fc.integer({ min: 0, max: 139 }), { maxLength: 8 }),
      rates: fc.constantFrom([1000], [1000, 2000], [undefined, 1000]),
    });
    await fc.assert(
      fc.asyncProperty(arb, async ({ center, sort, limit, free, rates }) => {
        const lots: LotSpec[] = Array.from({ length: 140 }, (_, k) => ({
          where: {
            kind: "offset",
            fraction: ((k * 7919) % 140) / 140,
            bearing: (k * 2.39996) % (2 * Math.PI),
          },
          capacity: 1,
          booked: free.includes(k) ? 0 : 1,
          closed: false,
          rate: rates[k % rates.length],
        }));
        await check(open, { center, radius: 5_000, sort, limit, lots });
      }),
      { numRuns: Number(process.env.GEO_RUNS_FULL ?? 6) },
    );
  });
});
