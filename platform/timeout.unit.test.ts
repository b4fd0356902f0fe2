import { describe, expect, it, vi } from "vitest";
import { TimeoutError, withTimeout } from "./timeout.js";

describe("withTimeout", () => {
  it("passes the result through and leaves no timer behind", async () => {
    vi.useFakeTimers();
    try {
      await expect(withTimeout(Promise.resolve(42), 1000, "x")).resolves.toBe(42);
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it("rejects with TimeoutError naming what did not answer", async () => {
    vi.useFakeTimers();
    try {
      const pending = withTimeout(new Promise(() => {}), 500, "event store");
      vi.advanceTimersByTime(500);
      await expect(pending).rejects.toThrow(new TimeoutError("event store did not answer within 500 ms"));
    } finally {
      vi.useRealTimers();
    }
  });
});
