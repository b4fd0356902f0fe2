import fc from "fast-check";
import { Query } from "mingo";
import { describe, expect, it } from "vitest";
import { conditionHolds } from "./sqlite-writes.js";

/** What mingo answers for a write's condition: the reference the fast path must agree with. */
const mingoHolds = (filter: Record<string, unknown>, doc: Record<string, unknown>) =>
  new Query(filter, { scriptEnabled: false }).test(doc);

const KEYS = ["owner", "epoch", "a.b", "$or", "_id", "flag"] as const;
const value = fc.oneof(
  fc.constantFrom("p1", "p2", "", 0, -0, 1, 2, 1.5, Number.NaN, true, false, null),
  fc.array(fc.constantFrom("p1", 1, null), { maxLength: 2 }),
  fc.record({ b: fc.constantFrom("p1", 1) }),
);
const filterOf = fc.dictionary(fc.constantFrom(...KEYS.filter((k) => k !== "$or")), value, { maxKeys: 3 });
const docOf = fc.dictionary(fc.constantFrom("owner", "epoch", "a", "_id", "flag", "b"), value, {
  maxKeys: 5,
});

describe("conditionHolds (a write's `if` on the embedded store)", () => {
  it("answers a lease fence as mingo does: met, another owner, another epoch, a missing field", () => {
    const lease = { _id: "reservations", owner: "host:1", epoch: 3, expiresAt: 10 };
    expect(conditionHolds({ owner: "host:1", epoch: 3 }, lease)).toBe(true);
    expect(conditionHolds({ owner: "host:2", epoch: 3 }, lease)).toBe(false);
    expect(conditionHolds({ owner: "host:1", epoch: 4 }, lease)).toBe(false);
    expect(conditionHolds({ owner: "host:1", epoch: 3, gone: true }, lease)).toBe(false);
    expect(conditionHolds({}, lease)).toBe(true);
  });

  it("leaves to mingo what is not a plain equality: arrays that hold the value, null for missing, operators, paths", () => {
    expect(conditionHolds({ owner: "p1" }, { _id: "x", owner: ["p0", "p1"] })).toBe(true);
    expect(conditionHolds({ owner: null }, { _id: "x" })).toBe(true);
    expect(conditionHolds({ epoch: { $lt: 3 } }, { _id: "x", epoch: 2 })).toBe(true);
    expect(conditionHolds({ "a.b": 1 }, { _id: "x", a: { b: 1 } })).toBe(true);
    expect(conditionHolds({ $or: [{ epoch: 1 }, { epoch: 2 }] }, { _id: "x", epoch: 2 })).toBe(true);
    expect(conditionHolds({ epoch: Number.NaN }, { _id: "x", epoch: Number.NaN })).toBe(true);
  });

  it("agrees with mingo on any flat condition and document", () => {
    fc.assert(
      fc.property(filterOf, docOf, (filter, doc) => {
        expect(conditionHolds(filter, doc)).toBe(mingoHolds(filter, doc));
      }),
      { numRuns: 2000 },
    );
  });
});
