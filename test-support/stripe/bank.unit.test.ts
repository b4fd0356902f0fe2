import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Bank, emptyBank, StripeFailure } from "./bank.js";
import { ledgerOf, ledgerProblems } from "./ledger.js";
import { clock } from "./objects.js";
import { createPaymentMethod } from "./payment-methods.js";

/** Cards without redirects, as the service creates its intents (a confirm then needs no return_url). */
const CARD_ONLY = { automatic_payment_methods: { enabled: true, allow_redirects: "never" } };

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
      ...CARD_ONLY,
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
    const base = { ...CARD_ONLY, amount: 500, currency: "usd", capture_method: "manual", confirm: true };
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
    const base = {
      ...CARD_ONLY,
      amount: 1500,
      currency: "krw",
      payment_method: "pm_card_authenticationRequired",
    };
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
        ...CARD_ONLY,
        amount: 1700,
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
    expect(ledgerOf(bank.state).intents[0]).toMatchObject({ authorized: 1700, captured: 0, released: 1700 });
  });

  it("keeps its books whatever a client asks, in any order", () => {
    const action = fc.oneof(
      fc.record({
        kind: fc.constant("create"),
        amount: fc.integer({ min: 1, max: 10_000 }).map((n) => n + 999),
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
                    ...CARD_ONLY,
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

  // Issue 47: Stripe's documented behaviour beyond its schema (each rule's page is cited in bank.ts).
  it("refuses a confirm without return_url while redirects are allowed (Stripe's default since 2023-08-16)", () => {
    const bank = new Bank(emptyBank(), () => {});
    const asked = { amount: 6000, currency: "krw", capture_method: "manual", payment_method: "pm_card_visa" };
    expect(failure(() => bank.createIntent({ ...asked, confirm: true }))).toMatchObject({
      status: 400,
      type: "invalid_request_error",
      param: "return_url",
    });
    expect(
      bank.createIntent({ ...asked, confirm: true, return_url: "https://app.example/back" }),
    ).toMatchObject({
      status: "requires_capture",
      automatic_payment_methods: { enabled: true, allow_redirects: "always" },
    });
    expect(bank.createIntent({ ...CARD_ONLY, ...asked, confirm: true })).toMatchObject({
      status: "requires_capture",
      automatic_payment_methods: { enabled: true, allow_redirects: "never" },
    });
  });

  it("refuses a charge or a capture below the currency's minimum (amount_too_small)", () => {
    const bank = new Bank(emptyBank(), () => {});
    const card = { ...CARD_ONLY, capture_method: "manual", confirm: true, payment_method: "pm_card_visa" };
    expect(failure(() => bank.createIntent({ ...card, amount: 73, currency: "krw" }))).toMatchObject({
      code: "amount_too_small",
      param: "amount",
    });
    expect(failure(() => bank.createIntent({ ...card, amount: 49, currency: "usd" }))).toMatchObject({
      code: "amount_too_small",
    });
    const id = String(bank.createIntent({ ...card, amount: 10_000, currency: "krw" }).id);
    expect(failure(() => bank.captureIntent(id, { amount_to_capture: 1 }))).toMatchObject({
      code: "amount_too_small",
      param: "amount_to_capture",
    });
    expect(failure(() => bank.captureIntent(id, { amount_to_capture: 10_001 }))).toMatchObject({
      code: "amount_too_large",
    });
  });

  it("refuses to confirm or capture an intent in the wrong state", () => {
    const bank = new Bank(emptyBank(), () => {});
    const pending = String(
      bank.createIntent({ ...CARD_ONLY, amount: 6000, currency: "krw", capture_method: "manual" }).id,
    );
    expect(failure(() => bank.captureIntent(pending, {}))).toMatchObject({
      code: "payment_intent_unexpected_state",
    });
    bank.cancelIntent(pending, {});
    expect(failure(() => bank.confirmIntent(pending, { payment_method: "pm_card_visa" }))).toMatchObject({
      code: "payment_intent_unexpected_state",
    });
  });

  it("asks 3-D Secure 2 of pm_card_threeDSecure2Required on session (requires_action)", () => {
    const bank = new Bank(emptyBank(), () => {});
    const intent = bank.createIntent({
      ...CARD_ONLY,
      amount: 6000,
      currency: "krw",
      capture_method: "manual",
      confirm: true,
      payment_method: "pm_card_threeDSecure2Required",
    });
    expect(intent).toMatchObject({ status: "requires_action", amount_capturable: 0 });
    expect(bank.authenticate(String(intent.id))).toMatchObject({
      status: "requires_capture",
      amount_capturable: 6000,
    });
  });

  it("lets an authorization lapse after seven days on its clock: canceled, released", () => {
    const events: string[] = [];
    const bank = new Bank(emptyBank(), (type) => events.push(type));
    const card = { ...CARD_ONLY, capture_method: "manual", confirm: true, payment_method: "pm_card_visa" };
    const id = String(bank.createIntent({ ...card, amount: 6000, currency: "krw" }).id);
    clock.offsetMs += 6 * 86_400_000;
    bank.lapseAuthorizations();
    expect(bank.retrieveIntent(id)).toMatchObject({ status: "requires_capture" });
    clock.offsetMs += 86_400_000 + 1000;
    try {
      expect(failure(() => bank.captureIntent(id, {}))).toMatchObject({
        code: "payment_intent_unexpected_state",
      });
      expect(bank.retrieveIntent(id)).toMatchObject({ status: "canceled", cancellation_reason: "automatic" });
      expect(ledgerOf(bank.state).intents[0]).toMatchObject({ authorized: 6000, released: 6000, held: 0 });
      expect(events).toContain("payment_intent.canceled");
    } finally {
      clock.offsetMs = 0;
    }
  });

  it("holds a PaymentMethod to Stripe's reuse rules: single-use unless saved to a Customer, then only with it", () => {
    const bank = new Bank(emptyBank(), () => {});
    const methods = bank.state.paymentMethods ?? {};
    const hold = { ...CARD_ONLY, capture_method: "manual", confirm: true, amount: 6000, currency: "krw" };
    // Unattached and used once: spent.
    const once = String(createPaymentMethod(methods, "pm_card_visa").id);
    expect(bank.createIntent({ ...hold, payment_method: once })).toMatchObject({
      status: "requires_capture",
    });
    expect(
      failure(() => bank.createIntent({ ...hold, payment_method: once, off_session: true })),
    ).toMatchObject({ status: 400, param: "payment_method" });
    // Saved to a Customer by the intent that used it (customer + setup_future_usage): reusable with it only.
    const customer = String(bank.createCustomer({}).id);
    const saved = String(createPaymentMethod(methods, "pm_card_visa").id);
    const first = { ...hold, payment_method: saved, customer, setup_future_usage: "off_session" };
    expect(bank.createIntent(first)).toMatchObject({
      status: "requires_capture",
      setup_future_usage: "off_session",
    });
    expect(bank.retrievePaymentMethod(saved)).toMatchObject({ customer });
    expect(failure(() => bank.createIntent({ ...hold, payment_method: saved }))).toMatchObject({
      status: 400,
      param: "customer",
    });
    const offSession = { ...hold, payment_method: saved, customer, off_session: true };
    expect(bank.createIntent(offSession)).toMatchObject({ status: "requires_capture" });
    // A Customer deleted takes its methods with it.
    expect(bank.deleteCustomer(customer)).toMatchObject({ id: customer, deleted: true });
    expect(failure(() => bank.retrieveCustomer(customer))).toMatchObject({ status: 404 });
    expect(failure(() => bank.createIntent({ ...hold, payment_method: saved }))).toMatchObject({
      status: 400,
    });
    // Stripe's test tokens stand for a new PaymentMethod each time: never spent.
    bank.createIntent({ ...hold, payment_method: "pm_card_visa" });
    expect(bank.createIntent({ ...hold, payment_method: "pm_card_visa" })).toMatchObject({
      status: "requires_capture",
    });
  });

  it("takes three-decimal amounts only in tens (KWD), at creation, capture and refund, and ISK in hundreds", () => {
    const bank = new Bank(emptyBank(), () => {});
    const hold = { ...CARD_ONLY, capture_method: "manual", confirm: true, payment_method: "pm_card_visa" };
    expect(failure(() => bank.createIntent({ ...hold, amount: 5005, currency: "kwd" }))).toMatchObject({
      status: 400,
      param: "amount",
    });
    const id = String(bank.createIntent({ ...hold, amount: 5000, currency: "kwd" }).id);
    expect(failure(() => bank.captureIntent(id, { amount_to_capture: 4995 }))).toMatchObject({
      param: "amount_to_capture",
    });
    expect(bank.captureIntent(id, { amount_to_capture: 4990 })).toMatchObject({ amount_received: 4990 });
    expect(failure(() => bank.createRefund({ payment_intent: id, amount: 1001 }))).toMatchObject({
      param: "amount",
    });
    expect(bank.createRefund({ payment_intent: id, amount: 1000 })).toMatchObject({ amount: 1000 });
    // ISK: two decimals in the API, whole krónur only (multiples of 100).
    expect(failure(() => bank.createIntent({ ...hold, amount: 50050, currency: "isk" }))).toMatchObject({
      code: "invalid_charge_amount_no_decimal_compatible",
    });
    expect(bank.createIntent({ ...hold, amount: 50000, currency: "isk" })).toMatchObject({ amount: 50000 });
  });

  it("refuses a currency Stripe does not take payments in", () => {
    const bank = new Bank(emptyBank(), () => {});
    for (const currency of ["xts", "xau", "abc"])
      expect(failure(() => bank.createIntent({ amount: 5000, currency }))).toMatchObject({
        status: 400,
        param: "currency",
      });
  });

  it("lists intents newest first, a page at a time", () => {
    const bank = new Bank(emptyBank(), () => {});
    const ids = [1, 2, 3].map((n) => String(bank.createIntent({ amount: 1000 * n, currency: "krw" }).id));
    const first = bank.listIntents({ limit: 2 });
    expect(first).toMatchObject({ object: "list", has_more: true });
    expect((first.data as { id: string }[]).map((i) => i.id)).toEqual([ids[2], ids[1]]);
    const next = bank.listIntents({ limit: 2, starting_after: ids[1] });
    expect(next).toMatchObject({ has_more: false });
    expect((next.data as { id: string }[]).map((i) => i.id)).toEqual([ids[0]]);
  });
});
