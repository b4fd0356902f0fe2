import { describe, expect, it } from "vitest";
import { SqliteDocumentStore } from "../../document-store/embedded/sqlite-document-store.js";
import type { DocumentStore } from "../../document-store/port.js";
import { COUPONS } from "../../projections/read-models/customer-coupons.js";
import { physicalCollection } from "../../projections/runtime/checkpoints.js";
import type { DomainEvent } from "../../schemas/events.js";
import { reachOfGrants } from "../../schemas/lot-reach.js";
import { answerInWorker } from "../../test-support/in-worker.js";
import { projectedLog, withProjectionIndexes } from "../../test-support/projected-log.js";
import { lotScopeOf } from "../access.js";
import { newestPlateMatches } from "./plate-search.js";
import type { ReadOptions } from "./read-context.js";
import { readViews } from "./views.js";

/**
 * Issue 46: the reads of a member of staff scoped to lots. A grant that covers no lot is an empty
 * answer, at once (it once made GET /reservations spin for ever); a plate search and a customer's
 * coupons read only the caller's lots, so neither a page nor its cursor says anything of another.
 */
const T0 = Date.parse("2026-11-23T12:00:00.000Z");
const HOUR = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();
const EMPTY = { items: [], nextCursor: null };

const lot = (parkingLotId: string): DomainEvent => ({
  type: "ParkingLotRegistered",
  data: { parkingLotId, name: parkingLotId, capacity: 50, registeredAt: iso(T0 - 24 * HOUR) },
});
const booked = (reservationId: string, parkingLotId: string, carNumber: string): DomainEvent => ({
  type: "ParkingReserved",
  data: {
    reservationId,
    parkingLotId,
    customerId: "C1",
    carNumber,
    amount: 1000,
    reservedAt: iso(T0 - 2 * HOUR),
    startsAt: iso(T0 + HOUR),
    endsAt: iso(T0 + 2 * HOUR),
  },
});
const coupon = (reservationId: string, parkingLotId: string): DomainEvent => ({
  type: "CouponIssued",
  data: { couponId: `c-${reservationId}`, reservationId, parkingLotId, customerId: "C1", issuedAt: iso(T0) },
});

async function withLots(
  test: (store: DocumentStore, lots: NonNullable<ReadOptions["lots"]>) => Promise<void>,
): Promise<void> {
  const store = SqliteDocumentStore.open({ file: ":memory:" });
  const log = projectedLog(new Date(T0));
  try {
    await withProjectionIndexes(store);
    await log.apply(store, [
      lot("L1"),
      lot("L2"),
      // A plate booked on L1 only; another on both lots, L2's bookings the newest.
      booked("in-1", "L1", "33나7777"),
      booked("in-2", "L1", "12가3456"),
      booked("out-1", "L2", "12가3456"),
      booked("out-2", "L2", "12가3456"),
      booked("out-3", "L2", "99다5555"),
      booked("out-4", "L2", "99다5555"),
      coupon("in-1", "L1"),
      coupon("out-1", "L2"),
      coupon("out-2", "L2"),
    ]);
    await test(store, log.lots);
  } finally {
    await store.close();
  }
}

/** Every page of a listing, from the first (page(undefined)) to the last. */
async function allPages<T>(page: (cursor?: string) => Promise<{ items: T[]; nextCursor: string | null }>) {
  const pages = [];
  let cursor: string | undefined;
  for (let n = 0; n < 20; n++) {
    const answer = await page(cursor);
    pages.push(answer);
    if (answer.nextCursor === null) return pages;
    cursor = answer.nextCursor;
  }
  throw new Error("more than 20 pages");
}

