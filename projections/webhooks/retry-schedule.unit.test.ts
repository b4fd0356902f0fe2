import { describe, expect, it } from "vitest";
import { RETRY_DELAYS_MS, retryDelayMs } from "./retry-schedule.js";

describe("the webhook retry schedule", () => {
  it("spans about three days, each delay longer than the last but the final one", () => {
    const total = RETRY_DELAYS_MS.reduce((a, b) => a + b, 0);
    expect(total / 86_400_000).toBeGreaterThan(2.9);
    expect(total / 86_400_000).toBeLessThan(3.2);
    expect(retryDelayMs(RETRY_DELAYS_MS.length + 1, 1)).toBeUndefined();
  });

  it("spreads each delay by ±20 % and scales it", () => {
    expect(retryDelayMs(1, 1, () => 0)).toBe(4_000);
    expect(retryDelayMs(1, 1, () => 1)).toBe(6_000);
    expect(retryDelayMs(2, 0.001, () => 0.5)).toBe(30);
  });
});
