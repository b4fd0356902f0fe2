import { describe, expect, it } from "vitest";
import { median, pct } from "./stats.js";

describe("median and percentages", () => {
  it("takes the middle value, or the mean of the two middle ones, whatever the order", () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it("writes a fraction as a percentage with one decimal", () => {
    expect(pct(0.1234)).toBe("12.3%");
    expect(pct(-0.05)).toBe("-5.0%");
  });
});
