import { describe, expect, it } from "vitest";
import { LOT, NOW } from "../../test-support/given-when-then.js";
import { evolvePaymentAggregate, noPayment, type PaymentState, type PaymentStreamEvent } from "./payment.js";
import { decidePayment } from "./payment-handler.js";
import { type NextStep, nextStep, type PaymentFactRecord, processOf } from "./payment-next.js";

/*
 * Issue 68 item 4: what to do next for a booking's money is a pure function of its payment's stream.
 * Given its facts (with their ids, from which each step's key derives), at a time, then the step.
 */

const ids = { parkingLotId: LOT, reservationId: "res-1" };
const T0 = Date.parse(NOW);
const iso = (hours: number) => new Date(T0 + hours * 3_600_000).toISOString();

const given = (...facts: [string, PaymentStreamEvent][]) => ({
  at: (now: string, tried?: ReadonlySet<string>) => ({
    // biome-ignore lint/suspicious/noThenProperty: the given/when/then reading is the point; never awaited.
    then: (expected: NextStep | NextStep["kind"]) => {
      const records: PaymentFactRecord[] = facts.map(([id, event]) => ({ id, event }));
      const step = nextStep(processOf(records), now, tried);
      if (typeof expected === "string") expect(step.kind).toBe(expected);
      else expect(step).toEqual(expected);
      return step;
    },
  }),
});

const authorized: PaymentStreamEvent = {
  type: "PaymentAuthorized",
  data: { ...ids, intentId: "pi_1", amount: 5000, currency: "KRW", authorizedAt: NOW },
};
const settled = (refund = 0, because: "check-out" | "refund" = "check-out"): PaymentStreamEvent => ({
  type: "PaymentSettlementDecided",
  data: {
    ...ids,
    intentId: "pi_1",
    currency: "KRW",
    capture: refund ? 0 : 3000,
    release: refund ? 0 : 2000,
    offSession: refund ? 0 : 1500,
    refund,
    because,
    decidedAt: NOW,
  },
});
const captured: PaymentStreamEvent = {
  type: "PaymentCaptured",
  data: {
    ...ids,
    intentId: "pi_1",
    amount: 3000,
    currency: "KRW",
    settlementId: "ev-settle",
    capturedAt: NOW,
  },
};
const releasedRest: PaymentStreamEvent = {
  type: "PaymentReleased",
  data: { ...ids, intentId: "pi_1", amount: 2000, settlementId: "ev-settle", releasedAt: NOW },
};
const cardSaved: PaymentStreamEvent = {
  type: "PaymentCardSaved",
  data: {
    ...ids,
    intentId: "seti_1",
    amount: 5000,
    currency: "KRW",
    authorizeAt: iso(24),
    savedAt: NOW,
    booking: { amount: 5000, startsAt: iso(48), endsAt: iso(60) },
  },
};
const holdAsked: PaymentStreamEvent = {
  type: "PaymentActionRequired",
  data: {
    ...ids,
    intentId: "pi_2",
    amount: 5000,
    currency: "KRW",
    deadline: iso(48),
    actionRequiredAt: iso(24),
  },
};
const holdFailed: PaymentStreamEvent = {
  type: "PaymentFailed",
  data: { ...ids, reason: "declined", code: "authentication_required", failedAt: iso(48) },
};

