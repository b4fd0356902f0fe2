import { describe, expect, it } from "vitest";
import { UnboundedQueryError } from "../../document-store/bounds.js";
import { WorkBudgetExceededError, WorkMeter, withWorkMeter } from "../../platform/work-budget.js";
import { byId, type ContractContext, type Reservation, reservation } from "./fixtures.js";

/** A request's meter with room for `documents`. */
const meter = (documents = 1_000_000) => new WorkMeter("contract", { documents, events: 0 });

/**
 * Issue 66: what a query examines is bounded by what it answers. A read of many ids goes by the
 * primary key, whatever the list's length (its plan says so on every adapter: on MongoDB, explain's
 * winning plan); a request's reads are charged to its work budget, which ends it once spent. The
 * embedded store refuses a request's query that scans or reads far past its page (MongoDB refuses
 * a scan on the server, which runs with notablescan; the in-memory fold store only charges).
 */
export function boundsContract(t: ContractContext, refusesUnbounded: boolean): void {
  const { store, collection, seedReservations } = t;
  describe("bounded work", () => {
    it("reads a long list of ids by primary key: the matches, never the collection", async () => {
      const c = collection("many_ids");
      const docs = await seedReservations(c, 400);
      const wanted = [...docs.filter((_, k) => k % 8 === 0).map((d) => d._id)];
      const list = [...wanted, ...Array.from({ length: 1_150 }, (_, k) => `missing-${k}`)];
      const plan = await store().explain(c, { _id: { $in: list } });
      expect(plan.indexed, plan.detail).toBe(true);
      const counted = meter();
      const found = await withWorkMeter(counted, () => store().find<Reservation>(c, { _id: { $in: list } }));
      expect([...found].sort(byId)).toEqual(docs.filter((d) => wanted.includes(d._id)).sort(byId));
      // The 50 matches, not the 400 documents of the collection.
      expect(counted.documents).toBe(wanted.length);
      const numbers = Array.from({ length: 700 }, (_, k) => k);
      expect((await store().find<Reservation>(c, { seq: { $in: numbers } })).length).toBe(400);
    });

    it("charges what a request's queries read to its budget, and ends it past the budget", async () => {
      const c = collection("budget");
      await seedReservations(c, 60);
      const counted = meter();
      await withWorkMeter(counted, async () => {
        await store().find(c, { parkingLotId: "L1" }, { sort: { seq: -1 }, limit: 5 });
        await store().findById(c, reservation(1)._id);
      });
      expect(counted.documents).toBe(6);
      const small = meter(10);
      await expect(withWorkMeter(small, () => store().find(c, { parkingLotId: "L1" }))).rejects.toThrow(
        WorkBudgetExceededError,
      );
      expect(small.exceeded).toBe("documents");
      // Outside a request nothing is charged or refused.
      expect(await store().find(c, { parkingLotId: "L1" })).toHaveLength(20);
    });

    it.skipIf(!refusesUnbounded)(
      "refuses a request's query that scans the collection or reads far past its limit",
      async () => {
        const c = collection("refused");
        await seedReservations(c, 400);
        const inRequest = <T>(body: () => Promise<T>) => withWorkMeter(meter(), body);
        // No index serves `amount`: a page of 1 would read the whole collection.
        await expect(
          inRequest(() => store().find(c, { amount: { $gte: 1000 } }, { limit: 1 })),
        ).rejects.toThrow(UnboundedQueryError);
        await expect(inRequest(() => store().find(c, { amount: { $gte: 1000 } }))).rejects.toThrow(
          UnboundedQueryError,
        );
        await expect(inRequest(() => store().count(c, { amount: { $gte: 1000 } }))).rejects.toThrow(
          UnboundedQueryError,
        );
        // An index serves these: they read their page (or their matches) only.
        const page = await inRequest(() =>
          store().find(c, { parkingLotId: "L1" }, { sort: { seq: -1 }, limit: 3 }),
        );
        expect(page).toHaveLength(3);
        const customer = await inRequest(() =>
          store().find(c, { customerId: "C1" }, { sort: { seq: -1 }, limit: 60 }),
        );
        expect(customer).toHaveLength(60);
        // Outside a request (projections, rebuilds), the same scan is allowed.
        expect(await store().find(c, { amount: { $gte: 1000 } })).toEqual([]);
      },
    );
  });
}
