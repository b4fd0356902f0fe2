import { describe, expect, it } from "vitest";
import type { DocumentStore, Filter } from "../../document-store/port.js";
import { DocumentStoreError } from "../../document-store/port.js";
import { byId, COUPON_INDEXES, type ContractContext, ids, type Reservation } from "./fixtures.js";

/** Queries: find, count, countBy and their plans. */
export function queriesContract(t: ContractContext): void {
  const { store, collection, upsert, seedReservations } = t;
  describe("queries", () => {
    const FILTERS: readonly { label: string; filter: Filter; test: (r: Reservation) => boolean }[] = [
      { label: "indexed equality", filter: { parkingLotId: "L1" }, test: (r) => r.parkingLotId === "L1" },
      {
        label: "two indexed equalities",
        filter: { status: "CANCELED", parkingLotId: "L2" },
        test: (r) => r.status === "CANCELED" && r.parkingLotId === "L2",
      },
      {
        label: "indexed range",
        filter: { seq: { $gt: 10, $lte: 20 } },
        test: (r) => r.seq > 10 && r.seq <= 20,
      },
      { label: "string range", filter: { customerId: { $gte: "C3" } }, test: (r) => r.customerId >= "C3" },
      { label: "unindexed range", filter: { amount: { $gte: 50 } }, test: (r) => r.amount >= 50 },
      {
        label: "$in",
        filter: { customerId: { $in: ["C1", "C3"] } },
        test: (r) => r.customerId === "C1" || r.customerId === "C3",
      },
      {
        label: "_id $in",
        filter: { _id: { $in: ["r0001", "r0002", "zzz"] } },
        test: (r) => r._id === "r0001" || r._id === "r0002",
      },
      {
        label: "indexed and unindexed",
        filter: { parkingLotId: "L1", amount: { $lt: 30 } },
        test: (r) => r.parkingLotId === "L1" && r.amount < 30,
      },
      {
        label: "dotted path",
        filter: { "coupon.status": "REVOKED" },
        test: (r) => r.coupon.status === "REVOKED",
      },
      {
        label: "$or",
        filter: { $or: [{ parkingLotId: "L0" }, { amount: 0 }] },
        test: (r) => r.parkingLotId === "L0" || r.amount === 0,
      },
      { label: "$ne", filter: { status: { $ne: "RESERVED" } }, test: (r) => r.status !== "RESERVED" },
      { label: "no match", filter: { parkingLotId: "nowhere" }, test: () => false },
      { label: "everything", filter: {}, test: () => true },
    ];

    it("find and count by equality, ranges, $in, on indexed and other fields", async () => {
      const c = collection("find");
      const docs = await seedReservations(c, 60);
      for (const { label, filter, test } of FILTERS) {
        const expected = docs.filter(test).sort(byId);
        const found = await store().find<Reservation>(c, filter);
        expect([...found].sort(byId), label).toEqual(expected);
        expect(await store().count(c, filter), label).toBe(expected.length);
      }
    });

    it("countBy counts the matches per value of a field, for every filter, within a limit", async () => {
      const c = collection("count_by");
      const docs = await seedReservations(c, 60);
      const tally = (matches: readonly Reservation[], key: (r: Reservation) => string) => {
        const counts = new Map<string, number>();
        for (const r of matches) counts.set(key(r), (counts.get(key(r)) ?? 0) + 1);
        return [...counts].sort();
      };
      for (const { label, filter, test } of FILTERS) {
        const matches = docs.filter(test);
        const byLot = await store().countBy(c, filter, "parkingLotId");
        expect([...byLot].sort(), label).toEqual(tally(matches, (r) => r.parkingLotId));
        const byCoupon = await store().countBy(c, filter, "coupon.status");
        expect([...byCoupon].sort(), label).toEqual(tally(matches, (r) => r.coupon.status));
      }
      // A field some documents lack counts them under null; numbers and booleans stay themselves.
      await store().write([
        upsert(c, "x1", { $set: { seq: 1000, flag: true } }),
        upsert(c, "x2", { $set: { seq: 1001, flag: false } }),
      ]);
      expect(await store().countBy(c, { seq: { $gte: 1000 } }, "flag")).toEqual(
        new Map<unknown, number>([
          [true, 1],
          [false, 1],
        ]),
      );
      expect(await store().countBy(c, { seq: { $gte: 1000 } }, "parkingLotId")).toEqual(new Map([[null, 2]]));
      expect(await store().countBy(c, { parkingLotId: "L1" }, "amount")).toEqual(
        new Map(
          tally(
            docs.filter((r) => r.parkingLotId === "L1"),
            (r) => String(r.amount),
          ).map(([k, n]) => [Number(k), n] as const),
        ),
      );
      // The limit bounds how many matches are counted in all, indexed filter or not.
      for (const filter of [{ parkingLotId: "L1" }, { amount: { $lt: 50 } }] as Filter[]) {
        const limited = await store().countBy(c, filter, "status", { limit: 7 });
        expect([...limited.values()].reduce((a, b) => a + b, 0)).toBe(7);
      }
      expect(await store().countBy(collection("count_by_missing"), {}, "status")).toEqual(new Map());
      await expect(store().countBy(c, {}, "$status")).rejects.toBeInstanceOf(DocumentStoreError);
      await expect(store().countBy(c, {}, "status", { limit: -1 })).rejects.toBeInstanceOf(
        DocumentStoreError,
      );
    });

    it("sorts ascending and descending, skips and limits", async () => {
      const c = collection("sort");
      const docs = await seedReservations(c, 40);
      const bySeqDesc = [...docs].sort((a, b) => b.seq - a.seq);
      expect(ids(await store().find(c, {}, { sort: { seq: -1 }, limit: 5 }))).toEqual(
        ids(bySeqDesc.slice(0, 5)),
      );
      expect(
        ids(await store().find(c, { parkingLotId: "L1" }, { sort: { seq: 1 }, skip: 2, limit: 3 })),
      ).toEqual(
        ids(
          docs
            .filter((d) => d.parkingLotId === "L1")
            .sort((a, b) => a.seq - b.seq)
            .slice(2, 5),
        ),
      );
      const byAmountThenSeq = [...docs].sort((a, b) => a.amount - b.amount || b.seq - a.seq);
      expect(ids(await store().find(c, {}, { sort: { amount: 1, seq: -1 }, skip: 3, limit: 4 }))).toEqual(
        ids(byAmountThenSeq.slice(3, 7)),
      );
      expect(ids(await store().find(c, { status: "RESERVED" }, { sort: { _id: -1 }, limit: 3 }))).toEqual(
        ids(
          docs
            .filter((d) => d.status === "RESERVED")
            .sort(byId)
            .reverse()
            .slice(0, 3),
        ),
      );
      expect(
        ids(
          await store().find(
            c,
            { parkingLotId: "L2", amount: { $gte: 20 } },
            { sort: { seq: -1 }, skip: 1, limit: 2 },
          ),
        ),
      ).toEqual(ids(bySeqDesc.filter((d) => d.parkingLotId === "L2" && d.amount >= 20).slice(1, 3)));
      expect(await store().find(c, {}, { skip: 1000 })).toEqual([]);
    });

    it("cursor paging by { seq: { $lt } } returns every document exactly once, in order", async () => {
      const c = collection("paging");
      const docs = await seedReservations(c, 137);
      const filters: Filter[] = [
        { parkingLotId: "L1" },
        { status: "RESERVED" },
        { customerId: "C2", status: "RESERVED" },
        { parkingLotId: "L0", amount: { $lt: 50 } },
        {},
      ];
      for (const filter of filters) {
        const expected = docs
          .filter((d) =>
            Object.entries(filter).every(([k, v]) =>
              k === "amount" ? d.amount < 50 : d[k as keyof Reservation] === v,
            ),
          )
          .sort((a, b) => b.seq - a.seq);
        const seen: Reservation[] = [];
        let cursor: number | undefined;
        for (let page = 0; page < 100; page++) {
          const q: Filter = cursor === undefined ? filter : { ...filter, seq: { $lt: cursor } };
          const batch = await store().find<Reservation>(c, q, { sort: { seq: -1 }, limit: 7 });
          seen.push(...batch);
          if (batch.length < 7) break;
          cursor = batch[batch.length - 1]!.seq;
        }
        expect(ids(seen), JSON.stringify(filter)).toEqual(ids(expected));
      }
    });

    it("explain: each access path uses an index once declared; a filter on an unindexed field does not", async () => {
      const reservations = collection("explain_r");
      const coupons = collection("explain_c");
      await seedReservations(reservations, 50);
      await store().ensureIndexes(coupons, COUPON_INDEXES);
      await store().write(
        Array.from({ length: 30 }, (_, i) => ({
          op: "replace" as const,
          collection: coupons,
          id: `cp${i}`,
          document: {
            customerId: `C${i % 4}`,
            issuedAt: `2024-05-${String((i % 28) + 1).padStart(2, "0")}`,
            status: "ISSUED",
          },
        })),
      );
      const page = { sort: { seq: -1 as const }, limit: 50 };
      const indexed: [string, string, Filter, Parameters<DocumentStore["explain"]>[2]][] = [
        ["by _id", reservations, { _id: "r0007" }, undefined],
        ["by lot", reservations, { parkingLotId: "L1" }, page],
        ["by lot, cursor", reservations, { parkingLotId: "L1", seq: { $lt: 30 } }, page],
        ["by customer", reservations, { customerId: "C2" }, page],
        ["by customer, cursor", reservations, { customerId: "C2", seq: { $lt: 30 } }, page],
        ["by status", reservations, { status: "RESERVED" }, page],
        ["by status, cursor", reservations, { status: "RESERVED", seq: { $lt: 30 } }, page],
        ["by lot and status", reservations, { parkingLotId: "L1", status: "RESERVED" }, page],
        [
          "by lot and status, cursor",
          reservations,
          { parkingLotId: "L1", status: "RESERVED", seq: { $lt: 30 } },
          page,
        ],
        ["by customer and status", reservations, { customerId: "C1", status: "CANCELED" }, page],
        ["coupons by customer", coupons, { customerId: "C1" }, { sort: { issuedAt: -1 }, limit: 20 }],
        [
          "by lot and time range (availability)",
          reservations,
          {
            parkingLotId: "L1",
            heldUntil: { $gt: "2026-11-23T10:00:00.000Z" },
            heldFrom: { $lt: "2026-11-23T12:00:00.000Z" },
          },
          undefined,
        ],
        [
          "windows of a lot holding a spot now (started within the last day)",
          reservations,
          {
            parkingLotId: "L1",
            startsAt: { $gt: "2026-11-22T10:00:00.000Z", $lte: "2026-11-23T10:00:00.000Z" },
          },
          undefined,
        ],
        [
          "windows of every lot holding a spot now",
          reservations,
          { startsAt: { $gt: "2026-11-22T10:00:00.000Z", $lte: "2026-11-23T10:00:00.000Z" } },
          undefined,
        ],
        [
          "windows of some lots holding a spot now (the lots of a page)",
          reservations,
          {
            parkingLotId: { $in: ["L1", "L2"] },
            startsAt: { $gt: "2026-11-22T10:00:00.000Z", $lte: "2026-11-23T10:00:00.000Z" },
            heldUntil: { $gt: "2026-11-23T10:00:00.000Z" },
          },
          undefined,
        ],
        [
          "by lots, status and start time (who is expected)",
          reservations,
          {
            parkingLotId: { $in: ["L1", "L2"] },
            status: "RESERVED",
            heldFrom: { $gte: "2026-11-23T09:00:00.000Z", $lt: "2026-11-23T11:00:00.000Z" },
            heldUntil: { $gt: "2026-11-23T10:00:00.000Z" },
          },
          undefined,
        ],
        [
          "by lots and status (who is in the lots)",
          reservations,
          { parkingLotId: { $in: ["L1", "L2"] }, status: "CHECKED_IN" },
          undefined,
        ],
        [
          "by lots, status and window end (who overstays)",
          reservations,
          {
            parkingLotId: { $in: ["L1", "L2"] },
            status: "CHECKED_IN",
            heldUntil: { $lte: "2026-11-23T10:00:00.000Z" },
          },
          undefined,
        ],
        [
          "by status, window not ended (status RESERVED as shown now)",
          reservations,
          { status: "RESERVED", endsAt: { $not: { $lte: "2026-11-23T10:00:00.000Z" } } },
          page,
        ],
        [
          "by lot and status, window ended (RESERVED shown COMPLETED), cursor",
          reservations,
          {
            parkingLotId: "L1",
            status: "RESERVED",
            endsAt: { $lte: "2026-11-23T10:00:00.000Z" },
            seq: { $lt: 30 },
          },
          page,
        ],
      ];
      for (const [label, c, filter, options] of indexed) {
        const plan = await store().explain(c, filter, options);
        expect(plan.indexed, `${label}: ${plan.detail}`).toBe(true);
        expect(plan.detail.length).toBeGreaterThan(0);
      }
      const scan = await store().explain(reservations, { carNumber: "10더1001" });
      expect(scan.indexed, scan.detail).toBe(false);
      const scanSorted = await store().explain(reservations, { amount: { $gt: 3 } }, page);
      expect(scanSorted.indexed, scanSorted.detail).toBe(false);
    });

    it("reads of a missing collection find nothing", async () => {
      const c = collection("missing");
      expect(await store().find(c, { a: 1 })).toEqual([]);
      expect(await store().findById(c, "a")).toBeNull();
      expect(await store().count(c, {})).toBe(0);
    });
  });
}
