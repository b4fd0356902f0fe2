import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Bank, emptyBank, StripeFailure } from "./bank.js";
import { ledgerOf, ledgerProblems } from "./ledger.js";

const failure = (act: () => unknown): Record<string, unknown> => {
  try {
    act();
  } catch (error) {
    if (error instanceof StripeFailure) return { status: error.status, ...error.error };
    throw error;
  }
  throw new Error("expected a Stripe failure");
};

describe("the test server's money", () => {
  it("authorizes, captures part (the rest is released) and refunds no more than captured", () => {
    const events: string[] = [];
    const bank = new Bank(emptyBank(), (type) => events.push(type));
    const pi = bank.createIntent({
      amount: 12000,
      currency: "KRW",
      capture_method: "manual",
      confirm: true,
      payment_method: "pm_card_visa",
    });
    expect(pi).toMatchObject({ status: "requires_capture", amount_capturable: 12000, currency: "krw" });
    const id = String(pi.id);
    expect(bank.captureIntent(id, { amount_to_capture: 9000 })).toMatchObject({
      status: "succeeded",
      amount_received: 9000,
    });
    expect(bank.createRefund({ payment_intent: id, amount: 4000 })).toMatchObject({
      amount: 4000,
      status: "succeeded",
    });
    expect(failure(() => bank.createRefund({ payment_intent: id, amount: 5001 }))).toMatchObject({
      status: 400,
      code: "amount_too_large",
    });
    bank.createRefund({ payment_intent: id });
    expect(failure(() => bank.createRefund({ payment_intent: id }))).toMatchObject({
      code: "charge_already_refunded",
    });
    expect(ledgerOf(bank.state).intents[0]).toMatchObject({
      authorized: 12000,
      captured: 9000,
      released: 3000,
      refunded: 9000,
    });
    expect(events).toEqual([
      "payment_intent.created",
      "payment_intent.amount_capturable_updated",
      "payment_intent.succeeded",
      "refund.created",
      "refund.created",
    ]);
  });

  it("declines by test card, on and off session, leaving the intent to a new payment method", () => {
    const bank = new Bank(emptyBank(), () => {});
    const base = { amount: 500, currency: "usd", capture_method: "manual", confirm: true };
    expect(
      failure(() => bank.createIntent({ ...base, payment_method: "pm_card_chargeDeclined" })),
    ).toMatchObject({
      status: 402,
      type: "card_error",
      code: "card_declined",
      decline_code: "generic_decline",
      payment_intent: { status: "requires_payment_method" },
    });
    expect(
      failure(() =>
        bank.createIntent({ ...base, payment_method: "pm_card_visa_chargeDeclinedInsufficientFunds" }),
      ),
    ).toMatchObject({ decline_code: "insufficient_funds" });
    expect(
      failure(() =>
        bank.createIntent({ ...base, payment_method: "pm_card_authenticationRequired", off_session: true }),
      ),
    ).toMatchObject({ status: 402, code: "authentication_required" });
    expect(bank.createIntent({ ...base, payment_method: "pm_card_authenticationRequired" })).toMatchObject({
      status: "requires_action",
    });
    expect(failure(() => bank.createIntent({ ...base, payment_method: "pm_unknown" }))).toMatchObject({
      status: 404,
      code: "resource_missing",
    });
  });

  it("authorizes a card that asks for 3-D Secure once the customer completes it, and still declines it off-session", () => {
    const events: string[] = [];
    const bank = new Bank(emptyBank(), (type) => events.push(type));
    const base = { amount: 1500, currency: "krw", payment_method: "pm_card_authenticationRequired" };
    const id = String(bank.createIntent({ ...base, capture_method: "manual", confirm: true }).id);
    expect(failure(() => bank.captureIntent(id, {}))).toMatchObject({
      code: "payment_intent_unexpected_state",
    });
    expect(bank.authenticate(id)).toMatchObject({
      status: "requires_capture",
      amount_capturable: 1500,
      next_action: null,
    });
    expect(failure(() => bank.authenticate(id))).toMatchObject({ code: "payment_intent_unexpected_state" });
    expect(failure(() => bank.createIntent({ ...base, confirm: true, off_session: true }))).toMatchObject({
      status: 402,
      code: "authentication_required",
      decline_code: "authentication_required",
    });
    expect(events).toEqual([
      "payment_intent.created",
      "payment_intent.requires_action",
      "payment_intent.amount_capturable_updated",
      "payment_intent.created",
      "payment_intent.payment_failed",
    ]);
  });

  it("cancels an authorization (released in full) and refuses to capture or cancel twice", () => {
    const bank = new Bank(emptyBank(), () => {});
    const id = String(
      bank.createIntent({
        amount: 700,
        currency: "krw",
        capture_method: "manual",
        confirm: true,
        payment_method: "pm_card_visa",
      }).id,
    );
    expect(bank.cancelIntent(id, {})).toMatchObject({ status: "canceled", amount_capturable: 0 });
    expect(failure(() => bank.captureIntent(id, {}))).toMatchObject({
      code: "payment_intent_unexpected_state",
    });
    expect(failure(() => bank.cancelIntent(id, {}))).toMatchObject({
      code: "payment_intent_unexpected_state",
    });
    expect(ledgerOf(bank.state).intents[0]).toMatchObject({ authorized: 700, captured: 0, released: 700 });
  });

  it("keeps its books whatever a client asks, in any order", () => {
    const action = fc.oneof(
      fc.record({
        kind: fc.constant("create"),
        amount: fc.integer({ min: 1, max: 10_000 }),
        manual: fc.boolean(),
      }),
      fc.record({
        kind: fc.constant("capture"),
        at: fc.nat(),
        amount: fc.option(fc.integer({ min: 0, max: 12_000 })),
      }),
      fc.record({ kind: fc.constant("cancel"), at: fc.nat() }),
      fc.record({
        kind: fc.constant("refund"),
        at: fc.nat(),
        amount: fc.option(fc.integer({ min: 0, max: 12_000 })),
      }),
    );
    fc.assert(
      fc.property(fc.array(action, { maxLength: 30 }), (actions) => {
        const bank = new Bank(emptyBank(), () => {});
        const ids: string[] = [];
        for (const a of actions) {
          const id = ids[("at" in a ? a.at : 0) % Math.max(ids.length, 1)] ?? "pi_none";
          try {
            if (a.kind === "create")
              ids.push(
                String(
                  bank.createIntent({
                    amount: a.amount,
                    currency: "krw",
                    capture_method: a.manual ? "manual" : "automatic",
                    confirm: true,
                    payment_method: "pm_card_visa",
                  }).id,
                ),
              );
            if (a.kind === "capture")
              bank.captureIntent(id, a.amount === null ? {} : { amount_to_capture: a.amount });
            if (a.kind === "cancel") bank.cancelIntent(id, {});
            if (a.kind === "refund")
              bank.createRefund(
                a.amount === null ? { payment_intent: id } : { payment_intent: id, amount: a.amount },
              );
          } catch (error) {
            if (!(error instanceof StripeFailure)) throw error;
          }
        }
        expect(ledgerProblems(ledgerOf(bank.state))).toEqual([]);
      }),
    );
  });
});
