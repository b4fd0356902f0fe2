import { describe, expect, it } from "vitest";
import { LOT, lotRegistered, NOW, parkingReserved } from "../../test-support/given-when-then.js";
import { fold } from "../../test-support/lot-state.js";
import type { ParkingLotEvent } from "../parking-lot/decider.js";
import { decideOutcome, evolvePaymentAggregate, noPayment, type PaymentState } from "./payment.js";
import type { PaymentEvent } from "./payment-facts.js";
import type { PaymentCommand } from "./payment-handler.js";
import {
  afterLotRefusal,
  afterPayment,
  firstStep,
  nextSettleStep,
  type PaymentProcessCommand,
  type ProcessStep,
  type ProviderWord,
  repairsOf,
} from "./payment-process.js";

/*
 * Issue 68, item 4: the payment process's decisions are pure (payment-process.ts). Given the lot's
 * facts and the payment's, when a command (or a step's outcome) arrives, then the next step.
 */

const ID = "res-1";
const ids = { parkingLotId: LOT, reservationId: ID };
const T0 = Date.parse(NOW);
const iso = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();
const HOLD_UNTIL = iso(15);

const waiting: ParkingLotEvent[] = [
  lotRegistered(),
  parkingReserved({ payment: { amount: 5000, currency: "KRW", holdUntil: HOLD_UNTIL } }),
];
const created: PaymentEvent = {
  type: "PaymentIntentCreated",
  data: { ...ids, intentId: "pi_1", amount: 5000, currency: "KRW", createdAt: NOW },
};
const authorized: PaymentEvent = {
  type: "PaymentAuthorized",
  data: { ...ids, intentId: "pi_1", amount: 5000, currency: "KRW", authorizedAt: NOW },
};
const failed: PaymentEvent = {
  type: "PaymentFailed",
  data: { ...ids, intentId: "pi_1", reason: "declined", failedAt: NOW },
};

/** A lot registered without payment terms asks for none: no deposit, no fees. */
const DEFAULT_TERMS = {
  currency: "KRW",
  deposit: 0,
  noShowFee: 0,
  cancellation: { feePercent: 0, freeUntilMinutesBefore: 0 },
};

const paymentOf = (events: readonly PaymentEvent[]): PaymentState =>
  events.reduce(evolvePaymentAggregate, noPayment);

function given(lotEvents: readonly ParkingLotEvent[], paymentEvents: readonly PaymentEvent[] = []) {
  const lot = fold(lotEvents);
  const payment = paymentOf(paymentEvents);
  return {
    when: (command: PaymentProcessCommand) => ({
      // biome-ignore lint/suspicious/noThenProperty: the given/when/then reading is the point; never awaited.
      then: (expected: ProcessStep) => expect(firstStep(command, lot, payment)).toEqual(expected),
      /** The payment's stream took `paid`, leaving these facts: what follows. */
      paid: (paid: PaymentCommand, after: readonly PaymentEvent[]) =>
        afterPayment(command, paid, paymentOf(after)),
      refusedByLot: (code: "PaymentNotPending" | "ReservationNotFound") =>
        afterLotRefusal(command, lot, payment, { code, ...ids }),
    }),
  };
}

const authorize = {
  type: "AuthorizePayment",
  ...ids,
  intentId: "pi_1",
  amount: 5000,
  currency: "KRW",
  now: iso(1),
} as const;
const decline = {
  type: "FailPayment",
  ...ids,
  intentId: "pi_1",
  code: "card_declined",
  now: iso(1),
} as const;
const expire = { type: "ExpirePaymentHold", ...ids, now: iso(20) } as const;

