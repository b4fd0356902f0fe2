import fc from "fast-check";
import { find as mingoFind, Query } from "mingo";
import { describe, expect, it } from "vitest";
import type { MutableDocument } from "../../document-store/embedded/update-semantics.js";
import type { Filter, WriteOp } from "../../document-store/port.js";
import { RESERVATIONS, reservationsProjection } from "../../projections/read-models/reservations.js";
import { physicalCollection } from "../../projections/runtime/checkpoints.js";
import type { ReservationStatus } from "../../schemas/read-models.js";
import { statusFilters } from "../views/rules.js";
import { FoldState } from "./fold-state.js";

/**
 * The fold's indexes (fold-index.ts) answer a page exactly as a scan of every document does: the
 * same documents in the same order, for the filters the lot page's listing asks (statusFilters,
 * with the lot and a cursor), after any writes, in the state written and in every copy taken
 * before (a copy shares the index's nodes: writes after it must not show in it).
 */

const COLLECTION = physicalCollection(RESERVATIONS, 1);
const STATUSES = ["PENDING_PAYMENT", "RESERVED", "CHECKED_IN", "COMPLETED", "CANCELED", "NO_SHOW"] as const;
const QUERIED: (ReservationStatus | undefined)[] = [undefined, ...STATUSES, "OVERSTAYING"];
const INSTANTS = ["2026-01-01T10:00:00.000Z", "2026-01-01T11:00:00.000Z", "2026-01-01T12:00:00.000Z"];
const ids = fc.constantFrom(...Array.from({ length: 12 }, (_, i) => `r${i}`));

/** A stored status, now and then one no index can key by (an array: mingo matches its elements). */
const status = fc.oneof(
  { weight: 20, arbitrary: fc.constantFrom<unknown>(...STATUSES) },
  { weight: 1, arbitrary: fc.constant<unknown>(["RESERVED", "CHECKED_IN"]) },
);
const document = fc.record(
  {
    parkingLotId: fc.constantFrom("A", "B"),
    status,
    endsAt: fc.constantFrom(...INSTANTS),
    // Positions repeat (ties are ordered by id), and now and then one is missing.
    seq: fc.oneof({ weight: 8, arbitrary: fc.nat(20) }, { weight: 1, arbitrary: fc.constant(null) }),
  },
  { requiredKeys: ["parkingLotId", "status"] },
);

const writeOp: fc.Arbitrary<WriteOp | "copy"> = fc.oneof(
  ids.chain((id) =>
    document.map((d): WriteOp => ({ op: "replace", collection: COLLECTION, id, document: d })),
  ),
  fc.tuple(ids, status, fc.option(fc.constantFrom(...INSTANTS)), fc.boolean()).map(
    ([id, s, endsAt, upsert]): WriteOp => ({
      op: "update",
      collection: COLLECTION,
      id,
      update:
        endsAt === null ? { $set: { status: s }, $unset: { endsAt: "" } } : { $set: { status: s, endsAt } },
      upsert,
    }),
  ),
  ids.map((id): WriteOp => ({ op: "delete", collection: COLLECTION, id })),
  fc.constant("copy" as const),
);

const query = fc.record({
  status: fc.constantFrom(...QUERIED),
  now: fc.constantFrom(...INSTANTS),
  closing: fc.constantFrom<string[]>([], ["A"]),
  lot: fc.constantFrom<string | undefined>("A", "B", undefined),
  cursor: fc.option(fc.nat(21)),
  limit: fc.integer({ min: 1, max: 6 }),
});

type PageQuery = typeof query extends fc.Arbitrary<infer Q> ? Q : never;

/** The filters the listing asks for a page (reservation-view.ts: each condition with the lot and the cursor). */
function pageFilters(q: PageQuery): Filter[] {
  return statusFilters(q.status, Date.parse(q.now), q.closing).map((c) => ({
    ...c,
    ...(q.lot ? { parkingLotId: q.lot } : {}),
    ...(q.cursor !== null ? { seq: { $lt: q.cursor } } : {}),
  }));
}

/** The plain scan: every document tested, sorted by seq newest first, ties by id. */
function scanned(docs: readonly MutableDocument[], filter: Filter, limit?: number): MutableDocument[] {
  const q = new Query(filter as Record<string, unknown>);
  return mingoFind(
    docs.filter((d) => q.test(d)),
    {},
  )
    .sort({ seq: -1, _id: 1 })
    .limit(limit ?? docs.length)
    .all() as MutableDocument[];
}

const byLot = () => new FoldState([reservationsProjection], { [RESERVATIONS]: ["by_lot", "by_lot_status"] });
const docsOf = (state: FoldState) => [...state.documents()].map(([, doc]) => doc);
const keyable = (docs: readonly MutableDocument[]) => docs.every((d) => !Array.isArray(d.status));

describe("a fold's indexes", () => {
  it("answer every page of the listing as the scan does, in the state and in each copy taken before", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(writeOp, { maxLength: 40 }),
        fc.array(query, { minLength: 1, maxLength: 4 }),
        async (ops, queries) => {
          const state = byLot();
          const copies: { state: FoldState; docs: MutableDocument[] }[] = [];
          for (const op of ops) {
            if (op === "copy") copies.push({ state: state.copy(), docs: docsOf(state) });
            else state.write([op]);
          }
          for (const { state: s, docs } of [...copies, { state, docs: docsOf(state) }]) {
            expect(docsOf(s)).toEqual(docs);
            const store = s.copy().materialize(null);
            for (const q of queries) {
              for (const filter of pageFilters(q)) {
                const options = { sort: { seq: -1 as const }, limit: q.limit };
                const found = await store.find(COLLECTION, filter, options);
                expect(found).toEqual(scanned(docs, filter, q.limit));
                expect(await store.count(COLLECTION, filter)).toBe(scanned(docs, filter).length);
                // The listing's filters pin the lot: walked in an index, unless a document no index keys by is in.
                if (q.lot && docs.length > 0 && keyable(docs))
                  expect((await store.explain(COLLECTION, filter, options)).indexed).toBe(true);
              }
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it("say when they are not used: a filter without the lot, or a sort no index has after its equalities", async () => {
    const state = byLot();
    state.write([
      {
        op: "replace",
        collection: COLLECTION,
        id: "r1",
        document: { parkingLotId: "A", status: "RESERVED", seq: 1 },
      },
    ]);
    const store = state.materialize(null);
    expect(
      await store.explain(COLLECTION, { parkingLotId: "A", status: "RESERVED" }, { sort: { seq: -1 } }),
    ).toEqual({
      indexed: true,
      detail: "range of the fold's index by_lot_status (parkingLotId, status pinned)",
    });
    expect((await store.explain(COLLECTION, { status: "RESERVED" }, { sort: { seq: -1 } })).indexed).toBe(
      false,
    );
    expect((await store.explain(COLLECTION, { parkingLotId: "A" }, { sort: { startsAt: 1 } })).indexed).toBe(
      false,
    );
    expect((await store.explain(COLLECTION, { parkingLotId: "A" }, { sort: { seq: 1 } })).indexed).toBe(
      false,
    );
  });
});
