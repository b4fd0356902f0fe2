import { describe, expect, it } from "vitest";
import { LOT, NOW } from "../../test-support/given-when-then.js";
import {
  decideAuthorization,
  decideIntent,
  decideRefund,
  evolvePaymentAggregate,
  noPayment,
  type PaymentState,
  paymentStream,
} from "./payment.js";
import type { PaymentEvent } from "./payment-facts.js";
import { REFUND_WINDOW_MS } from "./payment-policy.js";

/** Issue 48: a payment decided from its own stream alone (no lot state, no sweep). */

const ID = "r1";
const ids = { parkingLotId: LOT, reservationId: ID };
const iso = (ms: number) => new Date(ms).toISOString();
const T0 = Date.parse(NOW);
const given = (events: readonly PaymentEvent[]): PaymentState =>
  events.reduce(evolvePaymentAggregate, noPayment);
const ask = { awaiting: true, amount: 5000, currency: "KRW" };

const created: PaymentEvent = {
  type: "PaymentIntentCreated",
  data: { ...ids, intentId: "pi_1", amount: 5000, currency: "KRW", createdAt: NOW },
};
const authorized: PaymentEvent = {
  type: "PaymentAuthorized",
  data: { ...ids, intentId: "pi_1", amount: 5000, currency: "KRW", authorizedAt: NOW },
};
const checkedOut: PaymentEvent = {
  type: "PaymentSettlementDecided",
  data: {
    ...ids,
    intentId: "pi_1",
    currency: "KRW",
    capture: 5000,
    release: 0,
    offSession: 0,
    refund: 0,
    because: "check-out",
    decidedAt: NOW,
  },
};
const captured: PaymentEvent = {
  type: "PaymentCaptured",
  data: { ...ids, intentId: "pi_1", amount: 5000, currency: "KRW", settlementId: "s1", capturedAt: NOW },
};
const refund = (amount: number, at: number) =>
  ({ type: "RefundPayment", ...ids, amount, reason: "goodwill", now: iso(at) }) as const;

describe("a payment on its own stream", () => {
  it("is named by its reservation", () => {
    expect(paymentStream(ID)).toBe("payment-r1");
  });

  it("counts one intent: another intent is a mismatch, the recorded one again a retry", () => {
    const state = given([created]);
    const command = { type: "RecordPaymentIntent", ...ids, amount: 5000, currency: "KRW", now: NOW } as const;
    expect(decideIntent(state, { ...command, intentId: "pi_1" }, ask)).toEqual({ ok: true, events: [] });
    expect(decideIntent(state, { ...command, intentId: "pi_2" }, ask)).toMatchObject({
      ok: false,
      rejection: { code: "PaymentMismatch", reason: "intent" },
    });
    const authorize = {
      type: "AuthorizePayment",
      ...ids,
      intentId: "pi_2",
      amount: 5000,
      currency: "KRW",
      now: NOW,
    } as const;
    expect(decideAuthorization(state, authorize, ask)).toMatchObject({
      ok: false,
      rejection: { code: "PaymentMismatch", reason: "intent" },
    });
  });

  it("refunds within its window, counted from when its money ended, and refuses after it", () => {
    const state = given([created, authorized, checkedOut, captured]);
    const end = T0 + REFUND_WINDOW_MS;
    expect(decideRefund(state, refund(1000, end - 1))).toMatchObject({
      ok: true,
      events: [{ type: "PaymentSettlementDecided", data: { refund: 1000, because: "refund" } }],
    });
    expect(decideRefund(state, refund(1000, end))).toEqual({
      ok: false,
      rejection: { code: "RefundWindowPassed", ...ids, refundableUntil: iso(end) },
    });
  });

  it("never refunds beyond what was captured less what was refunded or is under way", () => {
    const state = given([created, authorized, checkedOut, captured]);
    const decided = decideRefund(state, refund(3000, T0));
    if (!decided.ok) throw new Error("refused");
    const after = decided.events.reduce(evolvePaymentAggregate, state);
    expect(decideRefund(after, refund(2001, T0))).toEqual({
      ok: false,
      rejection: { code: "RefundExceedsCaptured", ...ids, refundable: 2000, asked: 2001 },
    });
  });
});
