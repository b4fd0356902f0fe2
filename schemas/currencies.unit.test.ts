import { describe, expect, it } from "vitest";
import { currencyRule, PAYMENT_CURRENCIES, roundDownToStep, roundUpToStep } from "./currencies.js";

describe("the currencies Stripe takes (issue 71)", () => {
  it("lists the ones it takes, not test or metal codes", () => {
    for (const code of ["KRW", "USD", "EUR", "JPY", "KWD", "ISK", "HUF"])
      expect(PAYMENT_CURRENCIES).toContain(code);
    for (const code of ["XTS", "XAU", "ABC"]) expect(PAYMENT_CURRENCIES).not.toContain(code);
  });

  it("counts minor units as Stripe's amounts do, and rounds to each one's step", () => {
    expect(currencyRule("krw")).toEqual({ digits: 0, step: 1 });
    expect(currencyRule("USD")).toEqual({ digits: 2, step: 1 });
    expect(currencyRule("KWD")).toEqual({ digits: 3, step: 10 });
    expect(currencyRule("ISK")).toEqual({ digits: 2, step: 100 });
    expect(currencyRule("HUF")).toEqual({ digits: 2, step: 1 });
    expect([roundUpToStep(5124, "KWD"), roundDownToStep(5124, "KWD")]).toEqual([5130, 5120]);
    expect([roundUpToStep(50050, "ISK"), roundDownToStep(50050, "ISK")]).toEqual([50100, 50000]);
    expect([roundUpToStep(1017, "KRW"), roundDownToStep(1017, "KRW")]).toEqual([1017, 1017]);
  });
});
