/**
 * The contract every DocumentStore adapter passes: one vitest suite, run by the embedded store's
 * tests and (when MONGODB_URL is set) by the MongoDB store's. Each test uses its own collections
 * (`t_<label>_<random>`) and drops them afterwards, so it can run against a shared server.
 */
import { randomBytes } from "node:crypto";
import fc from "fast-check";
import { find as mingoFind } from "mingo";
import type { Modifier } from "mingo/updater";
import { update as mingoUpdate } from "mingo/updater";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { DocumentStore, Filter, IndexSpec, WriteOp } from "./port.js";
import { DocumentStoreError, WriteConditionFailedError } from "./port.js";

export interface OpenedDocumentStore {
  readonly store: DocumentStore;
  readonly dispose: () => Promise<void>;
}

/** The indexes the reservation read model declares (the access paths the query API needs). */
export const RESERVATION_INDEXES: readonly IndexSpec[] = [
  { name: "parkingLotId_1_seq_-1", keys: { parkingLotId: 1, seq: -1 } },
  { name: "status_1_seq_-1", keys: { status: 1, seq: -1 } },
  { name: "customerId_1_seq_-1", keys: { customerId: 1, seq: -1 } },
  { name: "parkingLotId_1_heldUntil_1", keys: { parkingLotId: 1, heldUntil: 1 } },
  { name: "status_1_heldFrom_1", keys: { status: 1, heldFrom: 1 } },
  { name: "parkingLotId_1_startsAt_1", keys: { parkingLotId: 1, startsAt: 1 } },
  { name: "startsAt_1", keys: { startsAt: 1 } },
];

export const COUPON_INDEXES: readonly IndexSpec[] = [
  { name: "customerId_1_issuedAt_-1", keys: { customerId: 1, issuedAt: -1 } },
];

type Doc = Record<string, unknown> & { _id: string };

type Reservation = {
  _id: string;
  parkingLotId: string;
  customerId: string;
  status: "RESERVED" | "CANCELED";
  seq: number;
  amount: number;
  carNumber: string;
  coupon: { status: "ISSUED" | "REVOKED" };
};

function reservation(i: number): Reservation {
  return {
    _id: `r${String(i).padStart(4, "0")}`,
    parkingLotId: `L${i % 3}`,
    customerId: `C${i % 5}`,
    status: i % 4 === 0 ? "CANCELED" : "RESERVED",
    seq: i,
    amount: (i * 37) % 100,
    carNumber: `${10 + (i % 90)}더${String(1000 + i).slice(-4)}`,
    coupon: { status: i % 4 === 0 ? "REVOKED" : "ISSUED" },
  };
}

const byId = (a: { _id: string }, b: { _id: string }) => (a._id < b._id ? -1 : a._id > b._id ? 1 : 0);
const ids = (docs: readonly { _id: string }[]) => docs.map((d) => d._id);

