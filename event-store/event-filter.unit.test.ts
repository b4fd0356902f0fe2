import { describe, expect, it } from "vitest";
import { compileEventFilter, eventMatcher } from "./event-filter.js";

describe("compileEventFilter", () => {
  it("selects everything without a filter, or with an empty prefix", () => {
    expect(compileEventFilter(undefined)).toEqual({ kind: "all" });
    expect(compileEventFilter({})).toEqual({ kind: "all" });
    expect(compileEventFilter({ streamPrefixes: ["a-", ""] })).toEqual({ kind: "all" });
  });

  it("selects nothing with an empty list", () => {
    expect(compileEventFilter({ eventTypes: [] })).toEqual({ kind: "none" });
    expect(compileEventFilter({ streamPrefixes: [] })).toEqual({ kind: "none" });
  });

  it("refuses types and prefixes together", () => {
    expect(() => compileEventFilter({ eventTypes: ["A"], streamPrefixes: ["b"] })).toThrow(RangeError);
  });

  it("drops duplicate types and prefixes covered by shorter ones", () => {
    expect(compileEventFilter({ eventTypes: ["A", "B", "A"] })).toEqual({
      kind: "types",
      eventTypes: ["A", "B"],
    });
    expect(compileEventFilter({ streamPrefixes: ["lot-1", "lot-", "coupon-", "lot-", "cou"] })).toEqual({
      kind: "prefixes",
      streamPrefixes: ["lot-", "cou"],
    });
  });
});

describe("eventMatcher", () => {
  it("matches exact types and stream prefixes", () => {
    const types = eventMatcher(compileEventFilter({ eventTypes: ["A", "B"] }));
    expect(types("s", "A")).toBe(true);
    expect(types("s", "AB")).toBe(false);
    const one = eventMatcher(compileEventFilter({ streamPrefixes: ["lot-"] }));
    expect(one("lot-1", "X")).toBe(true);
    expect(one("lo", "X")).toBe(false);
    const two = eventMatcher(compileEventFilter({ streamPrefixes: ["lot-", "coupon-"] }));
    expect(two("coupon-9", "X")).toBe(true);
    expect(two("other-1", "X")).toBe(false);
    expect(eventMatcher({ kind: "none" })("a", "b")).toBe(false);
    expect(eventMatcher({ kind: "all" })("a", "b")).toBe(true);
  });
});