describe("the payment process decides its steps purely (issue 68 item 4)", () => {
  it("an authorization: on the payment's stream first, with what the lot asked; recorded, the booking is confirmed", () => {
    const when = given(waiting, [created]).when(authorize);
    when.then({
      kind: "pay",
      command: {
        ...ids,
        type: "AuthorizePayment",
        command: authorize,
        ask: { awaiting: true, amount: 5000, currency: "KRW", terms: DEFAULT_TERMS },
        booking: { customerId: "CUST1", booking: { amount: 5000 } },
      },
    });
    const paid = (firstStep(authorize, fold(waiting), paymentOf([created])) as { command: PaymentCommand })
      .command;
    expect(when.paid(paid, [created, authorized])).toEqual({ kind: "lot", command: authorize });
    // Refused by the payment's decider (not pending): nothing recorded, nothing follows.
    expect(when.paid(paid, [created])).toEqual({ kind: "done" });
  });

  it("an authorization whose booking the lot ended meanwhile is settled as a free cancel; other refusals are the answer", () => {
    const when = given(waiting, [created, authorized]).when(authorize);
    const settle = when.refusedByLot("PaymentNotPending");
    expect(settle).toMatchObject({
      kind: "pay",
      command: { ...ids, type: "DecideSettlement", ask: { because: "operator-cancel" }, now: iso(1) },
    });
    expect(when.refusedByLot("ReservationNotFound")).toEqual({
      kind: "refuse",
      rejection: { code: "ReservationNotFound", ...ids },
    });
  });

  it("a decline fails the payment, then cancels the booking; authorized first, the booking is confirmed instead", () => {
    const when = given(waiting, [created]).when(decline);
    when.then({
      kind: "pay",
      command: {
        ...ids,
        type: "FailPayment",
        failure: { ...ids, reason: "declined", intentId: "pi_1", code: "card_declined" },
        now: iso(1),
      },
    });
    const paid = (firstStep(decline, fold(waiting), paymentOf([created])) as { command: PaymentCommand })
      .command;
    expect(when.paid(paid, [created, failed])).toEqual({ kind: "lot", command: decline });
    expect(when.paid(paid, [created, authorized])).toEqual({
      kind: "lot",
      command: {
        ...ids,
        type: "AuthorizePayment",
        intentId: "pi_1",
        amount: 5000,
        currency: "KRW",
        now: iso(1),
      },
    });
  });

  it("a hold's end: not due before holdUntil; due, the payment fails as expired with the intent it recorded", () => {
    given(waiting, [created])
      .when({ ...expire, now: iso(5) })
      .then({ kind: "refuse", rejection: { code: "NotDue", parkingLotId: LOT, at: HOLD_UNTIL } });
    given(waiting, [created])
      .when(expire)
      .then({
        kind: "pay",
        command: {
          ...ids,
          type: "FailPayment",
          failure: { ...ids, reason: "expired", intentId: "pi_1" },
          now: iso(20),
        },
      });
  });

  it("nothing to do, or not this lot's: a booking no longer waiting, an unknown lot, another lot's payment", () => {
    const confirmed: ParkingLotEvent = {
      type: "ReservationConfirmed",
      data: { ...ids, customerId: "CUST1", intentId: "pi_1", confirmedAt: NOW },
    };
    given([...waiting, confirmed], [created, authorized])
      .when(decline)
      .then({ kind: "done" });
    given([], [])
      .when(decline)
      .then({ kind: "refuse", rejection: { code: "LotNotFound", parkingLotId: LOT } });
    const elsewhere: PaymentEvent = { ...created, data: { ...created.data, parkingLotId: "other-lot" } };
    given(waiting, [elsewhere])
      .when(authorize)
      .then({ kind: "refuse", rejection: { code: "ReservationNotFound", ...ids } });
    given([lotRegistered()], [])
      .when({ type: "SettleBooking", ...ids, end: { because: "check-out", overstayCharge: 0 }, now: iso(60) })
      .then({ kind: "done" });
  });
});

describe("the provider's state as the truth (issue 71): given the payment, when the provider says, then the repairs", () => {
  const word = (status: ProviderWord["status"], held: number, received: number): ProviderWord => ({
    intentId: "pi_1",
    status,
    held,
    received,
    currency: "KRW",
  });
  const settled: PaymentEvent = {
    type: "PaymentSettlementDecided",
    data: {
      ...ids,
      intentId: "pi_1",
      currency: "KRW",
      capture: 3000,
      release: 2000,
      offSession: 0,
      refund: 0,
      because: "no-show",
      decidedAt: NOW,
    },
  };
  const stepFailed = (step: "capture" | "release"): PaymentEvent => ({
    type: "PaymentStepFailed",
    data: { ...ids, settlementId: "s1", step, code: "provider_refused", message: "api_error", failedAt: NOW },
  });
  const outcome = (step: "capture" | "release", amount: number) => ({
    type: "RecordPaymentOutcome",
    ...ids,
    settlementId: "reconcile:pi_1",
    step,
    outcome: { ok: true, intentId: "pi_1", amount },
  });

  it("a capture applied though recorded failed: recorded captured, the rest of the hold released", () => {
    const payment = paymentOf([created, authorized, settled, stepFailed("capture"), stepFailed("release")]);
    expect(repairsOf(payment, false, word("captured", 0, 3000))).toEqual([
      outcome("capture", 3000),
      outcome("release", 2000),
    ]);
  });

  it("an authorization whose word was lost: authorized while the booking waits, nothing once it stopped", () => {
    const authorize = { type: "AuthorizePayment", ...ids, intentId: "pi_1", amount: 5000, currency: "KRW" };
    expect(repairsOf(paymentOf([created]), true, word("authorized", 5000, 0))).toEqual([authorize]);
    expect(repairsOf(paymentOf([created]), false, word("authorized", 5000, 0))).toEqual([]);
  });

  it("an authorization whose word was lost names the card it was confirmed with (issue 71: charged later)", () => {
    const card = { ...word("authorized", 5000, 0), paymentMethod: "pm_entered" };
    expect(repairsOf(paymentOf([created]), true, card)).toEqual([
      {
        type: "AuthorizePayment",
        ...ids,
        intentId: "pi_1",
        amount: 5000,
        currency: "KRW",
        paymentMethod: "pm_entered",
      },
    ]);
  });

  it("nothing when they agree, for another intent, or before the settlement recorded its capture", () => {
    const captured: PaymentEvent = {
      type: "PaymentCaptured",
      data: { ...ids, intentId: "pi_1", amount: 3000, currency: "KRW", settlementId: "s1", capturedAt: NOW },
    };
    const cases: [PaymentEvent[], ProviderWord][] = [
      [[created, authorized, settled, captured], word("captured", 0, 3000)],
      [[created, authorized], word("captured", 0, 5000)],
      [[created, authorized, settled], word("captured", 0, 3000)],
      [
        [created, authorized, settled, stepFailed("capture")],
        { ...word("captured", 0, 3000), intentId: "pi_2" },
      ],
      [[created, authorized, settled, stepFailed("capture")], word("canceled", 0, 0)],
      [[created, authorized], word("authorized", 5000, 0)],
    ];
    for (const [events, said] of cases) expect(repairsOf(paymentOf(events), true, said)).toEqual([]);
  });
});

