import fc from "fast-check";
import type { Modifier } from "mingo/updater";
import { update as mingoUpdate } from "mingo/updater";
import { describe, expect, it } from "vitest";
import { applyUpdateGenerally } from "../../test-support/update-reference.js";
import { DocumentStoreError } from "../port.js";
import {
  applyUpdate,
  assertUpdateApplicable,
  findConflictingPaths,
  type MutableDocument,
  replacementDocument,
} from "./update-semantics.js";

describe("applyUpdate", () => {
  it("creates a missing document only when upserting, with $setOnInsert", () => {
    expect(applyUpdate(null, "a", { $set: { x: 1 } }, false)).toEqual({ doc: null, changed: false });
    expect(applyUpdate(null, "a", { $inc: { n: 2 }, $setOnInsert: { createdAt: "t0" } }, true)).toEqual({
      doc: { _id: "a", n: 2, createdAt: "t0" },
      changed: true,
    });
    expect(applyUpdate(null, "a", { $unset: { x: "" } }, true)).toEqual({ doc: { _id: "a" }, changed: true });
  });

  it("ignores $setOnInsert on an existing document and reports whether anything changed", () => {
    const doc: MutableDocument = { _id: "a", n: 1 };
    expect(applyUpdate(doc, "a", { $setOnInsert: { createdAt: "t1" } }, true)).toEqual({
      doc,
      changed: false,
    });
    expect(applyUpdate(doc, "a", { $max: { n: 0 } }, true).changed).toBe(false);
    expect(applyUpdate(doc, "a", { $inc: { n: 1 }, $set: { "c.status": "ISSUED" } }, false)).toEqual({
      doc: { _id: "a", n: 2, c: { status: "ISSUED" } },
      changed: true,
    });
  });

  it("does not alias values from the op into the document", () => {
    const value = { list: [1] };
    const { doc } = applyUpdate(null, "a", { $set: { v: value } }, true);
    value.list.push(2);
    expect(doc).toEqual({ _id: "a", v: { list: [1] } });
  });

  it("raises MongoDB's errors where mingo would skip silently", () => {
    const doc: MutableDocument = { _id: "a", s: "text", nil: null, arr: [1], obj: { k: 1 } };
    const fails = (update: Record<string, unknown>) =>
      expect(() => applyUpdate(structuredClone(doc), "a", update, false), JSON.stringify(update)).toThrow(
        DocumentStoreError,
      );
    fails({ $inc: { s: 1 } });
    fails({ $inc: { nil: 1 } });
    fails({ $mul: { obj: 2 } });
    fails({ $push: { s: 1 } });
    fails({ $set: { "s.x": 1 } });
    fails({ $inc: { "nil.x": 1 } });
    fails({ $set: { x: 1 }, $inc: { x: 1 } });
    fails({ $set: { "obj.k": 1 }, $unset: { obj: "" } });
    fails({ $setOnInsert: { x: 1 }, $set: { x: 2 } });
    fails({ $set: { _id: "b" } });
    fails({ $inc: { n: "1" } });
    expect(() => assertUpdateApplicable(doc, { $unset: { "s.x": "" } })).not.toThrow();
    expect(() =>
      assertUpdateApplicable(doc, { $push: { arr: 2 }, $inc: { "obj.k": 1, "obj.new": 1 } }),
    ).not.toThrow();
  });

  it("findConflictingPaths finds equal and prefix paths across operators", () => {
    expect(findConflictingPaths({ $set: { a: 1 }, $inc: { b: 1 } })).toBeUndefined();
    expect(findConflictingPaths({ $set: { "a.b": 1 }, $inc: { "a.c": 1 } })).toBeUndefined();
    expect(findConflictingPaths({ $set: { "a.b": 1 }, $unset: { a: "" } })).toEqual(["a.b", "a"]);
    expect(findConflictingPaths({ $rename: { a: "b" }, $set: { b: 1 } })).toEqual(["b", "b"]);
  });
});

describe("replacementDocument", () => {
  it("puts the op's _id first and copies the document", () => {
    const source = { x: { y: 1 }, _id: "a" };
    const doc = replacementDocument("a", source);
    expect(Object.keys(doc)).toEqual(["_id", "x"]);
    source.x.y = 2;
    expect(doc).toEqual({ _id: "a", x: { y: 1 } });
  });
});

describe("fast path for $set/$inc/$unset/$min/$max/$push agrees with mingo's updater", () => {
  const cases: Array<[string, Record<string, unknown>, Record<string, Record<string, unknown>>]> = [
    [
      "nested object then dotted set",
      { _id: "r" },
      { $set: { coupon: { couponId: "c", status: "ISSUED" }, status: "RESERVED" } },
    ],
    [
      "dotted set into existing object",
      { _id: "r", coupon: { couponId: "c", status: "ISSUED" } },
      { $set: { "coupon.status": "REVOKED", "coupon.revokedAt": "t" } },
    ],
    ["inc on missing and existing", { _id: "l", a: 1 }, { $inc: { a: -1, b: 2 }, $set: { updatedAt: "t" } }],
    ["inc by zero on existing", { _id: "l", a: 1 }, { $inc: { a: 0 } }],
    [
      "unset present and missing",
      { _id: "x", a: 1, sub: { b: 2 } },
      { $unset: { a: "", "sub.b": "", "nope.deeper": "" } },
    ],
    ["set same value", { _id: "x", a: { b: 1 } }, { $set: { a: { b: 1 } } }],
    ["dotted creates parents", { _id: "x" }, { $set: { "a.b.c": 5 }, $inc: { "n.m": 1 } }],
    [
      "min and max on strings and numbers",
      { _id: "r", heldUntil: "9999-12-31T23:59:59.999Z", n: 5 },
      { $min: { heldUntil: "2026-11-22T11:05:00.000Z", m: 3 }, $max: { n: 7, "sub.t": "a" } },
    ],
    ["min and max that change nothing", { _id: "r", a: "b", n: 5 }, { $min: { a: "c" }, $max: { n: 5 } }],
    [
      "push onto an existing array, a missing one and a missing parent",
      { _id: "f", facts: [{ revision: 1 }] },
      { $set: { parkingLotId: "l" }, $push: { facts: { revision: 2 }, "more.list": [1] }, $max: { at: 2 } },
    ],
    ["set an array", { _id: "p", failures: [1] }, { $set: { failures: [], list: [{ a: 1 }] } }],
  ];
  it.each(cases)("%s", (_name, doc, update) => {
    const viaStore = applyUpdate(structuredClone(doc) as MutableDocument, doc._id as string, update, false);
    const reference = structuredClone(doc) as MutableDocument;
    const modified = mingoUpdate(reference, update as Modifier<MutableDocument>, undefined, undefined, {
      cloneMode: "deep",
    });
    expect(viaStore.doc).toEqual(reference);
    expect(viaStore.changed).toBe(modified.length > 0);
  });
});