export function documentStoreContract(name: string, open: () => Promise<OpenedDocumentStore>): void {
  describe(`DocumentStore contract: ${name}`, () => {
    let opened: OpenedDocumentStore | undefined;
    const created: string[] = [];
    const store = (): DocumentStore => {
      if (opened === undefined) throw new Error("store not open");
      return opened.store;
    };
    /** A fresh collection name for this test, dropped after it. */
    const collection = (label: string): string => {
      const c = `t_${label}_${randomBytes(5).toString("hex")}`;
      created.push(c);
      return c;
    };
    const upsert = (c: string, id: string, update: Record<string, unknown>): WriteOp => ({
      op: "update",
      collection: c,
      id,
      update,
      upsert: true,
    });
    const seedReservations = async (c: string, n: number): Promise<Reservation[]> => {
      await store().ensureIndexes(c, RESERVATION_INDEXES);
      const docs = Array.from({ length: n }, (_, k) => reservation(k + 1));
      await store().write(
        docs.map(({ _id, ...rest }) => ({ op: "replace", collection: c, id: _id, document: rest }) as const),
      );
      return docs;
    };

    beforeEach(async () => {
      opened = await open();
    });

    afterEach(async () => {
      const current = opened;
      opened = undefined;
      if (current === undefined) return;
      for (const c of created.splice(0)) await current.store.dropCollection(c).catch(() => undefined);
      await current.dispose();
    });

    describe("writes", () => {
      it("an upsert creates the document from _id, the update and $setOnInsert; later upserts skip $setOnInsert", async () => {
        const c = collection("upsert");
        await store().write([
          upsert(c, "a", {
            $set: { name: "강남 1주차장" },
            $inc: { n: 1 },
            $setOnInsert: { createdAt: "t0" },
          }),
        ]);
        expect(await store().findById(c, "a")).toEqual({
          _id: "a",
          name: "강남 1주차장",
          n: 1,
          createdAt: "t0",
        });
        await store().write([
          upsert(c, "a", { $inc: { n: 2 }, $setOnInsert: { createdAt: "t1", other: 1 } }),
        ]);
        expect(await store().findById(c, "a")).toEqual({
          _id: "a",
          name: "강남 1주차장",
          n: 3,
          createdAt: "t0",
        });
      });

      it("an update without upsert on a missing document is a no-op", async () => {
        const c = collection("noupsert");
        await store().write([upsert(c, "present", { $set: { x: 1 } })]);
        await store().write([
          { op: "update", collection: c, id: "missing", update: { $set: { x: 2 }, $inc: { n: 1 } } },
        ]);
        expect(await store().findById(c, "missing")).toBeNull();
        expect(await store().count(c, {})).toBe(1);
        expect(await store().findById(c, "present")).toEqual({ _id: "present", x: 1 });
      });

      it("applies $set, $inc, $unset, $max, $min, $push and dotted paths like MongoDB", async () => {
        const c = collection("operators");
        await store().write([
          {
            op: "replace",
            collection: c,
            id: "a",
            document: { n: 1, s: "x", nested: { a: 1 }, hi: 7, lo: 7 },
          },
        ]);
        await store().write([
          upsert(c, "a", {
            $inc: { n: 2, "nested.a": 5, "nested.b": 1 },
            $unset: { s: "", absent: "" },
            $max: { hi: 10, newMax: 3 },
            $min: { lo: -1 },
            $push: { tags: "a" },
          }),
        ]);
        await store().write([
          upsert(c, "a", {
            $max: { hi: 5 },
            $min: { lo: 3 },
            $push: { tags: "b" },
            $set: { "coupon.status": "ISSUED", "coupon.issuedAt": "2024-05-01T00:00:00.000Z" },
          }),
        ]);
        const doc = await store().findById(c, "a");
        expect(doc).toEqual({
          _id: "a",
          n: 3,
          nested: { a: 6, b: 1 },
          hi: 10,
          newMax: 3,
          lo: -1,
          tags: ["a", "b"],
          coupon: { status: "ISSUED", issuedAt: "2024-05-01T00:00:00.000Z" },
        });
        expect(doc).not.toHaveProperty("s");
        await store().write([upsert(c, "a", { $set: { "coupon.status": "REVOKED" } })]);
        expect((await store().findById<Doc>(c, "a"))?.coupon).toEqual({
          status: "REVOKED",
          issuedAt: "2024-05-01T00:00:00.000Z",
        });
      });

      it("replace writes the whole document under the op's id, creating it when missing", async () => {
        const c = collection("replace");
        await store().write([upsert(c, "a", { $set: { x: 1, y: 2 } })]);
        await store().write([{ op: "replace", collection: c, id: "a", document: { y: 3, z: "w" } }]);
        expect(await store().findById(c, "a")).toEqual({ _id: "a", y: 3, z: "w" });
        await store().write([
          { op: "replace", collection: c, id: "b", document: { _id: "b", k: [1, { v: "x" }] } },
        ]);
        expect(await store().findById(c, "b")).toEqual({ _id: "b", k: [1, { v: "x" }] });
      });

      it("delete removes the document; deleting a missing one is a no-op", async () => {
        const c = collection("delete");
        await store().write([upsert(c, "a", { $set: { x: 1 } }), upsert(c, "b", { $set: { x: 2 } })]);
        await store().write([
          { op: "delete", collection: c, id: "a" },
          { op: "delete", collection: c, id: "nope" },
        ]);
        expect(await store().findById(c, "a")).toBeNull();
        expect(ids(await store().find(c, {}))).toEqual(["b"]);
      });

      it("ops on the same document within one batch apply in order", async () => {
        const c = collection("sequence");
        const lot = collection("lots");
        const ops: WriteOp[] = [
          upsert(c, "a", { $set: { n: 1 } }),
          upsert(c, "a", { $inc: { n: 2 } }),
          { op: "replace", collection: c, id: "a", document: { m: 1 } },
          upsert(c, "a", { $inc: { m: 1 } }),
          { op: "delete", collection: c, id: "a" },
          { op: "update", collection: c, id: "a", update: { $set: { ghost: true } } },
          upsert(c, "a", { $setOnInsert: { again: true } }),
          { op: "delete", collection: c, id: "b" },
          upsert(c, "b", { $set: { x: 1 } }),
          { op: "delete", collection: c, id: "b" },
        ];
        for (let i = 0; i < 200; i++) {
          ops.push(
            upsert(lot, "L1", { $inc: { total: 1, active: i % 2 === 0 ? 1 : -1 }, $max: { lastSeq: i } }),
          );
        }
        await store().write(ops);
        expect(await store().findById(c, "a")).toEqual({ _id: "a", again: true });
        expect(await store().findById(c, "b")).toBeNull();
        expect(await store().findById(lot, "L1")).toEqual({ _id: "L1", total: 200, active: 0, lastSeq: 199 });
      });

      it("numbers, strings, nested values and Unicode round-trip", async () => {
        const c = collection("roundtrip");
        await store().ensureIndexes(c, [{ name: "carNumber_1", keys: { carNumber: 1 } }]);
        const document = {
          carNumber: "10더8612",
          name: "강남 1주차장 🚗 — ünïcödé",
          empty: "",
          quotes: `it's "quoted" \\ back\nline`,
          int: 42,
          negative: -17,
          float: 0.1 + 0.2,
          big: Number.MAX_SAFE_INTEGER,
          tiny: 5e-324,
          zero: 0,
          yes: true,
          no: false,
          nothing: null,
          list: [1, "two", { three: 3 }, [4]],
          nested: { deeper: { deepest: "깊이" } },
        };
        await store().write([{ op: "replace", collection: c, id: "예약-1 🅿", document }]);
        expect(await store().findById(c, "예약-1 🅿")).toEqual({ _id: "예약-1 🅿", ...document });
        expect(ids(await store().find(c, { carNumber: "10더8612" }))).toEqual(["예약-1 🅿"]);
        expect(ids(await store().find(c, { "nested.deeper.deepest": "깊이" }))).toEqual(["예약-1 🅿"]);
      });

      it("a batch is atomic: when a later op fails, nothing of the batch is visible", async () => {
        const c = collection("atomic");
        const other = collection("atomic_other");
        await store().write([upsert(c, "keep", { $set: { n: 1, s: "text" } })]);
        const batch: WriteOp[] = [
          upsert(c, "new1", { $set: { n: 1 } }),
          upsert(c, "keep", { $inc: { n: 1 } }),
          upsert(other, "x", { $set: { n: 1 } }),
          { op: "delete", collection: c, id: "keep2" },
          upsert(c, "keep", { $inc: { s: 1 } }), // $inc on a string: MongoDB refuses it
          upsert(c, "new2", { $set: { n: 2 } }),
        ];
        await expect(store().write(batch)).rejects.toBeInstanceOf(DocumentStoreError);
        expect(await store().findById(c, "new1")).toBeNull();
        expect(await store().findById(c, "new2")).toBeNull();
        expect(await store().findById(other, "x")).toBeNull();
        expect(await store().findById(c, "keep")).toEqual({ _id: "keep", n: 1, s: "text" });
        // The store keeps working after a failed batch.
        await store().write([upsert(c, "keep", { $inc: { n: 1 } })]);
        expect(await store().findById(c, "keep")).toEqual({ _id: "keep", n: 2, s: "text" });
      });

      it("a conditional update writes the batch only if its document matches (compare-and-set)", async () => {
        const c = collection("conditional");
        const other = collection("conditional_other");
        const leased = (holder: string, epoch: number, ifFilter: Filter): WriteOp => ({
          op: "update",
          collection: c,
          id: "lease",
          upsert: true,
          if: ifFilter,
          update: { $set: { holder, epoch } },
        });
        // Missing document: matches only with upsert.
        await expect(
          store().write([
            { op: "update", collection: c, id: "lease", if: { epoch: 0 }, update: { $set: { x: 1 } } },
          ]),
        ).rejects.toBeInstanceOf(WriteConditionFailedError);
        await store().write([leased("A", 1, { epoch: 0 })]);
        expect(await store().findById(c, "lease")).toEqual({ _id: "lease", holder: "A", epoch: 1 });

        // A stale condition: nothing of the batch is written, the error names the document.
        const stale = store().write([
          upsert(other, "effect", { $inc: { n: 1 } }),
          leased("B", 2, { epoch: 0 }),
          upsert(other, "after", { $inc: { n: 1 } }),
        ]);
        await expect(stale).rejects.toBeInstanceOf(WriteConditionFailedError);
        await expect(stale).rejects.toMatchObject({ collection: c, id: "lease" });
        expect(await store().findById(other, "effect")).toBeNull();
        expect(await store().findById(other, "after")).toBeNull();

        // A matching condition (operators and all) writes everything.
        await store().write([
          upsert(other, "effect", { $inc: { n: 1 } }),
          leased("B", 2, { $or: [{ holder: "A", epoch: { $gte: 1 } }, { holder: "nobody" }] }),
        ]);
        expect(await store().findById(c, "lease")).toEqual({ _id: "lease", holder: "B", epoch: 2 });
        expect(await store().findById(other, "effect")).toEqual({ _id: "effect", n: 1 });
        // The condition sees the batch's earlier ops on the same document.
        await store().write([upsert(c, "lease", { $set: { epoch: 3 } }), leased("C", 4, { epoch: 3 })]);
        expect(await store().findById(c, "lease")).toEqual({ _id: "lease", holder: "C", epoch: 4 });
      });

      it("of concurrent compare-and-sets on one document expecting the same state, exactly one wins", async () => {
        const c = collection("cas_race");
        await store().write([upsert(c, "lease", { $set: { epoch: 1 } })]);
        const outcomes = await Promise.allSettled(
          ["A", "B", "C", "D"].map((holder) =>
            store().write([
              {
                op: "update",
                collection: c,
                id: "lease",
                if: { epoch: 1 },
                update: { $set: { epoch: 2, holder } },
              },
            ]),
          ),
        );
        expect(outcomes.filter((o) => o.status === "fulfilled")).toHaveLength(1);
        for (const o of outcomes.filter((o) => o.status === "rejected"))
          expect((o as PromiseRejectedResult).reason).toBeInstanceOf(DocumentStoreError);
        expect(await store().findById(c, "lease")).toMatchObject({ epoch: 2 });
      });

      it("rejects malformed ops before writing anything", async () => {
        const c = collection("malformed");
        await expect(store().write([upsert(c, "a", { x: 1 })])).rejects.toBeInstanceOf(DocumentStoreError);
        await expect(store().write([upsert(c, "a", {})])).rejects.toBeInstanceOf(DocumentStoreError);
        await expect(
          store().write([
            upsert(c, "ok", { $set: { x: 1 } }),
            { op: "replace", collection: c, id: "a", document: { _id: "b" } },
          ]),
        ).rejects.toBeInstanceOf(DocumentStoreError);
        await expect(store().write([upsert("Bad-Name", "a", { $set: { x: 1 } })])).rejects.toBeInstanceOf(
          DocumentStoreError,
        );
        expect(await store().findById(c, "ok")).toBeNull();
        await store().write([]);
      });
    });

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
        expect(await store().countBy(c, { seq: { $gte: 1000 } }, "parkingLotId")).toEqual(
          new Map([[null, 2]]),
        );
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

    describe("indexes and collections", () => {
      it("ensureIndexes is idempotent and creates the collection", async () => {
        const c = collection("ensure");
        await store().ensureIndexes(c, RESERVATION_INDEXES);
        await store().ensureIndexes(c, RESERVATION_INDEXES);
        await store().ensureIndexes(c, [RESERVATION_INDEXES[0]!]);
        expect(await store().listCollections()).toContain(c);
        await store().write([upsert(c, "r1", { $set: { parkingLotId: "L1", seq: 1 } })]);
        await store().ensureIndexes(c, RESERVATION_INDEXES);
        expect(ids(await store().find(c, { parkingLotId: "L1" }))).toEqual(["r1"]);
        const plan = await store().explain(c, { parkingLotId: "L1" }, { sort: { seq: -1 }, limit: 10 });
        expect(plan.indexed, plan.detail).toBe(true);
      });

      it("prepareIndexes announces indexes that ensureIndexes builds after a bulk load", async () => {
        const c = collection("prepare");
        await store().prepareIndexes(c, RESERVATION_INDEXES);
        await store().prepareIndexes(c, RESERVATION_INDEXES);
        expect(await store().listCollections()).toContain(c);
        const docs = Array.from({ length: 40 }, (_, k) => reservation(k + 1));
        await store().write(
          docs.map(
            ({ _id, ...rest }) => ({ op: "replace", collection: c, id: _id, document: rest }) as const,
          ),
        );
        // Updates after the load change indexed fields and others, as a rebuild's later batches do.
        await store().write([
          { op: "update", collection: c, id: "r0001", update: { $set: { status: "CANCELED", amount: 1 } } },
          { op: "update", collection: c, id: "r0002", update: { $set: { amount: 2 } } },
          { op: "update", collection: c, id: "r0003", update: { $inc: { seq: 100 } } },
          { op: "delete", collection: c, id: "r0004" },
        ]);
        await store().ensureIndexes(c, RESERVATION_INDEXES);
        const expected = docs
          .filter((d) => d._id !== "r0004")
          .map((d) =>
            d._id === "r0001"
              ? { ...d, status: "CANCELED", amount: 1 }
              : d._id === "r0002"
                ? { ...d, amount: 2 }
                : d._id === "r0003"
                  ? { ...d, seq: d.seq + 100 }
                  : d,
          );
        const page = await store().find(c, { parkingLotId: "L0" }, { sort: { seq: -1 }, limit: 5 });
        expect(page).toEqual(
          expected
            .filter((d) => d.parkingLotId === "L0")
            .sort((a, b) => b.seq - a.seq)
            .slice(0, 5),
        );
        expect(await store().count(c, { status: "CANCELED" })).toBe(
          expected.filter((d) => d.status === "CANCELED").length,
        );
        const plan = await store().explain(c, { parkingLotId: "L0" }, { sort: { seq: -1 }, limit: 5 });
        expect(plan.indexed, plan.detail).toBe(true);
      });

      it("a unique index rejects a duplicate and the whole batch rolls back", async () => {
        const c = collection("unique");
        await store().ensureIndexes(c, [{ name: "email_1", keys: { email: 1 }, unique: true }]);
        await store().write([upsert(c, "a", { $set: { email: "a@example.com" } })]);
        await expect(
          store().write([
            upsert(c, "b", { $set: { email: "b@example.com" } }),
            upsert(c, "c", { $set: { email: "a@example.com" } }),
          ]),
        ).rejects.toBeInstanceOf(DocumentStoreError);
        expect(await store().findById(c, "b")).toBeNull();
        expect(await store().findById(c, "c")).toBeNull();
        // Rewriting a document with its own value, and moving a value between documents in order, are fine.
        await store().write([
          upsert(c, "a", { $set: { email: "a@example.com", n: 1 } }),
          upsert(c, "a", { $set: { email: "a2@example.com" } }),
          upsert(c, "b", { $set: { email: "a@example.com" } }),
        ]);
        expect(await store().findById(c, "b")).toEqual({ _id: "b", email: "a@example.com" });
      });

      it("listCollections lists what exists; dropCollection removes it (and tolerates a missing one)", async () => {
        const one = collection("list_one");
        const two = collection("list_two");
        await store().write([upsert(one, "a", { $set: { x: 1 } }), upsert(two, "b", { $set: { x: 2 } })]);
        const before = await store().listCollections();
        expect(before).toEqual(expect.arrayContaining([one, two]));
        await store().dropCollection(one);
        const after = await store().listCollections();
        expect(after).not.toContain(one);
        expect(after).toContain(two);
        expect(await store().find(one, {})).toEqual([]);
        await store().dropCollection(one);
        await store().write([upsert(one, "a2", { $set: { x: 3 } })]);
        expect(ids(await store().find(one, {}))).toEqual(["a2"]);
      });
    });

    describe("model-based", () => {
      it("random batches of update/replace/delete ops give what mingo's updater gives on plain objects", async () => {
        await fc.assert(
          fc.asyncProperty(
            fc.array(fc.array(writeOpArbitrary, { minLength: 1, maxLength: 8 }), {
              minLength: 1,
              maxLength: 5,
            }),
            fc.constantFrom("none", "indexed", "prepared"),
            async (batches, indexing) => {
              const c = collection("model");
              const model = new Map<string, Doc>();
              try {
                if (indexing === "indexed") await store().ensureIndexes(c, MODEL_INDEXES);
                if (indexing === "prepared") await store().prepareIndexes(c, MODEL_INDEXES);
                for (const batch of batches) {
                  const ops: WriteOp[] = batch.map((op) => ({ ...op, collection: c }));
                  await store().write(ops);
                  for (const op of ops) applyToModel(model, op);
                }
                if (indexing === "prepared") await store().ensureIndexes(c, MODEL_INDEXES);
                const stored = await store().find<Doc>(c, {}, { sort: { _id: 1 } });
                expect(stored).toEqual([...model.values()].sort(byId));
                // Through the indexes (when there are): what the same query finds in the model.
                for (const [filter, sort] of MODEL_QUERIES) {
                  const expected = mingoFind([...model.values()], filter)
                    .sort(sort)
                    .all();
                  expect(await store().find<Doc>(c, filter, { sort }), JSON.stringify(filter)).toEqual(
                    expected,
                  );
                  expect(await store().count(c, filter)).toBe(expected.length);
                }
              } finally {
                await store().dropCollection(c);
              }
            },
          ),
          { numRuns: 100 },
        );
      });
    });
  });
}

