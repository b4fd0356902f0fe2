import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { LOT, lotRegistered, NOW, parkingReserved } from "../../test-support/given-when-then.js";
import { fold } from "../../test-support/lot-state.js";
import { decide, type ParkingLotEvent } from "../parking-lot/decider.js";
import { decideAttempt } from "./client-confirmed.js";
import { settleAskOf } from "./lot-booking.js";
import {
  decideAuthorization,
  decideFailure,
  decideSettlement,
  evolvePaymentAggregate,
  noPayment,
  type PaymentState,
} from "./payment.js";
import type { PaymentEvent } from "./payment-facts.js";
import { paymentStateOf } from "./payment-facts.js";
import type { PaymentCommand } from "./payment-handler.js";
import {
  AUTHORIZE_BEFORE_STAY_HOURS,
  CARD_HOLD_LIFETIME_MS,
  holdPlanOf,
  type SettleAsk,
  settlementFor,
} from "./payment-policy.js";
import { afterPayment, firstStep } from "./payment-process.js";
import { intentInUse } from "./unpaid-intents.js";

/*
 * Issue 71, holds that fit the horizon: given a booking's payment facts, when the provider's word
 * arrives, then what is recorded. A stay ending beyond a card hold's seven days is confirmed on its
 * card saved (nothing held, never `authorized`), held off-session a stated time before the stay, and
 * canceled when that hold fails.
 */

const ID = "res-1";
const ids = { parkingLotId: LOT, reservationId: ID };
const T0 = Date.parse(NOW);
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const iso = (ms: number) => new Date(T0 + ms).toISOString();
const given = (events: readonly PaymentEvent[]): PaymentState =>
  events.reduce(evolvePaymentAggregate, noPayment);
const ask = { awaiting: true, amount: 5000, currency: "KRW" };
const STARTS = iso(10 * DAY);
const AUTHORIZE_AT = iso(10 * DAY - AUTHORIZE_BEFORE_STAY_HOURS * HOUR);

const created: PaymentEvent = {
  type: "PaymentIntentCreated",
  data: { ...ids, intentId: "seti_1", amount: 5000, currency: "KRW", createdAt: NOW },
};
const saveCard = {
  type: "AuthorizePayment",
  ...ids,
  intentId: "seti_1",
  amount: 5000,
  currency: "KRW",
  authorizeAt: AUTHORIZE_AT,
  now: NOW,
} as const;
const cardSaved: PaymentEvent = {
  type: "PaymentCardSaved",
  data: {
    ...ids,
    intentId: "seti_1",
    amount: 5000,
    currency: "KRW",
    authorizeAt: AUTHORIZE_AT,
    savedAt: NOW,
  },
};
const holdBeforeStay = {
  type: "AuthorizePayment",
  ...ids,
  intentId: "pi_2",
  amount: 5000,
  currency: "KRW",
  now: AUTHORIZE_AT,
} as const;

describe("the horizon rule (holdPlanOf)", () => {
  it("holds at booking a stay ending within a hold's seven days, and an open-ended one", () => {
    expect(holdPlanOf({ startsAt: iso(6 * DAY), endsAt: iso(7 * DAY) }, NOW)).toEqual({});
    expect(holdPlanOf({}, NOW)).toEqual({});
    expect(CARD_HOLD_LIFETIME_MS).toBe(7 * DAY);
  });

  it("saves the card for a stay ending later, held the stated hours before it starts (at once if that has come)", () => {
    expect(holdPlanOf({ startsAt: STARTS, endsAt: iso(10 * DAY + HOUR) }, NOW)).toEqual({
      authorizeAt: AUTHORIZE_AT,
    });
    expect(holdPlanOf({ startsAt: iso(30 * DAY), endsAt: iso(30 * DAY + HOUR) }, NOW, 48)).toEqual({
      authorizeAt: iso(28 * DAY),
    });
    // A stay of eight days starting in an hour: its hold cannot wait.
    expect(holdPlanOf({ startsAt: iso(HOUR), endsAt: iso(8 * DAY) }, NOW)).toEqual({});
  });
});

