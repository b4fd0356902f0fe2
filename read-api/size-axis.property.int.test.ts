import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SqliteDocumentStore } from "../document-store/embedded/sqlite-document-store.js";
import type { EventStore } from "../event-store/port.js";
import { WorkMeter, withWorkMeter } from "../platform/work-budget.js";
import type { DomainEvent } from "../schemas/events.js";
import { projectedLog, withProjectionIndexes } from "../test-support/projected-log.js";
import type { ReadOptions } from "./views/read-context.js";
import { readViews, type Views } from "./views/views.js";

/**
 * Issue 66, cost as a property of the size of the data: for each read of the reservations × each
 * role, what one answer examines in the stores (documents, counted by the request's work meter,
 * never time) at 10× the data stays within 2× of what it examines at 1×. The axes grown: the
 * reservations of one customer (all their plates share the fragment `77`), the other customers'
 * reservations, the lots, the lots in a staff member's grant. A plate search that read its page by a list of more than 500 ids once
 * read every reservation of the store (1.7–2.8 s of CPU at 32,654 reservations).
 */
const T0 = Date.parse("2026-11-23T12:00:00.000Z");
const HOUR = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();
/** The largest page a caller may ask (PageLimit), which the plate search's defect needed. */
const LARGEST = 1000;

const lot = (parkingLotId: string): DomainEvent => ({
  type: "ParkingLotRegistered",
  data: { parkingLotId, name: parkingLotId, capacity: 100_000, registeredAt: iso(T0 - 24 * HOUR) },
});
const booked = (k: number, parkingLotId: string, customerId: string, carNumber: string): DomainEvent => ({
  type: "ParkingReserved",
  data: {
    reservationId: `${customerId}-${k}`,
    parkingLotId,
    customerId,
    carNumber,
    amount: 1000,
    reservedAt: iso(T0 - 2 * HOUR),
    startsAt: iso(T0 + HOUR),
    endsAt: iso(T0 + 2 * HOUR),
  },
});
const coupon = (k: number, parkingLotId: string, customerId: string): DomainEvent => ({
  type: "CouponIssued",
  data: {
    couponId: `c-${customerId}-${k}`,
    reservationId: `${customerId}-${k}`,
    parkingLotId,
    customerId,
    issuedAt: iso(T0),
  },
});

/** At `scale`: 4×scale lots, 1,100×scale bookings of customer C1 (plates `77가…`), 400×scale of others. */
async function world(
  scale: number,
): Promise<{ store: SqliteDocumentStore; lots: NonNullable<ReadOptions["lots"]>; events: EventStore }> {
  const store = SqliteDocumentStore.open({ file: ":memory:" });
  await withProjectionIndexes(store);
  const log = projectedLog(new Date(T0));
  const lots = Array.from({ length: 4 * scale }, (_, k) => `L${k}`);
  await log.apply(store, lots.map(lot));
  const events: DomainEvent[] = [];
  for (let k = 0; k < 1_100 * scale; k++) {
    const at = lots[k % lots.length] ?? "L0";
    events.push(booked(k, at, "C1", `77가${String(k).padStart(5, "0")}`), coupon(k, at, "C1"));
  }
  for (let k = 0; k < 400 * scale; k++)
    events.push(
      booked(k, lots[k % lots.length] ?? "L0", `C${2 + (k % 50)}`, `${10 + (k % 60)}나${1000 + k}`),
    );
  for (let from = 0; from < events.length; from += 5_000)
    await log.apply(store, events.slice(from, from + 5_000));
  return { store, lots: log.lots, events: log.events };
}

/** What one answer examined. */
async function examined(read: () => Promise<unknown>): Promise<number> {
  const meter = new WorkMeter("size-axis", {
    documents: Number.MAX_SAFE_INTEGER,
    events: Number.MAX_SAFE_INTEGER,
  });
  await withWorkMeter(meter, read);
  return meter.documents;
}