describe("reads of staff scoped to lots", () => {
  it("a view asked with no lots answers empty pages at once (in a worker: a spin would starve this thread)", async () => {
    const answers = await answerInWorker<Record<string, unknown>>(
      "./empty-scope-reads.ts",
      new URL("../../test-support/", import.meta.url).href,
      { loadMs: 60_000, answerMs: 5_000 },
    );
    expect(answers).toEqual({ listing: EMPTY, byStatus: EMPTY, byPlate: EMPTY, coupons: EMPTY });
  }, 90_000);

  it("a grant that covers no lot is the scope `none`, found without reading what is listed", async () => {
    await withLots(async (store, folded) => {
      const { lots } = readViews(store, { readYourWritesTimeoutMs: 1_000, now: () => T0, lots: folded });
      let asked = 0;
      const counting = {
        lotIdsWithin: (...a: Parameters<typeof lots.lotIdsWithin>) => {
          asked++;
          return lots.lotIdsWithin(...a);
        },
      };
      for (const grants of [[], ["no such lot"], ["no-such-lot"], ["Z-*"], ["L3", "M*"]]) {
        expect(await lotScopeOf(counting, reachOfGrants(grants)), JSON.stringify(grants)).toEqual({
          kind: "none",
        });
      }
      // The empty grants (none, or none that is a lot id) need no read at all.
      expect(asked).toBe(3);
      expect(await lotScopeOf(counting, reachOfGrants(["L*"]))).toEqual({
        kind: "lots",
        lotIds: ["L1", "L2"],
      });
      expect(await lotScopeOf(counting, reachOfGrants(["*"]))).toEqual({ kind: "unconfined" });
      expect(await lotScopeOf(counting, undefined)).toEqual({ kind: "unconfined" });
      await expect(lotScopeOf(counting, reachOfGrants(["L2"]), "L1")).rejects.toMatchObject({
        problem: "parking-lot-not-found",
        detail: "No parking lot L1 is among your lots.",
      });
    });
  });

  it("a plate search pages only the caller's lots: a plate booked elsewhere gives no items and no cursor", async () => {
    await withLots(async (store, folded) => {
      const { reservations } = readViews(store, {
        readYourWritesTimeoutMs: 1_000,
        now: () => T0,
        lots: folded,
      });
      const search = (carNumber: string, cursor?: string) =>
        reservations.reservations({
          limit: 1,
          parkingLotIds: ["L1"],
          carNumber,
          ...(cursor ? { cursor } : {}),
        });
      expect(await search("99다5555")).toEqual(EMPTY);
      const pages = await allPages((cursor) => search("3456", cursor));
      expect(pages.flatMap((p) => p.items.map((r) => r.reservationId))).toEqual(["in-2"]);
      expect(pages).toHaveLength(1);
      // Unscoped (an admin), the same search finds every lot's.
      const every = await allPages((cursor) =>
        reservations.reservations({ limit: 1, carNumber: "3456", ...(cursor ? { cursor } : {}) }),
      );
      expect(every.flatMap((p) => p.items.map((r) => r.reservationId))).toEqual(["out-2", "out-1", "in-2"]);
    });
  });

  it("a customer's coupons, read by staff of some lots, are those of their lots only", async () => {
    await withLots(async (store, folded) => {
      const { reservations } = readViews(store, {
        readYourWritesTimeoutMs: 1_000,
        now: () => T0,
        lots: folded,
      });
      const coupons = (parkingLotIds: string[] | undefined) =>
        allPages((cursor) =>
          reservations.customerCoupons("C1", {
            limit: 1,
            ...(parkingLotIds ? { parkingLotIds } : {}),
            ...(cursor ? { cursor } : {}),
          }),
        );
      const ids = (pages: Awaited<ReturnType<typeof coupons>>) =>
        pages.flatMap((p) => p.items.map((c) => c.couponId));
      expect(ids(await coupons(["L1"]))).toEqual(["c-in-1"]);
      expect(await coupons(["L1"])).toHaveLength(1);
      expect(ids(await coupons(["L2"]))).toEqual(["c-out-2", "c-out-1"]);
      expect(ids(await coupons(["L1", "L2"]))).toEqual(["c-out-2", "c-out-1", "c-in-1"]);
      expect(ids(await coupons(undefined))).toEqual(["c-out-2", "c-out-1", "c-in-1"]);
    });
  });

  it("a customer's coupons of one lot are one range of their index, read in its order", async () => {
    await withLots(async (store) => {
      const plan = await (store as SqliteDocumentStore).explain(
        physicalCollection(COUPONS, 1),
        { customerId: "C1", parkingLotId: "L2", seq: { $lt: 100 } },
        { sort: { seq: -1 }, limit: 51 },
      );
      expect(plan.indexed, plan.detail).toBe(true);
      expect(plan.detail).toContain(Buffer.from("by_customer_lot", "utf8").toString("hex"));
      expect(plan.detail).not.toMatch(/TEMP B-TREE|sorted in memory/);
    });
  });

  it("a plate search wanting no match reads none, and one wanting n finds at most n", async () => {
    await withLots(async (store, folded) => {
      const { context } = readViews(store, { readYourWritesTimeoutMs: 1_000, now: () => T0, lots: folded });
      for (const want of [0, -1, Number.NaN, 1.5])
        expect(await newestPlateMatches(context, "3456", {}, want)).toEqual([]);
      expect(await newestPlateMatches(context, "3456", {}, 2)).toHaveLength(2);
      expect(await newestPlateMatches(context, "3456", {}, 9)).toHaveLength(3);
    });
  });
});