describe("a payment whose card is saved for a stay beyond a hold's lifetime", () => {
  it("given a pending payment, when its card is saved, then PaymentCardSaved (never PaymentAuthorized): card-saved, nothing held", () => {
    const decision = decideAuthorization(given([created]), saveCard, ask);
    expect(decision).toEqual({ ok: true, events: [cardSaved] });
    const state = given([created, cardSaved]);
    expect(state).toMatchObject({ status: "saved", authorized: 0, saved: { amount: 5000 } });
    expect(paymentStateOf({ state: "card-saved", captured: 0, refunded: 0, released: 0 })).toBe("card-saved");
    // Told twice (a retry, a second replica): nothing more.
    expect(decideAuthorization(state, saveCard, { ...ask, awaiting: false })).toEqual({
      ok: true,
      events: [],
    });
  });

  it("when its hold before the stay arrives (a new intent), then PaymentAuthorized of it; too little or another currency is refused", () => {
    const state = given([created, cardSaved]);
    const decision = decideAuthorization(state, holdBeforeStay, { ...ask, awaiting: false });
    expect(decision).toEqual({
      ok: true,
      events: [
        {
          type: "PaymentAuthorized",
          data: { ...ids, intentId: "pi_2", amount: 5000, currency: "KRW", authorizedAt: AUTHORIZE_AT },
        },
      ],
    });
    const after = given([created, cardSaved, ...(decision.ok ? decision.events : [])]);
    expect(after).toMatchObject({ status: "authorized", intentId: "pi_2", authorized: 5000 });
    expect(decideAuthorization(state, { ...holdBeforeStay, amount: 4000 }, ask)).toMatchObject({
      ok: false,
      rejection: { code: "PaymentMismatch", reason: "amount" },
    });
    expect(decideAuthorization(state, { ...holdBeforeStay, currency: "USD" }, ask)).toMatchObject({
      ok: false,
      rejection: { code: "PaymentMismatch", reason: "currency" },
    });
  });

  it("given its booking ended before the hold (settled), when the hold arrives, then it is refused (and so released)", () => {
    const canceled: PaymentEvent = {
      type: "PaymentSettlementDecided",
      data: {
        ...ids,
        intentId: "seti_1",
        currency: "KRW",
        capture: 0,
        release: 0,
        offSession: 0,
        refund: 0,
        because: "customer-cancel",
        decidedAt: iso(DAY),
      },
    };
    const terms = {
      currency: "KRW",
      deposit: 0,
      noShowFee: 0,
      cancellation: { feePercent: 50, freeUntilMinutesBefore: 60 },
    };
    // Canceled early, nothing held: its settlement moves nothing.
    expect(
      decideSettlement(
        given([created, cardSaved]),
        { because: "customer-cancel", terms, startsAt: STARTS },
        iso(DAY),
      ),
    ).toEqual({ ok: true, events: [{ ...canceled, data: { ...canceled.data } }] });
    expect(decideAuthorization(given([created, cardSaved, canceled]), holdBeforeStay, ask)).toEqual({
      ok: false,
      rejection: { code: "PaymentNotPending", ...ids },
    });
  });

  it("when its hold before the stay is declined (authentication_required), then the payment fails and the confirmed booking is canceled, its spot released", () => {
    const failure = {
      ...ids,
      reason: "declined" as const,
      intentId: "pi_2",
      code: "authentication_required",
    };
    const decision = decideFailure(given([created, cardSaved]), failure, AUTHORIZE_AT);
    expect(decision).toEqual({
      ok: true,
      events: [{ type: "PaymentFailed", data: { ...failure, failedAt: AUTHORIZE_AT } }],
    });
    // The lot: confirmed on the saved card, RESERVED; the process takes the failure to it, which cancels it.
    const lotEvents: ParkingLotEvent[] = [
      lotRegistered(),
      parkingReserved({
        startsAt: STARTS,
        endsAt: iso(10 * DAY + HOUR),
        payment: { amount: 5000, currency: "KRW", holdUntil: iso(15 * 60_000) },
      }),
      {
        type: "ReservationConfirmed",
        data: { ...ids, customerId: "CUST1", intentId: "seti_1", confirmedAt: NOW },
      },
    ];
    const fail = {
      type: "FailPayment",
      ...ids,
      intentId: "pi_2",
      code: "authentication_required",
      holdBeforeStay: true,
      now: AUTHORIZE_AT,
    } as const;
    const step = firstStep(fail, fold(lotEvents), given([created, cardSaved]));
    expect(step).toMatchObject({ kind: "pay", command: { type: "FailPayment" } });
    const failed = decision.ok ? decision.events : [];
    const next = afterPayment(
      fail,
      (step as { command: PaymentCommand }).command,
      given([created, cardSaved, ...failed]),
    );
    expect(next).toEqual({ kind: "lot", command: fail });
    const lot = decide(fail, fold(lotEvents), {});
    expect(lot).toMatchObject({
      ok: true,
      events: [{ type: "ReservationCanceled", data: { reservationId: ID, reason: "payment-failed" } }],
    });
    // Any other failure of a confirmed booking (a late decline of an earlier card) cancels nothing.
    const { holdBeforeStay: _hold, ...late } = fail;
    expect(decide(late, fold(lotEvents), {})).toEqual({ ok: true, events: [] });
  });
});

