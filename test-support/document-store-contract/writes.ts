import { describe, expect, it } from "vitest";
import type { Filter, WriteOp } from "../../document-store/port.js";
import { DocumentStoreError, WriteConditionFailedError } from "../../document-store/port.js";
import { byId, type ContractContext, type Doc, ids } from "./fixtures.js";

/** Writes: upserts, replaces, deletes, conditions and atomic batches. */
export function writesContract(t: ContractContext): void {
  const { store, collection, upsert } = t;
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
      await store().write([upsert(c, "a", { $inc: { n: 2 }, $setOnInsert: { createdAt: "t1", other: 1 } })]);
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

    it("deleteMany removes every document its filter matches as the batch's earlier ops left them, and only those (issue 48)", async () => {
      const c = collection("deletemany");
      await store().ensureIndexes(c, [{ name: "lot_at", keys: { lot: 1, at: 1 } }]);
      await store().write([
        upsert(c, "a1", { $set: { lot: "A", at: 1 } }),
        upsert(c, "a2", { $set: { lot: "A", at: 2 } }),
        upsert(c, "a5", { $set: { lot: "A", at: 5 } }),
        upsert(c, "b1", { $set: { lot: "B", at: 1 } }),
      ]);
      await store().write([
        // Earlier in the batch: a2 moves past the range, a3 enters it, a4 is created in it.
        upsert(c, "a2", { $set: { at: 6 } }),
        upsert(c, "a5", { $set: { at: 3 } }),
        upsert(c, "a4", { $set: { lot: "A", at: 4 } }),
        { op: "deleteMany", collection: c, filter: { lot: "A", at: { $lt: 5 } } },
        // Later in the batch: a document written again in the range stays.
        { op: "replace", collection: c, id: "a1", document: { lot: "A", at: 5 } },
      ]);
      expect(ids((await store().find(c, {})).sort(byId))).toEqual(["a1", "a2", "b1"]);
      expect(await store().findById(c, "a1")).toEqual({ _id: "a1", lot: "A", at: 5 });
      // Matching nothing, or in a collection not created yet, it is a no-op.
      await store().write([{ op: "deleteMany", collection: c, filter: { lot: "Z" } }]);
      await store().write([{ op: "deleteMany", collection: collection("deletemany_none"), filter: {} }]);
      expect(await store().count(c, {})).toBe(3);
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
}