const MODEL_INDEXES: readonly IndexSpec[] = [
  { name: "n_1", keys: { n: 1 } },
  { name: "s_1_sub.x_-1", keys: { s: 1, "sub.x": -1 } },
  { name: "sub.y_1_n_-1", keys: { "sub.y": 1, n: -1 } },
];

const MODEL_QUERIES: readonly (readonly [Filter, Record<string, 1 | -1>])[] = [
  [{ n: { $gte: 0 } }, { n: 1, _id: 1 }],
  [{ n: { $lt: 3 } }, { n: -1, _id: 1 }],
  [{ s: "x" }, { _id: 1 }],
  [{ s: null }, { _id: 1 }],
  [
    { s: { $in: ["y", "강남"] }, "sub.x": { $gt: -5 } },
    { "sub.x": -1, _id: 1 },
  ],
  [{ "sub.y": { $in: ["x", "🚗", ""] } }, { n: -1, _id: 1 }],
];

// ---- model-based test: ops whose semantics MongoDB and mingo share (types stay consistent per field) ----

type OpWithoutCollection =
  | { op: "update"; id: string; update: Record<string, Record<string, unknown>>; upsert: boolean }
  | { op: "replace"; id: string; document: Record<string, unknown> }
  | { op: "delete"; id: string };

