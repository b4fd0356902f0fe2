import { describe, expect, it } from "vitest";
import { DocumentStoreError } from "../../document-store/port.js";
import { type ContractContext, ids, RESERVATION_INDEXES, reservation } from "./fixtures.js";

/** Indexes and collections. */
export function indexesContract(t: ContractContext): void {
  const { store, collection, upsert } = t;
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
        docs.map(({ _id, ...rest }) => ({ op: "replace", collection: c, id: _id, document: rest }) as const),
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
}
