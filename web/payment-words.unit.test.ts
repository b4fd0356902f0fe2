import { describe, expect, it } from "vitest";
import { majorStep, minorAmount, money, moneyIn } from "./src/format.js";
import {
  canceledWords,
  type MoneyDay,
  moneyAmounts,
  moneyFailures,
  type Payment,
  paymentWords,
} from "./src/payment-words.js";

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
    expect(paymentWords(payment({ state: "lapsed", lapsedAt: "2026-12-02T10:00:00.000Z" }))).toBe(
      "card saved, nothing held: charged at the end",
    );
    expect(paymentWords(payment({ state: "captured", authorized: 1000, captured: 1500 }))).toBe(
      `captured ${money(1500)} KRW`,
    );
    expect(paymentWords(payment({ state: "partially_refunded", captured: 1000, refunded: 400 }))).toBe(
      `captured ${money(1000)} · refunded 400 KRW`,
    );
    expect(paymentWords(payment({ state: "refunded", captured: 1000, refunded: 1000 }))).toBe(
      `captured ${money(1000)} · refunded ${money(1000)} KRW`,
    );
    expect(paymentWords(payment({ state: "released", authorized: 5000, released: 5000 }))).toBe(
      `released ${money(5000)} KRW`,
    );
    expect(paymentWords(payment({ state: "failed" }))).toBe("payment failed");
  });

  it("writes a currency with a minor unit in its major unit, as the day's money does, and the refund form reads it back", () => {
    const dollars = (major: number) => major.toLocaleString(undefined, { minimumFractionDigits: 2 });
    expect(paymentWords(payment({ state: "authorized", currency: "USD", authorized: 1250 }))).toBe(
      `authorized ${dollars(12.5)} USD`,
    );
    expect(minorAmount(12.5, "USD")).toBe(1250);
    expect(minorAmount(0.29, "USD")).toBe(29);
    expect(minorAmount(400, "KRW")).toBe(400);
    expect(majorStep("USD")).toBe(0.01);
    expect(majorStep("KRW")).toBe(1);
  });
});

describe("a cancel's answer in words (issue 47)", () => {
  const answer = { reservationId: "r-1", parkingLotId: "lot-1", status: "CANCELED" as const, position: "9" };

  it("says the fee kept and what was released or refunded, as the answer says them", () => {
    const settlement = { currency: "KRW", fee: 1500, released: 1500, refunded: 0 };
    expect(canceledWords("12가3456", { ...answer, settlement })).toBe(
      `Canceled the reservation of 12가3456: fee ${money(1500)} KRW kept · ${money(1500)} KRW released.`,
    );
    const free = { currency: "USD", fee: 0, released: 0, refunded: 1250 };
    expect(canceledWords("12가3456", { ...answer, settlement: free })).toBe(
      `Canceled the reservation of 12가3456: no fee kept · ${(12.5).toLocaleString(undefined, { minimumFractionDigits: 2 })} USD refunded.`,
    );
  });

  it("says nothing of money when the cancel decided none", () => {
    expect(canceledWords("12가3456", answer)).toBe("Canceled the reservation of 12가3456.");
  });
});

describe("a day's money in words", () => {
  const day = (fields: Partial<MoneyDay>): MoneyDay => ({
    day: "2026-11-26",
    amounts: [],
    failedPayments: 0,
    failedSteps: 0,
    ...fields,
  });

  it("says each currency's revenue, refunds and net from the view, in the currency's major unit", () => {
    // Issue 69's breakdown (who collected, what for): the API's; this sentence does not use it.
    const of = (revenue: number) => ({
      collectedByProcessor: revenue,
      collectedOnSite: 0,
      bookings: revenue,
      overstays: 0,
      driveUps: 0,
    });
    const amounts = [
      { currency: "KRW", revenue: 1500, refunds: 400, net: 1100, ...of(1500) },
      { currency: "USD", revenue: 1250, refunds: 0, net: 1250, ...of(1250) },
    ];
    expect(moneyAmounts(day({ amounts }))).toEqual([
      `revenue ${money(1500)} KRW · refunds 400 KRW · net ${money(1100)} KRW`,
      `revenue ${(12.5).toLocaleString(undefined, { minimumFractionDigits: 2 })} USD · refunds ${(0).toLocaleString(undefined, { minimumFractionDigits: 2 })} USD · net ${(12.5).toLocaleString(undefined, { minimumFractionDigits: 2 })} USD`,
    ]);
    expect(moneyIn(-300, "KRW")).toBe("-300 KRW");
  });

  it("reads ISK and HUF amounts as Stripe counts them (two decimals), KWD as thousandths (issue 71)", () => {
    const two = (n: number) => n.toLocaleString(undefined, { minimumFractionDigits: 2 });
    expect(moneyIn(50000, "ISK")).toBe(`${two(500)} ISK`);
    expect(moneyIn(250000, "HUF")).toBe(`${two(2500)} HUF`);
    expect(moneyIn(5120, "KWD")).toBe(
      `${(5.12).toLocaleString(undefined, { minimumFractionDigits: 3 })} KWD`,
    );
    expect(minorAmount(500, "ISK")).toBe(50000);
    expect(majorStep("KWD")).toBe(0.001);
  });

  it("names the payments that did not arrive, and says nothing when all did", () => {
    expect(moneyFailures(day({}))).toEqual([]);
    expect(moneyFailures(day({ failedPayments: 1, failedSteps: 2 }))).toEqual([
      "1 failed payment",
      "2 failed settlement steps",
    ]);
  });
});