/** The reads, as each role asks them (what read-api/access.ts makes of a caller's scope). */
const READS: readonly { role: string; read: string; ask: (views: Views) => Promise<unknown> }[] = [
  {
    role: "customer",
    read: "plate search, largest page",
    ask: (v) => v.reservations.reservations({ customerId: "C1", carNumber: "77", limit: LARGEST }),
  },
  {
    role: "customer",
    read: "own reservations",
    ask: (v) => v.reservations.reservations({ customerId: "C1", limit: 50 }),
  },
  { role: "customer", read: "own coupons", ask: (v) => v.reservations.customerCoupons("C1", { limit: 50 }) },
  { role: "customer", read: "one reservation", ask: (v) => v.reservations.reservation("C1-7") },
  {
    role: "attendant of L1",
    read: "plate search, largest page",
    ask: (v) => v.reservations.reservations({ parkingLotIds: ["L1"], carNumber: "77", limit: LARGEST }),
  },
  {
    role: "attendant of L1",
    read: "the lot's reservations",
    ask: (v) => v.reservations.reservations({ parkingLotIds: ["L1"], limit: 50 }),
  },
  {
    role: "operator of L1",
    read: "a customer's coupons of the lot",
    ask: (v) => v.reservations.customerCoupons("C1", { limit: 50, parkingLotIds: ["L1"] }),
  },
  {
    role: "admin",
    read: "plate search, largest page",
    ask: (v) => v.reservations.reservations({ carNumber: "77", limit: LARGEST }),
  },
  { role: "admin", read: "every reservation", ask: (v) => v.reservations.reservations({ limit: 50 }) },
  // The lots in a grant: an attendant of every lot (4 at 1×, 40 at 10×), listing as scoped staff do.
  {
    role: "attendant of every lot",
    read: "their lots' reservations",
    ask: (v) => v.reservations.reservations({ parkingLotIds: lotsOf(v), limit: 50 }),
  },
  {
    role: "operator of every lot",
    read: "a customer's coupons of their lots",
    ask: (v) => v.reservations.customerCoupons("C1", { limit: 50, parkingLotIds: lotsOf(v) }),
  },
  // The lots' own reads (issue 66: every read operation of the matrix on the axis). A list's page
  // is smaller than the lots at 1× (3 of 4): the work asked is a page, whatever the number of lots.
  { role: "anyone", read: "a page of lots", ask: (v) => v.lots.parkingLots({ limit: 3 }) },
  { role: "anyone", read: "one lot", ask: (v) => v.lots.parkingLotDetail("L1") },
  // A lot's availability reads no document: only the lot's state, through the write side's loader
  // (its work: one period at most, the events after the state kept: views/lots-at.int.test.ts).
  {
    role: "operator of L1",
    read: "a lot's timeline",
    ask: (v) => v.lots.timeline("L1", { from: T0 - HOUR, until: T0 + 3 * HOUR, stepMinutes: 15 }),
  },
  {
    role: "operator of L1",
    read: "a lot's money",
    ask: (v) => v.money.lotMoney("L1", { from: "2026-11-22", to: "2026-11-23", maxDays: 31 }, null),
  },
  {
    role: "operator of L1",
    read: "the control center",
    ask: (v) =>
      v.controlCenter.controlCenter({ limit: 50, within: { every: false, ids: ["L1"], prefixes: [] } }),
  },
  {
    role: "operator of every lot",
    read: "the control center, a page of lots",
    ask: (v) => v.controlCenter.controlCenter({ limit: 3 }),
  },
];

/** Every lot of the world these views read (4×scale). */
const lotsOf = (v: Views): string[] => Array.from({ length: v === views.at10 ? 40 : 4 }, (_, k) => `L${k}`);

let small: SqliteDocumentStore;
let large: SqliteDocumentStore;
let views: { at1: Views; at10: Views };

beforeAll(async () => {
  const [one, ten] = [await world(1), await world(10)];
  small = one.store;
  large = ten.store;
  const options = { readYourWritesTimeoutMs: 1_000, now: () => T0 };
  views = {
    at1: readViews(small, { ...options, lots: one.lots, eventStore: one.events }),
    at10: readViews(large, { ...options, lots: ten.lots, eventStore: ten.events }),
  };
}, 120_000);
afterAll(async () => {
  await small?.close();
  await large?.close();
});

/**
 * What an answer examines in a running service: the second time it is asked, once the lots' states
 * it reads are kept (the views keep each lot's: lots-at.ts), as they are after the
 * first read of any lot. Then each answer's own work is what is left.
 */
async function steadily(ask: () => Promise<unknown>): Promise<number> {
  await ask();
  return examined(ask);
}

describe("what an answer examines does not grow with the data (1× and 10×)", () => {
  it.each(READS.map((r) => [r.role, r.read, r.ask] as const))("%s: %s", async (_role, _read, ask) => {
    const at1 = await steadily(() => ask(views.at1));
    const at10 = await steadily(() => ask(views.at10));
    expect(at1).toBeGreaterThan(0);
    expect(at10, `examined ${at1} documents at 1×, ${at10} at 10×`).toBeLessThanOrEqual(2 * at1);
  });

  it("a plate search's largest page examines about what it answers, not the store", async () => {
    let answered = 0;
    const search = async () => {
      const page = await views.at10.reservations.reservations({
        customerId: "C1",
        carNumber: "77",
        limit: LARGEST,
      });
      answered = page.items.length;
    };
    const work = await steadily(search);
    expect(answered).toBe(LARGEST);
    // The page, and the plate rows that found it (two a match at most).
    expect(work).toBeLessThan(4 * LARGEST);
  });
});
