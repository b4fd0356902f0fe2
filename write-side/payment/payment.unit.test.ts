import { describe, expect, it } from "vitest";
import type { PaymentTerms } from "../../schemas/common.js";
import { LOT, lotRegistered, NOW, parkingReserved } from "../../test-support/given-when-then.js";
import { fold } from "../../test-support/lot-state.js";
import { bookingAskOf, settleAskOf } from "./lot-booking.js";
import {
  decideAuthorization,
  decideHoldLapsed,
  decideIntent,
  decideOutcome,
  decideRefund,
  decideSettlement,
  evolvePaymentAggregate,
  noPayment,
  type PaymentState,
  paymentStream,
  termsOnStream,
} from "./payment.js";
import type { PaymentEvent } from "./payment-facts.js";
import { ledgerViolations } from "./payment-ledger.js";
import { REFUND_WINDOW_MS } from "./payment-policy.js";
import { releaseStepOf } from "./payment-process.js";

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
    // Issue 71 (#66): with no intent recorded (its creation failed), a provider's word naming one
    // authorizes nothing: refused, logged and counted; the reconciliation releases that intent.
    expect(decideAuthorization(noPayment, authorize, ask)).toMatchObject({
      ok: false,
      rejection: { code: "PaymentMismatch", reason: "intent" },
    });
  });

  it("records the card a Stripe.js-confirmed authorization names, for its customer only (issue 71: sealed under their key)", () => {
    const state = given([created]);
    const confirmed = {
      type: "AuthorizePayment",
      ...ids,
      intentId: "pi_1",
      amount: 5000,
      currency: "KRW",
      paymentMethod: "pm_entered",
      now: NOW,
    } as const;
    expect(decideAuthorization(state, confirmed, ask, { customerId: "c1" })).toMatchObject({
      ok: true,
      events: [{ type: "PaymentAuthorized", data: { customerId: "c1", method: "pm_entered" } }],
    });
    // No customer to seal it under: not recorded (nothing to charge it to later).
    const anonymous = decideAuthorization(state, confirmed, ask);
    expect(anonymous.ok && anonymous.events[0]?.data).not.toHaveProperty("method");
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

describe("the terms its booking was made under (issue 48)", () => {
  const TERMS: PaymentTerms = {
    currency: "KRW",
    deposit: 2000,
    cancellation: { freeUntilMinutesBefore: 60, feePercent: 50 },
    noShowFee: 1000,
  };
  const intent = {
    type: "RecordPaymentIntent",
    ...ids,
    intentId: "pi_1",
    amount: 5000,
    currency: "KRW",
    now: NOW,
  } as const;

  it("are what the lot holds of the booking while it holds it, and its intent records them", () => {
    const lot = fold([
      lotRegistered(),
      { type: "ParkingLotPaymentTermsChanged", data: { parkingLotId: LOT, terms: TERMS, changedAt: NOW } },
      parkingReserved({ reservationId: ID, payment: { amount: 5000, currency: "KRW", holdUntil: NOW } }),
    ]);
    const asked = bookingAskOf(lot, ID);
    expect(asked.terms).toEqual(TERMS);
    const decision = decideIntent(noPayment, intent, asked);
    expect(decision).toMatchObject({ ok: true, events: [{ data: { terms: TERMS } }] });
  });

  it("settle a booking the lot's state no longer holds, from the payment's stream", () => {
    const recorded = decideIntent(noPayment, intent, { ...ask, terms: TERMS });
    if (!recorded.ok) throw new Error("the intent is recorded");
    const state = given([...recorded.events, authorized]);
    expect(termsOnStream(state)).toEqual(TERMS);
    const withoutIt = fold([lotRegistered()]);
    const settle = settleAskOf(withoutIt, ID, { because: "no-show" }, state);
    expect(settle).toEqual({ because: "no-show", terms: TERMS });
    expect(
      decideSettlement(state, settle ?? { because: "check-out", price: 0, overstayCharge: 0 }, NOW),
    ).toMatchObject({
      ok: true,
      events: [{ type: "PaymentSettlementDecided", data: { capture: 1000, because: "no-show" } }],
    });
  });
});

describe("refunds under way (found by money-flow.property.int.test.ts)", () => {
  // Captured 5000; refunds of 4000 and then 10 decided before either is carried out; the provider
  // refuses the 10 first. What is still under way is the 4000: a refund of 2000 would take more than
  // was captured, and one of 900 still fits.
  const decide = (state: PaymentState, amount: number): PaymentEvent[] => {
    const decision = decideRefund(state, refund(amount, T0));
    if (!decision.ok) throw new Error(JSON.stringify(decision.rejection));
    return [...decision.events];
  };
  const failed = (state: PaymentState, settlementId: string, amount: number): PaymentEvent[] => {
    const decision = decideOutcome(state, {
      type: "RecordPaymentOutcome",
      ...ids,
      settlementId,
      step: "refund",
      outcome: { ok: false, code: "charge_disputed", message: "Disputed.", amount },
      now: NOW,
    });
    if (!decision.ok) throw new Error(JSON.stringify(decision.rejection));
    return [...decision.events];
  };

  it("frees the amount of the refund that failed, not the oldest one under way", () => {
    let history: PaymentEvent[] = [created, authorized, checkedOut, captured];
    history = [...history, ...decide(given(history), 4000)];
    history = [...history, ...decide(given(history), 10)];
    history = [...history, ...failed(given(history), "s-refund-10", 10)];
    const state = given(history);
    expect(decideRefund(state, refund(2000, T0))).toMatchObject({
      ok: false,
      rejection: { code: "RefundExceedsCaptured", refundable: 1000, asked: 2000 },
    });
    expect(decideRefund(state, refund(900, T0)).ok).toBe(true);
  });
});

describe("a capture that did not take the hold (the money-flow hunt)", () => {
  const noShow: PaymentEvent = {
    type: "PaymentSettlementDecided",
    data: { ...checkedOut.data, capture: 3000, release: 2000, because: "no-show" },
  };
  const outcome = (state: PaymentState, step: "capture" | "release", result: object): PaymentEvent[] => {
    const decision = decideOutcome(state, {
      type: "RecordPaymentOutcome",
      ...ids,
      settlementId: "s1",
      step,
      outcome: result as never,
      now: NOW,
    });
    if (!decision.ok) throw new Error(JSON.stringify(decision.rejection));
    return [...decision.events];
  };
  const plan = { intentId: "pi_1", capture: 3000, release: 2000 };

  it("a capture that went through let the rest go: the release asks nothing and records the rest", () => {
    const history = [created, authorized, noShow];
    const done = outcome(given(history), "capture", { ok: true, intentId: "pi_1", amount: 3000 });
    expect(releaseStepOf(given([...history, ...done]), plan)).toEqual({ ask: false, amount: 2000 });
  });

  it("a failed capture leaves the whole hold in place: the release cancels it and records all of it", () => {
    const history = [created, authorized, noShow];
    const failed = outcome(given(history), "capture", { ok: false, code: "provider_refused", message: "x" });
    expect(releaseStepOf(given([...history, ...failed]), plan)).toEqual({ ask: true, amount: 5000 });
    expect(releaseStepOf(given(history), { ...plan, capture: 0, release: 5000 })).toEqual({
      ask: true,
      amount: 5000,
    });
  });

  it("a lapsed authorization charged off-session: a charge on its own intent, refunded from it", () => {
    const history = [created, authorized, noShow];
    const charged = outcome(given(history), "capture", {
      ok: true,
      intentId: "pi_off",
      amount: 3000,
      lapsedIntentId: "pi_1",
    });
    expect(charged).toMatchObject([
      { type: "PaymentCaptured", data: { intentId: "pi_off", lapsedIntentId: "pi_1" } },
    ]);
    const after = given([...history, ...charged]);
    expect(releaseStepOf(after, plan)).toEqual({ ask: true, amount: 5000 });
    const released = outcome(after, "release", { ok: true, intentId: "pi_1", amount: 5000 });
    const state = given([...history, ...charged, ...released]);
    expect(state.kind === "open" && ledgerViolations(state.facts, true)).toEqual([]);
    expect(decideRefund(state, refund(3000, T0))).toMatchObject({
      ok: true,
      events: [{ data: { intentId: "pi_off", refund: 3000 } }],
    });
  });
});

describe("a hold the provider let go (issue 71)", () => {
  const lapse = (intentId = "pi_1") =>
    ({ type: "RecordHoldLapsed", ...ids, intentId, because: "provider", now: NOW }) as const;
  const lapsedFact: PaymentEvent = {
    type: "PaymentHoldLapsed",
    data: { ...ids, intentId: "pi_1", amount: 5000, because: "provider", lapsedAt: NOW },
  };

  it("is recorded once for the authorization the booking counts on, before its settlement", () => {
    expect(decideHoldLapsed(given([created, authorized]), lapse())).toEqual({
      ok: true,
      events: [lapsedFact],
    });
    expect(decideHoldLapsed(given([created, authorized, lapsedFact]), lapse())).toEqual({
      ok: true,
      events: [],
    });
  });

  it("moves nothing for another intent, a pending or settled payment (its own release cancels it)", () => {
    for (const history of [[created], [created, authorized, checkedOut], []])
      expect(decideHoldLapsed(given(history), lapse())).toEqual({ ok: true, events: [] });
    expect(decideHoldLapsed(given([created, authorized]), lapse("pi_other"))).toEqual({
      ok: true,
      events: [],
    });
  });

  it("keeps what its settlement collects off-session: the booking's amount, its ledger unchanged", () => {
    const state = given([created, authorized, lapsedFact]);
    expect(state).toMatchObject({ status: "authorized", lapsedAt: NOW, authorized: 5000 });
    expect(state.kind === "open" && ledgerViolations(state.facts, false)).toEqual([]);
  });
});

describe("refunds per charge (issue 71: captured 5,564, refundable 2,000)", () => {
  // An open-ended booking's deposit of 2,000 captured on its intent, and the rest of its price,
  // 3,564, charged off-session on an intent of its own.
  const deposit = { ...ids, intentId: "pi_1", currency: "KRW" };
  const openEnded: PaymentEvent[] = [
    { type: "PaymentIntentCreated", data: { ...deposit, amount: 2000, createdAt: NOW } },
    { type: "PaymentAuthorized", data: { ...deposit, amount: 2000, authorizedAt: NOW } },
    {
      type: "PaymentSettlementDecided",
      data: {
        ...deposit,
        capture: 2000,
        release: 0,
        offSession: 3564,
        refund: 0,
        because: "check-out",
        decidedAt: NOW,
      },
    },
    { type: "PaymentCaptured", data: { ...deposit, amount: 2000, settlementId: "s1", capturedAt: NOW } },
    {
      type: "OverstayCharged",
      data: { ...deposit, intentId: "pi_off", amount: 3564, settlementId: "s1", chargedAt: NOW },
    },
  ];
  const refundOf = (intentId: string, amount: number) => ({
    type: "PaymentSettlementDecided" as const,
    data: expect.objectContaining({ intentId, refund: amount, because: "refund" }),
  });
  const refunded = (state: PaymentState, intentId: string, amount: number) =>
    decideOutcome(state, {
      type: "RecordPaymentOutcome",
      ...ids,
      settlementId: `s-${intentId}`,
      step: "refund",
      outcome: { ok: true, intentId, amount },
      now: NOW,
    });

  it("given the capture and an off-session charge, when everything is refunded, then each charge gives back what it took", () => {
    const decision = decideRefund(given(openEnded), refund(5564, T0));
    expect(decision).toEqual({ ok: true, events: [refundOf("pi_1", 2000), refundOf("pi_off", 3564)] });
    expect(decideRefund(given(openEnded), refund(5565, T0))).toMatchObject({
      ok: false,
      rejection: { code: "RefundExceedsCaptured", refundable: 5564, asked: 5565 },
    });
  });

  it("given part refunded from the capture, when more is asked, then it comes from the off-session charge", () => {
    const first = decideRefund(given(openEnded), refund(1500, T0));
    if (!first.ok) throw new Error("refused");
    expect(first.events).toEqual([refundOf("pi_1", 1500)]);
    const second = decideRefund(given([...openEnded, ...first.events]), refund(1000, T0));
    expect(second).toEqual({ ok: true, events: [refundOf("pi_1", 500), refundOf("pi_off", 500)] });
  });

  it("given refunds under way, when the provider records each, then no charge gives back more than it took", () => {
    const decision = decideRefund(given(openEnded), refund(5564, T0));
    if (!decision.ok) throw new Error("refused");
    const state = given([...openEnded, ...decision.events]);
    const off = refunded(state, "pi_off", 3564);
    expect(off).toMatchObject({ ok: true, events: [{ type: "PaymentRefunded", data: { amount: 3564 } }] });
    // The deposit's intent took 2,000: 2,001 from it is more than it took, whatever the others took.
    expect(refunded(state, "pi_1", 2001)).toMatchObject({
      ok: false,
      rejection: { code: "RefundExceedsCaptured", refundable: 2000 },
    });
    const done = given([...openEnded, ...decision.events, ...(off.ok ? off.events : [])]);
    expect(done.kind === "open" && ledgerViolations(done.facts, true)).toEqual([]);
    expect(decideRefund(done, refund(2001, T0))).toMatchObject({
      ok: false,
      rejection: { code: "RefundExceedsCaptured", refundable: 0 },
    });
  });
});