describe("a saved card's hold before the stay that asks for its customer (authentication_required)", () => {
  const askCustomer = { ...holdBeforeStay, actionDeadline: STARTS };
  const actionRequired: PaymentEvent = {
    type: "PaymentActionRequired",
    data: {
      ...ids,
      intentId: "pi_2",
      amount: 5000,
      currency: "KRW",
      deadline: STARTS,
      actionRequiredAt: AUTHORIZE_AT,
    },
  };
  const off = { ...ask, awaiting: false };

  it("given a saved card, when its hold asks for the customer, then PaymentActionRequired (until the stay's start), once: action-required, nothing held", () => {
    expect(decideAuthorization(given([created, cardSaved]), askCustomer, off)).toEqual({
      ok: true,
      events: [actionRequired],
    });
    const state = given([created, cardSaved, actionRequired]);
    expect(state).toMatchObject({
      status: "action-required",
      authorized: 0,
      action: { intentId: "pi_2", deadline: STARTS },
    });
    expect(paymentStateOf({ state: "action-required", captured: 0, refunded: 0, released: 0 })).toBe(
      "action-required",
    );
    expect(decideAuthorization(state, askCustomer, off)).toEqual({ ok: true, events: [] });
  });

  it("when the customer completes that intent (its authorization), then PaymentAuthorized; another intent is refused", () => {
    const state = given([created, cardSaved, actionRequired]);
    const completed = { ...holdBeforeStay, now: iso(10 * DAY - HOUR) };
    expect(decideAuthorization(state, completed, off)).toEqual({
      ok: true,
      events: [
        {
          type: "PaymentAuthorized",
          data: { ...ids, intentId: "pi_2", amount: 5000, currency: "KRW", authorizedAt: completed.now },
        },
      ],
    });
    expect(decideAuthorization(state, { ...completed, intentId: "pi_9" }, off)).toMatchObject({
      ok: false,
      rejection: { code: "PaymentMismatch", reason: "intent" },
    });
  });

  it("when its deadline passes first, then the payment fails (the booking is canceled as a declined hold is)", () => {
    const failure = {
      ...ids,
      reason: "declined" as const,
      intentId: "pi_2",
      code: "authentication_required",
    };
    expect(decideFailure(given([created, cardSaved, actionRequired]), failure, STARTS)).toEqual({
      ok: true,
      events: [{ type: "PaymentFailed", data: { ...failure, failedAt: STARTS } }],
    });
    const failed: PaymentEvent = { type: "PaymentFailed", data: { ...failure, failedAt: STARTS } };
    expect(given([created, cardSaved, actionRequired, failed])).toMatchObject({ status: "failed" });
  });

  it("the intent its customer may complete stays in use (reconciliation leaves it); a cancel meanwhile settles it, and a late completion is refused", () => {
    const state = given([created, cardSaved, actionRequired]);
    expect(intentInUse(state, false, "pi_2")).toBe(true);
    expect(intentInUse(state, false, "pi_9")).toBe(false);
    const terms = {
      currency: "KRW",
      deposit: 0,
      noShowFee: 0,
      cancellation: { feePercent: 50, freeUntilMinutesBefore: 60 },
    };
    const decision = decideSettlement(
      state,
      { because: "customer-cancel", terms, startsAt: STARTS },
      AUTHORIZE_AT,
    );
    expect(decision).toMatchObject({
      ok: true,
      events: [{ type: "PaymentSettlementDecided", data: { capture: 0, release: 0 } }],
    });
    const canceled = given([created, cardSaved, actionRequired, ...(decision.ok ? decision.events : [])]);
    expect(intentInUse(canceled, false, "pi_2")).toBe(false);
    expect(decideAuthorization(canceled, holdBeforeStay, off)).toEqual({
      ok: false,
      rejection: { code: "PaymentNotPending", ...ids },
    });
  });
});

