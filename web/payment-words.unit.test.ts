import { describe, expect, it } from "vitest";
import { money } from "./src/format.js";
import { type Payment, paymentWords } from "./src/payment-words.js";

/** The payment line of the lot page says the view's figures and nothing it worked out itself. */
const payment = (fields: Partial<Payment>): Payment => ({
  state: "pending",
  amount: 1000,
  currency: "KRW",
  holdUntil: "2026-11-25T10:00:00.000Z",
  authorized: 0,
  captured: 0,
  refunded: 0,
  released: 0,
  failures: [],
  ...fields,
});

describe("a booking's payment in words", () => {
  it("says each state with the view's own figures", () => {
    expect(paymentWords(payment({}))).toBe("pending payment");
    expect(paymentWords(payment({ state: "authorized", authorized: 1000 }))).toBe(
      `authorized ${money(1000)} KRW`,
    );
    expect(paymentWords(payment({ state: "captured", authorized: 1000, captured: 1500 }))).toBe(
      `captured ${money(1500)} KRW`,
    );
    expect(paymentWords(payment({ state: "refunded", captured: 1000, refunded: 400 }))).toBe(
      `captured ${money(1000)} · refunded 400 KRW`,
    );
    expect(paymentWords(payment({ state: "released", authorized: 5000, released: 5000 }))).toBe(
      `released ${money(5000)} KRW`,
    );
    expect(paymentWords(payment({ state: "failed" }))).toBe("payment failed");
  });
});