describe("nextStep: a settlement's steps, in order, each once", () => {
  it("captures, then records the release the capture made, then charges the overstay, then nothing", () => {
    const settlement = {
      eventId: "ev-settle",
      intentId: "pi_1",
      currency: "KRW",
      because: "check-out" as const,
    };
    given(["ev-auth", authorized], ["ev-settle", settled()])
      .at(NOW)
      .then({
        kind: "settle",
        settlement: { ...settlement, capture: 3000, release: 2000, offSession: 1500, refund: 0 },
        due: { step: "capture", amount: 3000 },
      });
    given(["ev-auth", authorized], ["ev-settle", settled()], ["ev-c", captured]).at(NOW).then("settle");
    const step = given(
      ["ev-auth", authorized],
      ["ev-settle", settled()],
      ["ev-c", captured],
      ["ev-r", releasedRest],
    )
      .at(NOW)
      .then("settle");
    expect(step.kind === "settle" && step.due).toEqual({ step: "overstay", amount: 1500 });
    // A step tried this run whose outcome the stream refused is not asked again in the same run.
    given(["ev-auth", authorized], ["ev-settle", settled()], ["ev-c", captured], ["ev-r", releasedRest])
      .at(NOW, new Set(["ev-settle:overstay"]))
      .then("none");
  });

  it("a refund decided later is its own settlement, keyed by its own fact", () => {
    const overstay: PaymentStreamEvent = {
      type: "OverstayCharged",
      data: {
        ...ids,
        intentId: "pi_9",
        amount: 1500,
        currency: "KRW",
        settlementId: "ev-settle",
        chargedAt: NOW,
      },
    };
    const done: [string, PaymentStreamEvent][] = [
      ["ev-auth", authorized],
      ["ev-settle", settled()],
      ["ev-c", captured],
      ["ev-r", releasedRest],
      ["ev-o", overstay],
    ];
    given(...done)
      .at(NOW)
      .then("none");
    const step = given(...done, ["ev-refund", settled(1000, "refund")])
      .at(NOW)
      .then("settle");
    expect(step.kind === "settle" && [step.settlement.eventId, step.due]).toEqual([
      "ev-refund",
      { step: "refund", amount: 1000 },
    ]);
  });
});

describe("nextStep: a saved card's hold before the stay", () => {
  it("waits until its authorizeAt, then holds, keyed by the PaymentCardSaved", () => {
    given(["ev-saved", cardSaved])
      .at(NOW)
      .then({ kind: "wait", until: iso(24) });
    given(["ev-saved", cardSaved])
      .at(iso(24))
      .then({ kind: "hold", eventId: "ev-saved", amount: 5000, currency: "KRW", startsAt: iso(48) });
  });

  it("a hold that asked for its customer waits until its deadline, then fails and releases its intent", () => {
    given(["ev-saved", cardSaved], ["ev-asked", holdAsked])
      .at(iso(30))
      .then({ kind: "wait", until: iso(48) });
    given(["ev-saved", cardSaved], ["ev-asked", holdAsked])
      .at(iso(48))
      .then({ kind: "deadline", eventId: "ev-asked" });
    // Failed, its intent not released yet (the provider was out): the deadline's step again.
    const failedWithHold: PaymentStreamEvent = {
      ...holdFailed,
      data: { ...holdFailed.data, intentId: "pi_2" },
    };
    const failedHold: [string, PaymentStreamEvent][] = [
      ["ev-saved", cardSaved],
      ["ev-asked", holdAsked],
      ["ev-f", failedWithHold],
    ];
    given(...failedHold)
      .at(iso(49))
      .then({ kind: "deadline", eventId: "ev-asked" });
    const released: PaymentStreamEvent = {
      type: "PaymentIntentReleased",
      data: { ...ids, intentId: "pi_2", amount: 0, because: "authorization-refused", releasedAt: iso(49) },
    };
    given(...failedHold, ["ev-rel", released])
      .at(iso(49))
      .then("none");
  });

  it("a payment authorized, or one whose booking ended, has no hold to make", () => {
    const authorizedHold: PaymentStreamEvent = {
      type: "PaymentAuthorized",
      data: { ...ids, intentId: "pi_2", amount: 5000, currency: "KRW", authorizedAt: iso(24) },
    };
    given(["ev-saved", cardSaved], ["ev-a", authorizedHold]).at(iso(25)).then("none");
    given().at(NOW).then("none");
  });
});

