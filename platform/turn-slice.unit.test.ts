import { describe, expect, it } from "vitest";
import { turnIsLong, yieldWhenLong } from "./turn-slice.js";

const spin = (ms: number) => {
  const until = performance.now() + ms;
  while (performance.now() < until);
};

describe("cooperative slices of the event loop", () => {
  it("lets a timer due meanwhile run inside a long chain of awaited calls, and not before the slice", async () => {
    let fired = 0;
    const timer = setTimeout(() => fired++, 0);
    // A read of 40 synchronous store calls of 1 ms each, awaited one after another.
    const firedAt: number[] = [];
    for (let i = 0; i < 40; i++) {
      await yieldWhenLong(10);
      spin(1);
      firedAt.push(fired);
    }
    clearTimeout(timer);
    // Without slices the timer would wait for all 40 (fired 0 throughout). With them it runs at the
    // second slice's end at the latest (a yield lands in the loop's check phase; timers come at the
    // next iteration's start): within about 20 calls. (A descheduled process only shortens slices.)
    const first = firedAt.indexOf(1);
    expect(first).toBeGreaterThan(0);
    expect(first).toBeLessThanOrEqual(25);
  });

  it("counts a turn from its first call: a new turn starts short", async () => {
    expect(turnIsLong(10)).toBe(false);
    spin(12);
    expect(turnIsLong(10)).toBe(true);
    await new Promise((resolve) => setImmediate(resolve));
    expect(turnIsLong(10)).toBe(false);
  });
});
