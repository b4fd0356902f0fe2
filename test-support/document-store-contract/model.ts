import fc from "fast-check";
import { find as mingoFind } from "mingo";
import type { Modifier } from "mingo/updater";
import { update as mingoUpdate } from "mingo/updater";
import { describe, expect, it } from "vitest";
import type { Filter, IndexSpec, WriteOp } from "../../document-store/port.js";
import { byId, type ContractContext, type Doc } from "./fixtures.js";

/** Model-based: random batches of ops against mingo on plain objects. */
export function modelContract(t: ContractContext): void {
  const { store, collection } = t;
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
