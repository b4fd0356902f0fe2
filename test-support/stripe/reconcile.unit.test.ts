import { describe, expect, it } from "vitest";
import { Bank, emptyBank } from "./bank.js";
import { ledgerOf } from "./ledger.js";
import { reconcile } from "./reconcile.js";

describe("reconciling the provider's books with the log", () => {
  const bank = new Bank(emptyBank(), () => {});
  const base = {
    currency: "krw",
    capture_method: "manual",
    confirm: true,
    payment_method: "pm_card_visa",
    automatic_payment_methods: { enabled: true, allow_redirects: "never" },
  };
  const told = String(bank.createIntent({ ...base, amount: 1000, metadata: { reservationId: "r-1" } }).id);
  bank.captureIntent(told, { amount_to_capture: 1000 });
  bank.createRefund({ payment_intent: told, amount: 300 });
  const row = { intentId: told, authorized: 1000, captured: 1000, released: 0, refunded: 300 };

  it("balances when the log tells every movement", () => {
    expect(reconcile(ledgerOf(bank.state), [row])).toEqual([]);
  });

  it("names a second charge, money held but untold, and a fact without a payment", () => {
    const extra = new Bank(structuredClone(bank.state), () => {});
    extra.createIntent({ ...base, amount: 1000, metadata: { reservationId: "r-1" } });
    const problems = reconcile(ledgerOf(extra.state), [
      { ...row, refunded: 0 },
      { ...row, intentId: "pi_ghost" },
    ]);
    expect(problems).toHaveLength(3);
    expect(problems.join("\n")).toMatch(/refunded 300 at the provider, 0 in the log/);
    expect(problems.join("\n")).toMatch(/the log tells nothing of it/);
    expect(problems.join("\n")).toMatch(/pi_ghost: the log tells of a payment the provider never made/);
  });
});