describe("a saved card's settlement moves what the cancel's answer stated (issue 71)", () => {
  it("for any terms and moment, a card saved and not held yet is charged off-session exactly the fee the answer states", () => {
    const endArb: fc.Arbitrary<SettleAsk> = fc.oneof(
      fc.record({
        because: fc.constantFrom("customer-cancel" as const, "operator-cancel" as const),
        terms: fc.record({
          currency: fc.constant("KRW"),
          deposit: fc.constant(0),
          noShowFee: fc.integer({ min: 0, max: 20_000 }),
          cancellation: fc.record({
            // Longer than the hold's lead time too: a fee falls due before anything is held.
            freeUntilMinutesBefore: fc.integer({ min: 0, max: 7 * 24 * 60 }),
            feePercent: fc.integer({ min: 0, max: 100 }),
          }),
        }),
        startsAt: fc.constant(STARTS),
      }),
      fc.record({
        because: fc.constant("no-show" as const),
        terms: fc.record({
          currency: fc.constant("KRW"),
          deposit: fc.constant(0),
          noShowFee: fc.integer({ min: 0, max: 20_000 }),
          cancellation: fc.constant({ feePercent: 0, freeUntilMinutesBefore: 0 }),
        }),
      }),
    );
    const amountArb = fc.integer({ min: 100, max: 100_000 });
    const minutesArb = fc.integer({ min: AUTHORIZE_BEFORE_STAY_HOURS * 60 + 1, max: 9 * 24 * 60 });
    fc.assert(
      fc.property(endArb, amountArb, minutesArb, (end, amount, minutesBefore) => {
        const at = new Date(Date.parse(STARTS) - minutesBefore * 60_000).toISOString();
        const stated = settlementFor(end, amount, "KRW", at); // the cancel's answer (lot-booking.ts)
        const saved = { ...cardSaved, data: { ...cardSaved.data, amount } } as PaymentEvent;
        const decision = decideSettlement(given([created, saved]), end, at);
        const moved = decision.ok ? decision.events[0] : undefined;
        expect(moved?.type).toBe("PaymentSettlementDecided");
        if (moved?.type !== "PaymentSettlementDecided") return;
        // Nothing is held to capture or release: what the answer said is taken is charged to the card.
        expect(moved.data.capture + moved.data.release).toBe(0);
        expect(moved.data.offSession).toBe(stated.capture + stated.offSession);
      }),
      { numRuns: 300 },
    );
  });
});

