import { describe, expect, it } from "vitest";
import { compounded, pairedCost, verdict } from "./tracing-paired.js";

/** 2 × batches × 2 windows alternating first and second kind; the second kind costs `cpu`× the CPU. */
const windows = (pairs: number, cpu: (i: number) => number, rps = 1000) =>
  Array.from({ length: pairs * 2 + 1 }, (_, i) => ({
    second: i % 2 === 1,
    rps,
    cpuMsPerRequest: i % 2 === 1 ? cpu(i) : 1,
  }));

describe("a cost read off paired windows", () => {
  it("at a fixed pace reads the throughput a CPU-bound service loses from its CPU per request", () => {
    // 1.25× the CPU per request: the same cores answer 1 / 1.25 = 80% as many, a 20% cost.
    const read = pairedCost(
      windows(16, () => 1.25),
      true,
    );
    expect(read.cost?.mean).toBeCloseTo(0.2, 10);
    expect(read.cost?.high).toBeCloseTo(0.2, 10);
    expect(read.cpuRatio.median).toBe(1.25);
    expect(read.throughputCost.median).toBe(0);
    expect(read.pairs).toBe(16);
  });

  it("as fast as the service answers reads the throughput itself", () => {
    const measured = windows(16, () => 1).map((w) => (w.second ? { ...w, rps: 900 } : w));
    expect(pairedCost(measured, false).cost?.mean).toBeCloseTo(0.1, 10);
  });

  it("widens its interval with the windows' noise", () => {
    const noisy = pairedCost(
      windows(16, (i) => 1 + ((i * 7919) % 13) / 50),
      true,
    );
    expect(noisy.cost?.low).toBeLessThan(noisy.cost?.mean as number);
    expect(noisy.cost?.high).toBeGreaterThan(noisy.cost?.mean as number);
  });
});

describe("a target read from a cost's interval", () => {
  const at = (mean: number, half: number) => ({ mean, low: mean - half, high: mean + half, batches: 8 });

  it("is met only where the whole interval is under it, and missed where it is over it", () => {
    expect(verdict(at(0.02, 0.01), 0.05, 600)).toEqual({ pass: true, note: "" });
    expect(verdict(at(0.09, 0.02), 0.05, 600)).toEqual({ pass: false, note: "" });
  });

  it("says how long a run would resolve one its interval straddles", () => {
    // Half-width 0.04 against 0.02 of room: the interval must halve, four times the run.
    const straddling = verdict(at(0.03, 0.04), 0.05, 600);
    expect(straddling.pass).toBe(false);
    expect(straddling.note).toContain("about 2400 s would");
  });

  it("compounds two costs one after the other, the interval from both ends", () => {
    const both = compounded(at(0.1, 0.05), at(0.1, 0.05));
    expect(both.mean).toBeCloseTo(0.19, 10);
    expect(both.low).toBeCloseTo(1 - 0.95 * 0.95, 10);
    expect(both.high).toBeCloseTo(1 - 0.85 * 0.85, 10);
  });
});
