import { beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import type { MutableDocument } from "./update-semantics.js";

// mingo's updater, still doing its work, counted: which updates reach it (issue 50: it rebuilds its
// operator tables on every call, and an update with a $push went through it on every booking).
vi.mock("mingo/updater", async (importOriginal) => {
  const original = await importOriginal<typeof import("mingo/updater")>();
  return { ...original, update: vi.fn(original.update) };
});

// The unit tier shares modules between files (isolate: false): the store's module may already be
// loaded with the real updater, so both are imported afresh here, after the mock is registered.
let applyUpdate: typeof import("./update-semantics.js").applyUpdate;
let mingoUpdate: typeof import("mingo/updater").update;
beforeAll(async () => {
  vi.resetModules();
  ({ update: mingoUpdate } = await import("mingo/updater"));
  ({ applyUpdate } = await import("./update-semantics.js"));
});

beforeEach(() => {
  vi.mocked(mingoUpdate).mockClear();
});

describe("the projections' common updates never reach mingo's updater", () => {
  it("a lot fact pushed onto a new and an existing reservation's facts ($set, $push, $max)", () => {
    const fact = (revision: number) => ({
      revision,
      event: { type: "ParkingReserved", data: { n: revision } },
    });
    const update = (revision: number) => ({
      $set: { parkingLotId: "L1" },
      $push: { facts: fact(revision) },
      $max: { at: revision },
    });
    const { doc } = applyUpdate(null, "r:L1:r1", update(1), true);
    const { doc: after } = applyUpdate(doc as MutableDocument, "r:L1:r1", update(2), true);
    expect(after).toEqual({ _id: "r:L1:r1", parkingLotId: "L1", facts: [fact(1), fact(2)], at: 2 });
    expect(mingoUpdate).not.toHaveBeenCalled();
  });

  it("a booking's payment with its empty list of failures ($set of an array)", () => {
    applyUpdate(
      null,
      "r1",
      { $set: { status: "PENDING_PAYMENT", payment: { failures: [] }, list: [1] } },
      true,
    );
    expect(mingoUpdate).not.toHaveBeenCalled();
  });

  it("while $push's modifiers and a push onto a non-array still go the general way", () => {
    const doc: MutableDocument = { _id: "a", list: [3, 1] };
    applyUpdate(doc, "a", { $push: { list: { $each: [2], $sort: 1 } } }, false);
    expect(doc.list).toEqual([1, 2, 3]);
    expect(() => applyUpdate({ _id: "b", s: "text" }, "b", { $push: { s: 1 } }, false)).toThrow(
      /must be an array/,
    );
    expect(mingoUpdate).toHaveBeenCalledTimes(1);
  });
});
