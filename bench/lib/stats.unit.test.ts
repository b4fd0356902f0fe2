import { describe, expect, it } from "vitest";
import { againstNeighbours, batchMeans, median, pct, t95 } from "./stats.js";

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

describe("a mean with its 95% interval by batch means", () => {
  it("reads the mean of each consecutive batch as one observation (Student's t over them)", () => {
    // Batches [1,3] [5,7]: means 2 and 6, mean 4, standard error 2, t(1) 12.706.
    const interval = batchMeans([1, 3, 5, 7], 2);
    expect(interval?.mean).toBe(4);
    expect(interval?.low).toBeCloseTo(4 - 12.706 * 2, 6);
    expect(interval?.high).toBeCloseTo(4 + 12.706 * 2, 6);
  });

  it("leaves out the first values when the series does not divide, and needs two batches", () => {
    expect(batchMeans([100, 1, 3, 5, 7], 2)?.mean).toBe(4);
    expect(batchMeans([1, 2, 3], 2)?.mean).toBe(2.5);
    expect(batchMeans([1], 2)).toBeUndefined();
    expect(batchMeans([1, 2], 1)).toBeUndefined();
    expect(t95(7)).toBe(2.365);
    expect(t95(200)).toBe(1.96);
  });

  // A seeded generator, so that the coverage below is the same on every run.
  const uniform = (seed: number) => () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return (seed + 0.5) / 2 ** 31;
  };
  const normal = (next: () => number) => () =>
    Math.sqrt(-2 * Math.log(next())) * Math.cos(2 * Math.PI * next());
  /** An AR(1) series around `mean`: each value carries `phi` of the one before (a lumpy, correlated process). */
  const series = (gauss: () => number, n: number, mean: number, phi: number) => {
    let x = 0;
    return Array.from({ length: n }, () => {
      x = phi * x + gauss();
      return mean + x;
    });
  };

  it("covers the true mean about 95% of the time, also when neighbouring values are correlated", () => {
    const gauss = normal(uniform(42));
    for (const phi of [0, 0.5]) {
      let covered = 0;
      let naiveCovered = 0;
      const trials = 400;
      for (let t = 0; t < trials; t++) {
        const values = series(gauss, 320, 10, phi);
        const interval = batchMeans(values);
        if (interval && interval.low <= 10 && 10 <= interval.high) covered++;
        // The interval a reader might take from single values (as if independent) is too narrow.
        const mean = values.reduce((a, b) => a + b, 0) / values.length;
        const sd = Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (values.length - 1));
        if (Math.abs(mean - 10) <= (1.96 * sd) / Math.sqrt(values.length)) naiveCovered++;
      }
      expect(covered / trials).toBeGreaterThan(0.9);
      expect(covered / trials).toBeLessThan(0.99);
      if (phi > 0) expect(naiveCovered / trials).toBeLessThan(0.85);
    }
  });
});