// ---- the fast path (shape cache, direct application) against the general path (checks + mingo) ----

const scalar = fc.oneof(
  fc.integer({ min: -3, max: 3 }),
  fc.constantFrom(0.5, -0, Number.NaN, "", "a", "b", "강남", "🚗", true, false, null),
);
const dictionary = fc.dictionary(fc.constantFrom("x", "y"), scalar, { maxKeys: 2 });
const value: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: scalar },
  { weight: 1, arbitrary: fc.array(scalar, { maxLength: 2 }) },
  { weight: 1, arbitrary: fc.array(dictionary, { maxLength: 2 }) },
  { weight: 1, arbitrary: dictionary },
  // $push's modifiers ($each must be an array, $slice an integer): mingo's, never the fast path's.
  {
    weight: 1,
    arbitrary: fc.dictionary(
      fc.constantFrom("$each", "$slice", "x"),
      fc.oneof(fc.array(scalar, { maxLength: 2 }), scalar),
      { minKeys: 1, maxKeys: 2 },
    ),
  },
);
const PATHS = [
  "n",
  "s",
  "sub",
  "sub.x",
  "sub.y",
  "sub.x.z",
  "arr",
  "arr.0",
  "_id",
  "constructor",
  "__proto__",
];
const field = fc.constantFrom(...PATHS.slice(0, 7));
const documentArbitrary = fc
  .record(
    {
      n: value,
      s: value,
      sub: fc.oneof(value, fc.record({ x: value, y: value }, { requiredKeys: [] })),
      arr: fc.array(scalar, { maxLength: 2 }),
    },
    { requiredKeys: [] },
  )
  .map((doc) => ({ _id: "d", ...doc }) as MutableDocument);
const OPERATORS = ["$set", "$inc", "$unset", "$min", "$max", "$setOnInsert", "$push"] as const;
const updateArbitrary = fc
  .array(
    fc.tuple(
      fc.constantFrom(...OPERATORS),
      fc.oneof({ weight: 9, arbitrary: field }, { weight: 1, arbitrary: fc.constantFrom(...PATHS) }),
      value,
    ),
    { minLength: 1, maxLength: 4 },
  )
  .map((entries) => {
    const update: Record<string, Record<string, unknown>> = {};
    for (const [operator, path, v] of entries) update[operator] = { ...update[operator], [path]: v };
    return update;
  });

/** The outcome of one path, with the document it leaves (or the error it throws). */
function outcome(run: () => { doc: MutableDocument | null; changed: boolean }) {
  try {
    const { doc, changed } = run();
    return { doc: doc === null ? null : JSON.stringify(doc), object: doc, changed };
  } catch (error) {
    return {
      error: error instanceof DocumentStoreError ? error.message : `not a DocumentStoreError: ${error}`,
    };
  }
}

describe("applyUpdate (fast path and cached shapes) agrees with the general path", () => {
  it("on random documents and updates: same document, key order, changed flag and errors", () => {
    fc.assert(
      fc.property(
        fc.option(documentArbitrary, { nil: null }),
        fc.array(fc.tuple(updateArbitrary, fc.boolean()), { minLength: 1, maxLength: 4 }),
        (start, updates) => {
          let fast: MutableDocument | null = start === null ? null : structuredClone(start);
          let general: MutableDocument | null = start === null ? null : structuredClone(start);
          for (const [update, upsert] of updates) {
            // Each path gets its own copy: mingo's $min/$max put the op's value itself into the document.
            const a = outcome(() => applyUpdate(fast, "d", structuredClone(update), upsert));
            const b = outcome(() => applyUpdateGenerally(general, "d", structuredClone(update), upsert));
            expect({ ...a, object: undefined }).toEqual({ ...b, object: undefined });
            if ("error" in a) return; // a batch stops at its first error
            expect(a.object).toEqual(b.object);
            fast = a.object ?? null;
            general = b.object ?? null;
          }
        },
      ),
      { numRuns: 3000 },
    );
  });

  it("a shape seen before applies the same way to a document in another state", () => {
    const update = { $set: { "sub.x": 1 }, $inc: { n: 1 } };
    expect(applyUpdate({ _id: "a" }, "a", update, false).doc).toEqual({ _id: "a", sub: { x: 1 }, n: 1 });
    const scalarSub = { _id: "b", sub: "text", n: 1 } as MutableDocument;
    expect(() => applyUpdate(scalarSub, "b", update, false)).toThrow(/Cannot create field 'x'/);
    expect(() => applyUpdate({ _id: "c", n: "1" }, "c", update, false)).toThrow(/non-numeric/);
  });
});
