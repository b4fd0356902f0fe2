import { describe, expect, it } from "vitest";
import { newDataKey } from "./port.js";

describe("newDataKey: keys drawn from the CSPRNG many at a time (issue 50)", () => {
  it("hands out each id and key once, across several draws, each key in memory of its own", () => {
    const keys = Array.from({ length: 600 }, () => newDataKey());
    expect(new Set(keys.map((k) => k.id)).size).toBe(600);
    expect(new Set(keys.map((k) => k.key.toString("hex"))).size).toBe(600);
    for (const { id, key } of keys) {
      expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/);
      expect(key.length).toBe(32);
      expect(key.buffer.byteLength).toBe(32);
      expect(key.equals(Buffer.alloc(32))).toBe(false);
    }
  });
});
