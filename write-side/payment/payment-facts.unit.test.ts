import { describe, expect, it } from "vitest";
import { paymentStateOf } from "./payment-facts.js";

describe("a refunded payment's state (issue 47)", () => {
  const authorized = { state: "authorized" as const, captured: 6000, refunded: 0, released: 0 };

  it("reads partially_refunded while part of what was captured is refunded, refunded once all of it is", () => {
    expect(paymentStateOf(authorized)).toBe("captured");
    expect(paymentStateOf({ ...authorized, refunded: 400 })).toBe("partially_refunded");
    expect(paymentStateOf({ ...authorized, refunded: 6000 })).toBe("refunded");
  });

  it("reads released once nothing was captured and the authorization was let go, and pending or failed as recorded", () => {
    expect(paymentStateOf({ ...authorized, captured: 0 })).toBe("authorized");
    expect(paymentStateOf({ ...authorized, captured: 0, released: 6000 })).toBe("released");
    expect(paymentStateOf({ ...authorized, state: "failed", captured: 0 })).toBe("failed");
    expect(paymentStateOf({ ...authorized, state: "pending", captured: 0 })).toBe("pending");
  });

  it("reads lapsed, never authorized, once the provider let the hold go; what the settlement collects then shows (issue 71)", () => {
    const lapsed = { ...authorized, state: "lapsed" as const, captured: 0 };
    expect(paymentStateOf(lapsed)).toBe("lapsed");
    expect(paymentStateOf({ ...lapsed, captured: 6000 })).toBe("captured");
    expect(paymentStateOf({ ...lapsed, captured: 6000, refunded: 6000 })).toBe("refunded");
  });
});