describe("a far booking its customer confirms with Stripe.js (a SetupIntent recorded as its intent, issue 71)", () => {
  const recorded: PaymentEvent = { ...created, data: { ...created.data, authorizeAt: AUTHORIZE_AT } };
  const succeeded = { ...saveCard, authorizeAt: undefined, paymentMethod: "pm_1", now: iso(HOUR) };
  const declined = { ...ids, reason: "declined" as const, intentId: "seti_1", code: "card_declined" };

  it("when the SetupIntent succeeds, then PaymentCardSaved naming the card, to hold at authorizeAt; another intent is refused", () => {
    const state = given([recorded]);
    expect(state).toMatchObject({ status: "pending", saved: { authorizeAt: AUTHORIZE_AT } });
    expect(decideAuthorization(state, succeeded, ask)).toEqual({
      ok: true,
      events: [
        {
          ...cardSaved,
          data: { ...cardSaved.data, method: "pm_1", savedAt: iso(HOUR) },
        },
      ],
    });
    expect(decideAuthorization(state, { ...succeeded, intentId: "seti_9" }, ask)).toMatchObject({
      ok: false,
      rejection: { reason: "intent" },
    });
  });

  it("when the customer's card is declined, then PaymentAttemptFailed (once per decline), nothing failed; another intent's decline records nothing", () => {
    const state = given([recorded]);
    const tried = decideAttempt(state, declined, iso(HOUR));
    expect(tried).toEqual({
      ok: true,
      events: [
        {
          type: "PaymentAttemptFailed",
          data: { ...ids, intentId: "seti_1", code: "card_declined", failedAt: iso(HOUR) },
        },
      ],
    });
    const after = given([recorded, ...tried.events]);
    expect(after).toMatchObject({ status: "pending" });
    expect(decideAttempt(after, declined, iso(2 * HOUR)).events).toEqual([]); // the webhook again
    expect(
      decideAttempt(after, { ...declined, code: "insufficient_funds" }, iso(2 * HOUR)).events,
    ).toHaveLength(1);
    expect(decideAttempt(state, { ...declined, intentId: "pi_9" }, iso(HOUR)).events).toEqual([]);
    // The customer may still save a card on it.
    expect(decideAuthorization(after, succeeded, ask)).toMatchObject({
      events: [{ type: "PaymentCardSaved" }],
    });
  });
});

