import { describe, expect, it } from "vitest";
import { againstNeighbours, median, pct } from "./stats.js";

describe("alternating measurements, each of the second kind against its neighbours", () => {
  const second = (x: { second: boolean }) => x.second;
  const value = (x: { value: number }) => x.value;
  const m = (isSecond: boolean, v: number) => ({ second: isSecond, value: v });

  it("reads each second-kind one against the mean of the first-kind ones on either side", () => {
    // 110 / 100 and 126 / 105: a drift of the first kind from 100 to 110 cancels out.
    expect(
      againstNeighbours(
        [m(false, 100), m(true, 110), m(false, 100), m(true, 126), m(false, 110)],
        second,
        value,
      ),
    ).toEqual([1.1, 1.2]);
  });

  it("leaves out one at either end or beside another of its kind", () => {
    expect(
      againstNeighbours([m(true, 5), m(false, 1), m(true, 9), m(true, 9), m(false, 1)], second, value),
    ).toEqual([]);
  });
});

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