describe("nextStep: a booking's request, its authorization (issue 68 item 4)", () => {
  const request = (extra: Record<string, string> = {}): PaymentStreamEvent => ({
    type: "PaymentRequested",
    data: {
      ...ids,
      requestedBy: "ev-reserved",
      amount: 5000,
      currency: "KRW",
      holdUntil: iso(1),
      customerId: "C1",
      customer: "pseudonym-1",
      requestedAt: NOW,
      ...extra,
    },
  });
  const intent: PaymentStreamEvent = {
    type: "PaymentIntentCreated",
    data: { ...ids, intentId: "pi_1", amount: 5000, currency: "KRW", createdAt: NOW, customerId: "C1" },
  };
  const authorize = (event: PaymentStreamEvent): NextStep => {
    const { requestedAt: _, ...request } = event.data as Extract<
      PaymentStreamEvent,
      { type: "PaymentRequested" }
    >["data"];
    return { kind: "authorize", eventId: "ev-reserved", request };
  };

  it("a stream holding only the request: authorize, keyed by the lot's fact that asked (the plan's key)", () => {
    const asked = request({ method: "pm_card_visa" });
    given(["ev-req", asked]).at(NOW).then(authorize(asked));
    // A far stay's card saved (or its SetupIntent for the customer) is the same step, with its authorizeAt.
    const far = request({ authorizeAt: iso(24) });
    given(["ev-req", far]).at(NOW).then(authorize(far));
    // Tried this run (its outcome refused): not again in the same run.
    given(["ev-req", asked])
      .at(NOW, new Set(["ev-reserved:authorize"]))
      .then("none");
  });

  it("its intent recorded: a card confirmed server-side is confirmed again (a crash between), one its customer confirms is theirs", () => {
    const asked = request({ method: "pm_card_visa" });
    given(["ev-req", asked], ["ev-pi", intent]).at(NOW).then(authorize(asked));
    given(["ev-req", request()], ["ev-pi", intent]).at(NOW).then("none");
    given(["ev-req", asked], ["ev-pi", intent], ["ev-auth", authorized]).at(NOW).then("none");
  });

  it("nothing once the spot's hold is over, its customer erased, or its end decided a void", () => {
    given(["ev-req", request({ method: "pm_card_visa" })])
      .at(iso(1))
      .then("none");
    given(["ev-req", request({ customerId: "erased", method: "erased" })])
      .at(NOW)
      .then("none");
    const voided: PaymentStreamEvent = {
      type: "PaymentVoidDecided",
      data: { ...ids, intentId: "pi_1", endedBy: "ev-cancel", decidedAt: NOW },
    };
    given(["ev-req", request({ method: "pm_card_visa" })], ["ev-pi", intent], ["ev-void", voided])
      .at(NOW)
      .then({ kind: "void", eventId: "ev-cancel", intentId: "pi_1" });
  });
});

describe("a booking's request, decided on its payment's stream (issue 68 item 4)", () => {
  const request = {
    ...ids,
    requestedBy: "ev-reserved",
    amount: 5000,
    currency: "KRW",
    customerId: "C1",
  };
  const decide = (stream: PaymentState) =>
    decidePayment({ type: "RequestPayment", reservationId: ids.reservationId, request, now: NOW }, stream);

  it("is the first fact of a stream, once; a stream begun otherwise (an older payment, one carried over) records none", () => {
    const first = decide(noPayment);
    expect(first).toEqual({
      ok: true,
      events: [{ type: "PaymentRequested", data: { ...request, requestedAt: NOW } }],
    });
    const events = first.ok ? first.events : [];
    expect(decide(events.reduce(evolvePaymentAggregate, noPayment))).toEqual({ ok: true, events: [] });
    const intent: PaymentStreamEvent = {
      type: "PaymentIntentCreated",
      data: { ...ids, intentId: "pi_1", amount: 5000, currency: "KRW", createdAt: NOW, customerId: "C1" },
    };
    expect(decide(evolvePaymentAggregate(noPayment, intent))).toEqual({ ok: true, events: [] });
  });
});
