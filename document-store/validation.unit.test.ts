import { describe, expect, it } from "vitest";
import type { WriteOp } from "./port.js";
import { DocumentStoreError } from "./port.js";
import { normalizeFindOptions, validateIndexSpecs, validateWriteOp } from "./validation.js";

describe("validateWriteOp", () => {
  const bad: unknown[] = [
    { op: "update", collection: "Lots", id: "a", update: { $set: { x: 1 } } },
    { op: "update", collection: "lots", id: 1, update: { $set: { x: 1 } } },
    { op: "update", collection: "lots", id: "a", update: {} },
    { op: "update", collection: "lots", id: "a", update: { x: 1 } },
    { op: "update", collection: "lots", id: "a", update: { $currentDate: { x: true } } },
    { op: "update", collection: "lots", id: "a", update: { $set: 1 } },
    { op: "update", collection: "lots", id: "a", update: { $set: { x: 1 } }, upsert: "yes" },
    { op: "replace", collection: "lots", id: "a", document: { $set: { x: 1 } } },
    { op: "replace", collection: "lots", id: "a", document: { _id: "b" } },
    { op: "replace", collection: "lots", id: "a", document: [] },
    { op: "insert", collection: "lots", id: "a" },
  ];
  it.each(bad.map((op) => [JSON.stringify(op), op]))("rejects %s", (_label, op) => {
    expect(() => validateWriteOp(op as WriteOp)).toThrow(DocumentStoreError);
  });

  it("accepts well-formed ops", () => {
    validateWriteOp({
      op: "update",
      collection: "lots",
      id: "a",
      update: { $inc: { n: 1 }, $setOnInsert: {} },
      upsert: true,
    });
    validateWriteOp({ op: "replace", collection: "lots", id: "a", document: { _id: "a", x: 1 } });
    validateWriteOp({ op: "delete", collection: "lots", id: "" });
  });
});

describe("normalizeFindOptions and validateIndexSpecs", () => {
  it("normalizes find options (limit 0 means none) and rejects nonsense", () => {
    expect(normalizeFindOptions(undefined)).toEqual({ sort: undefined, skip: 0, limit: 0 });
    expect(normalizeFindOptions({ sort: {}, limit: 5 })).toEqual({ sort: undefined, skip: 0, limit: 5 });
    expect(() => normalizeFindOptions({ limit: -1 })).toThrow(DocumentStoreError);
    expect(() => normalizeFindOptions({ skip: 1.5 })).toThrow(DocumentStoreError);
    expect(() => normalizeFindOptions({ sort: { a: 2 as 1 } })).toThrow(DocumentStoreError);
  });

  it("checks index names, keys and directions", () => {
    validateIndexSpecs("r", [{ name: "parkingLotId_1_seq_-1", keys: { parkingLotId: 1, seq: -1 } }]);
    expect(() => validateIndexSpecs("r", [{ name: "x", keys: {} }])).toThrow(DocumentStoreError);
    expect(() => validateIndexSpecs("r", [{ name: "x", keys: { "a b": 1 } }])).toThrow(DocumentStoreError);
    expect(() => validateIndexSpecs("r", [{ name: "x", keys: { a: 2 as 1 } }])).toThrow(DocumentStoreError);
    expect(() =>
      validateIndexSpecs("r", [
        { name: "x", keys: { a: 1 } },
        { name: "x", keys: { b: 1 } },
      ]),
    ).toThrow(DocumentStoreError);
  });
});