const small = fc.integer({ min: -20, max: 20 });
const word = fc.constantFrom("x", "y", "강남", "🚗", "");
const operatorOn = (
  operator: string,
  value: fc.Arbitrary<unknown>,
): fc.Arbitrary<readonly [string, unknown]> => value.map((v): readonly [string, unknown] => [operator, v]);
const numeric = fc.oneof(
  operatorOn("$inc", small),
  operatorOn("$set", small),
  operatorOn("$max", small),
  operatorOn("$min", small),
);
const FIELD_OPERATIONS: Readonly<Record<string, fc.Arbitrary<readonly [string, unknown]>>> = {
  n: numeric,
  m: numeric,
  s: fc.oneof(operatorOn("$set", word), operatorOn("$unset", fc.constant(""))),
  "sub.x": fc.oneof(operatorOn("$inc", small), operatorOn("$set", small)),
  "sub.y": fc.oneof(operatorOn("$set", word), operatorOn("$unset", fc.constant(""))),
  tags: operatorOn("$push", word),
  created: operatorOn("$setOnInsert", word),
};

const updateArbitrary = fc
  .record(
    Object.fromEntries(
      Object.entries(FIELD_OPERATIONS).map(([field, arb]) => [field, fc.option(arb, { nil: undefined })]),
    ),
  )
  .map((picks) => {
    const update: Record<string, Record<string, unknown>> = {};
    for (const [field, pick] of Object.entries(picks)) {
      if (pick === undefined) continue;
      const [operator, value] = pick;
      update[operator] = { ...update[operator], [field]: value };
    }
    return update;
  })
  .filter((update) => Object.keys(update).length > 0);