/*
 * Issue 68 item 4: a settlement's next step is a pure function of its payment's stream (the plan
 * keeps no progress). Given the payment's facts, when its settlement is looked at, then the step due.
 */
describe("a settlement's next step, from its payment's stream", () => {
  const settlement = {
    eventId: "s1",
    intentId: "pi_1",
    capture: 3000,
    release: 2000,
    offSession: 1500,
    refund: 0,
  };
  const decided: PaymentEvent = {
    type: "PaymentSettlementDecided",
    data: {
      ...ids,
      intentId: "pi_1",
      currency: "KRW",
      capture: 3000,
      release: 2000,
      offSession: 1500,
      refund: 0,
      because: "check-out",
      decidedAt: NOW,
    },
  };
  const history = [created, authorized, decided];
  const state = (events: readonly PaymentEvent[]): PaymentState =>
    events.reduce(evolvePaymentAggregate, noPayment);
  const recorded = (
    events: readonly PaymentEvent[],
    step: "capture" | "release" | "overstay",
    outcome: object,
  ) => {
    const decision = decideOutcome(state(events), {
      type: "RecordPaymentOutcome",
      ...ids,
      settlementId: "s1",
      step,
      outcome: outcome as never,
      now: NOW,
    });
    if (!decision.ok) throw new Error(JSON.stringify(decision.rejection));
    return [...events, ...decision.events];
  };

  it("nothing recorded yet: the capture", () => {
    expect(nextSettleStep(state(history), settlement)).toEqual({ step: "capture", amount: 3000 });
  });

  it("the capture recorded: the release, which only records what the capture let go", () => {
    const captured = recorded(history, "capture", { ok: true, intentId: "pi_1", amount: 3000 });
    expect(nextSettleStep(state(captured), settlement)).toEqual({
      step: "release",
      amount: 2000,
      release: { ask: false, amount: 2000 },
    });
  });

  it("the capture recorded failed: the release asks the provider and records all of the hold", () => {
    const failed = recorded(history, "capture", {
      ok: false,
      code: "provider_refused",
      message: "x",
      amount: 3000,
    });
    expect(nextSettleStep(state(failed), settlement)).toMatchObject({
      step: "release",
      release: { ask: true, amount: 5000 },
    });
  });

  it("capture and release recorded: the off-session charge; all recorded, or tried this run: nothing", () => {
    const captured = recorded(history, "capture", { ok: true, intentId: "pi_1", amount: 3000 });
    const released = recorded(captured, "release", { ok: true, intentId: "pi_1", amount: 2000 });
    expect(nextSettleStep(state(released), settlement)).toEqual({ step: "overstay", amount: 1500 });
    expect(nextSettleStep(state(released), settlement, new Set(["s1:overstay"]))).toBeUndefined();
    const charged = recorded(released, "overstay", { ok: true, intentId: "pi_off", amount: 1500 });
    expect(nextSettleStep(state(charged), settlement)).toBeUndefined();
  });

  it("a capture that took the whole hold leaves no release to ask or record", () => {
    const all = { ...settlement, capture: 5000, release: 0, offSession: 0 };
    const captured = recorded(history, "capture", { ok: true, intentId: "pi_1", amount: 5000 });
    expect(nextSettleStep(state(captured), all)).toBeUndefined();
  });
});