describe("a card whose saving itself asks for its customer (3-D Secure on its SetupIntent, issue 71)", () => {
  const DEADLINE = iso(DAY); // 24 h after booking, before the hold's time
  const askSaving = { ...saveCard, actionDeadline: DEADLINE };
  const savingAsked: PaymentEvent = {
    type: "PaymentActionRequired",
    data: {
      ...ids,
      intentId: "seti_1",
      amount: 5000,
      currency: "KRW",
      deadline: DEADLINE,
      actionRequiredAt: NOW,
      authorizeAt: AUTHORIZE_AT,
    },
  };
  const off = { ...ask, awaiting: false };
  const completed = { ...saveCard, now: iso(HOUR) }; // setup_intent.succeeded
  const process = { ...askSaving };

  it("given a pending payment, when saving asks for the customer, then PaymentActionRequired with authorizeAt, once: action-required, the booking still awaiting its payment", () => {
    expect(decideAuthorization(noPayment, askSaving, ask)).toEqual({ ok: true, events: [savingAsked] });
    const state = given([savingAsked]);
    expect(state).toMatchObject({
      status: "action-required",
      authorized: 0,
      saved: { amount: 5000, authorizeAt: AUTHORIZE_AT },
      action: { intentId: "seti_1", deadline: DEADLINE },
    });
    expect(decideAuthorization(state, askSaving, off)).toEqual({ ok: true, events: [] });
    // The lot hears nothing yet (issue 71): no card is saved, so the booking still awaits its payment.
    expect(afterPayment(process, { type: "AuthorizePayment" } as PaymentCommand, state)).toEqual({
      kind: "done",
    });
    // Nor does the lot's hold running out end it: the action's deadline does.
    const pendingLot = fold([
      lotRegistered(),
      parkingReserved({ payment: { amount: 5000, currency: "KRW", holdUntil: iso(15 * 60_000) } }),
    ]);
    const expire = { type: "ExpirePaymentHold", ...ids, now: iso(HOUR) } as const;
    expect(firstStep(expire, pendingLot, state)).toEqual({ kind: "done" });
    expect(firstStep(expire, pendingLot, given([]))).toMatchObject({ kind: "pay" });
  });

  it("when the customer completes it (the SetupIntent's webhook), then PaymentCardSaved: its hold before the stay planned as any saved card's", () => {
    const state = given([savingAsked]);
    const booking = { customerId: "cust-1" };
    expect(decideAuthorization(state, completed, off, booking)).toEqual({
      ok: true,
      events: [{ ...cardSaved, data: { ...cardSaved.data, ...booking, savedAt: completed.now } }],
    });
    const saved = given([savingAsked, cardSaved]);
    expect(saved).toMatchObject({ status: "saved", intentId: "seti_1", action: undefined });
    expect(decideAuthorization(saved, holdBeforeStay, off)).toMatchObject({
      ok: true,
      events: [{ type: "PaymentAuthorized" }],
    });
    for (const wrong of [{ intentId: "seti_9" }, { amount: 4000 }, { currency: "USD" }])
      expect(decideAuthorization(state, { ...completed, ...wrong }, off)).toMatchObject({
        ok: false,
        rejection: { code: "PaymentMismatch" },
      });
  });

  it("when its customer cancels before the card is saved, even inside the fee window, then nothing is charged: no card, no fee (issue 71 item 4)", () => {
    const terms = {
      currency: "KRW",
      deposit: 0,
      noShowFee: 0,
      cancellation: { freeUntilMinutesBefore: 30 * 24 * 60, feePercent: 50 },
    };
    // The lot never confirmed the booking (its card not saved): its settlement is a free cancel's,
    // the one rule the cancel's answer follows too (settleAskOf, lot-booking.ts).
    const lot = fold([
      lotRegistered(),
      { type: "ParkingLotPaymentTermsChanged", data: { parkingLotId: LOT, terms, changedAt: NOW } },
      parkingReserved({
        startsAt: STARTS,
        endsAt: iso(10 * DAY + HOUR),
        payment: { amount: 5000, currency: "KRW", holdUntil: iso(15 * 60_000) },
      }),
    ] as ParkingLotEvent[]);
    const ended = settleAskOf(lot, ID, { because: "customer-cancel" });
    expect(ended).toMatchObject({ because: "operator-cancel" });
    const decision = decideSettlement(given([savingAsked]), ended as SettleAsk, iso(HOUR));
    expect(decision).toMatchObject({
      ok: true,
      events: [{ type: "PaymentSettlementDecided", data: { capture: 0, release: 0, offSession: 0 } }],
    });
    // Settled: the customer completing the saving afterwards is refused (the card is not kept for it).
    const settled = given([savingAsked, ...(decision.ok ? decision.events : [])]);
    expect(decideAuthorization(settled, completed, off)).toMatchObject({ ok: false });
    // Once saved (the lot confirmed it), a customer's cancel is charged its fee off-session.
    const late = { because: "customer-cancel" as const, terms, startsAt: STARTS };
    expect(decideSettlement(given([savingAsked, cardSaved]), late, iso(HOUR))).toMatchObject({
      events: [{ data: { offSession: 2500 } }],
    });
  });

  it("when it fails or its deadline passes first, then the payment fails, and a late completion is refused", () => {
    const failure = {
      ...ids,
      reason: "declined" as const,
      intentId: "seti_1",
      code: "authentication_required",
    };
    expect(decideFailure(given([savingAsked]), failure, DEADLINE)).toEqual({
      ok: true,
      events: [{ type: "PaymentFailed", data: { ...failure, failedAt: DEADLINE } }],
    });
    const failed: PaymentEvent = { type: "PaymentFailed", data: { ...failure, failedAt: DEADLINE } };
    expect(given([savingAsked, failed])).toMatchObject({ status: "failed" });
    expect(decideAuthorization(given([savingAsked, failed]), completed, off)).toMatchObject({
      ok: false,
      rejection: { code: "PaymentNotPending" },
    });
  });
});