const idArbitrary = fc.constantFrom("a", "b", "c");

const writeOpArbitrary: fc.Arbitrary<OpWithoutCollection> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constant("update" as const),
      id: idArbitrary,
      update: updateArbitrary,
      upsert: fc.boolean(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant("replace" as const),
      id: idArbitrary,
      document: fc.record({ n: small, s: word, sub: fc.record({ x: small }) }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("delete" as const), id: idArbitrary }) },
);

/** The reference: MongoDB's updateOne({ _id }, update, { upsert }) / replaceOne / deleteOne with mingo's updater. */
function applyToModel(model: Map<string, Doc>, op: WriteOp): void {
  switch (op.op) {
    case "delete":
      model.delete(op.id);
      return;
    case "replace":
      model.set(op.id, { ...structuredClone(op.document), _id: op.id });
      return;
    case "update": {
      const { $setOnInsert, ...rest } = op.update as Record<string, Record<string, unknown>>;
      const existing = model.get(op.id);
      if (existing !== undefined) {
        if (Object.keys(rest).length > 0)
          mingoUpdate(existing, rest as Modifier<Doc>, undefined, undefined, { cloneMode: "deep" });
        return;
      }
      if (op.upsert !== true) return;
      const created: Doc = { _id: op.id };
      if (Object.keys(rest).length > 0)
        mingoUpdate(created, rest as Modifier<Doc>, undefined, undefined, { cloneMode: "deep" });
      if ($setOnInsert !== undefined)
        mingoUpdate(created, { $set: $setOnInsert } as Modifier<Doc>, undefined, undefined, {
          cloneMode: "deep",
        });
      model.set(op.id, created);
      return;
    }
  }
}
