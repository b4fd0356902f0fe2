import { describe, expect, it } from "vitest";
import type { ParkingLotCommand } from "../../schemas/commands.js";
import type { PaymentTerms } from "../../schemas/common.js";
import {
  given,
  LOT,
  lotRegistered,
  NOW,
  parkingReserved,
  reserveParking,
} from "../../test-support/given-when-then.js";
import { withinMinimum } from "../payment/payment-policy.js";
import {
  type DecideContext,
  decide,
  fold,
  type ParkingLotEvent,
  paymentOf,
  reservationStatus,
} from "./decider.js";

/** Payments (issue 38): PENDING_PAYMENT, the provider's answers, the hold, settlements, outcomes, refunds. */

const ON: DecideContext = { payments: { on: true, holdSeconds: 900 } };
const at = (minutes: number) => new Date(Date.parse(NOW) + minutes * 60_000).toISOString();
const START = at(120);
const END = at(180);
const TERMS: PaymentTerms = {
  currency: "KRW",
  deposit: 2000,
  cancellation: { freeUntilMinutesBefore: 60, feePercent: 50 },
  noShowFee: 1000,
};
const ids = { reservationId: "res-1", parkingLotId: LOT };
const HOLD = { amount: 6000, currency: "KRW", holdUntil: at(15) };

const registered = lotRegistered({ hourlyRate: 6000 });
const terms: ParkingLotEvent = {
  type: "ParkingLotPaymentTermsChanged",
  data: { parkingLotId: LOT, terms: TERMS, changedAt: NOW },
};
const pending = parkingReserved({ amount: 6000, startsAt: START, endsAt: END, payment: HOLD });
const authorized: ParkingLotEvent = {
  type: "PaymentAuthorized",
  data: { ...ids, intentId: "pi_1", amount: 6000, currency: "KRW", authorizedAt: at(1) },
};
const checkedIn: ParkingLotEvent = {
  type: "ReservationCheckedIn",
  data: { ...ids, customerId: "CUST1", checkedInAt: START },
};
const PAID = [registered, terms, pending, authorized];
/** What an authorization appends today: it names the booking it made RESERVED (reservation.reserved). */
const authorizedNamingBooking: ParkingLotEvent = {
  type: "PaymentAuthorized",
  data: { ...authorized.data, customerId: "CUST1", booking: { amount: 6000, startsAt: START, endsAt: END } },
} as ParkingLotEvent;

/** Issue 48: the lot's own outcome of the authorization, appended with it. */
const confirmedBooking: ParkingLotEvent = {
  type: "ReservationConfirmed",
  data: { ...ids, customerId: "CUST1", intentId: "pi_1", confirmedAt: at(1) },
};

const settlement = (
  over: Partial<Extract<ParkingLotEvent, { type: "PaymentSettlementDecided" }>["data"]>,
): ParkingLotEvent => ({
  type: "PaymentSettlementDecided",
  data: {
    ...ids,
    intentId: "pi_1",
    currency: "KRW",
    capture: 0,
    release: 0,
    offSession: 0,
    refund: 0,
    because: "check-out",
    decidedAt: NOW,
    ...over,
  },
});
const captured: ParkingLotEvent = {
  type: "PaymentCaptured",
  data: {
    ...ids,
    intentId: "pi_1",
    amount: 6000,
    currency: "KRW",
    settlementId: "ev-9",
    capturedAt: at(200),
  },
};
const canceled = (reason: string, canceledAt: string): ParkingLotEvent => ({
  type: "ReservationCanceled",
  data: { ...ids, customerId: "CUST1", reason, canceledAt, startsAt: START, endsAt: END },
});

describe("a booking on a lot that takes payment", () => {
  it("starts PENDING_PAYMENT with what to authorize, its hold and the saved method", () => {
    given([registered, terms], ON)
      .when(
        reserveParking({ amount: undefined, startsAt: START, endsAt: END, paymentMethod: "pm_card_visa" }),
      )
      .then([
        parkingReserved({
          amount: 6000,
          startsAt: START,
          endsAt: END,
          payment: { ...HOLD, method: "pm_card_visa" },
        }),
      ]);
  });

  it("authorizes an open-ended booking's deposit", () => {
    given([registered, terms], ON)
      .when(reserveParking({ amount: undefined }))
      .then([
        parkingReserved({
          amount: 0,
          hourlyRate: 6000,
          payment: { amount: 2000, currency: "KRW", holdUntil: at(15) },
        }),
      ]);
  });

  it("books as before when there is nothing to authorize, or payments are off (PAYMENTS=none)", () => {
    given([registered], ON)
      .when(reserveParking({ amount: undefined }))
      .then([parkingReserved({ amount: 0, hourlyRate: 6000 })]);
    given([registered, terms])
      .when(
        reserveParking({ amount: undefined, startsAt: START, endsAt: END, paymentMethod: "pm_card_visa" }),
      )
      .then([parkingReserved({ amount: 6000, startsAt: START, endsAt: END })]);
  });

  it("holds its spot exactly as a RESERVED one does, and reads PENDING_PAYMENT", () => {
    const state = fold([{ ...registered, data: { ...registered.data, capacity: 1 } }, terms, pending]);
    expect(reservationStatus(state, "res-1", Date.parse(NOW))).toBe("PENDING_PAYMENT");
    given([{ ...registered, data: { ...registered.data, capacity: 1 } }, terms, pending], ON)
      .when(reserveParking({ reservationId: "res-2", amount: undefined, startsAt: START, endsAt: END }))
      .then("LotFull");
  });

  it("cannot be checked in while it waits for its payment", () => {
    given([registered, terms, pending], ON)
      .when({ type: "CheckIn", ...ids, now: START })
      .then({ code: "PaymentPending", ...ids, holdUntil: at(15) });
  });
});

describe("the provider's answer", () => {
  const authorize: ParkingLotCommand = {
    type: "AuthorizePayment",
    ...ids,
    intentId: "pi_1",
    amount: 6000,
    currency: "KRW",
    now: at(1),
  };

  it("authorizes a pending booking: RESERVED, the fact naming the booking it made RESERVED", () => {
    const { state } = given([registered, terms, pending])
      .when(authorize)
      .then([authorizedNamingBooking, confirmedBooking]);
    expect(reservationStatus(state, "res-1", Date.parse(at(1)))).toBe("RESERVED");
    expect(paymentOf(state, "res-1")).toMatchObject({
      state: "authorized",
      authorized: 6000,
      intentId: "pi_1",
    });
  });

  it("issue 48: the lot's outcome fact alone makes the booking RESERVED; an old authorization on the lot's stream still does", () => {
    const confirmed = fold([registered, terms, pending, confirmedBooking]);
    expect(reservationStatus(confirmed, "res-1", Date.parse(at(1)))).toBe("RESERVED");
    given([registered, terms, pending, confirmedBooking])
      .when({ type: "CheckIn", ...ids, now: START } as ParkingLotCommand)
      .then([checkedIn]);
    const old = fold(PAID);
    expect(reservationStatus(old, "res-1", Date.parse(at(1)))).toBe("RESERVED");
  });

  it("is recorded once: the same intent again appends nothing, another is not pending", () => {
    given(PAID).when(authorize).then([]);
    given(PAID)
      .when({ ...authorize, intentId: "pi_2" })
      .then("PaymentNotPending");
    given([registered, terms, pending, canceled("plans changed", at(2))])
      .when(authorize)
      .then("PaymentNotPending");
    given([registered]).when(authorize).then("ReservationNotFound");
  });

  it("a decline cancels the booking payment-failed and frees its spot (the compensation)", () => {
    const { state } = given([registered, terms, pending])
      .when({ type: "FailPayment", ...ids, intentId: "pi_1", code: "card_declined", now: at(1) })
      .then([
        {
          type: "PaymentFailed",
          data: { ...ids, intentId: "pi_1", reason: "declined", code: "card_declined", failedAt: at(1) },
        },
        canceled("payment-failed", at(1)),
      ]);
    expect(reservationStatus(state, "res-1", Date.parse(at(1)))).toBe("CANCELED");
    expect(paymentOf(state, "res-1")?.state).toBe("failed");
    given(PAID)
      .when({ type: "FailPayment", ...ids, now: at(2) })
      .then([]);
  });
});

describe("the payment hold", () => {
  const expire = (now: string): ParkingLotCommand => ({ type: "ExpirePaymentHold", ...ids, now });

  it("is not due before holdUntil", () => {
    given([registered, terms, pending])
      .when(expire(at(14)))
      .then({ code: "NotDue", parkingLotId: LOT, at: at(15) });
  });

  it("running out unpaid cancels the booking payment-expired", () => {
    given([registered, terms, pending])
      .when(expire(at(15)))
      .then([
        { type: "PaymentFailed", data: { ...ids, reason: "expired", failedAt: at(15) } },
        canceled("payment-expired", at(15)),
      ]);
  });

  it("changes nothing for a paid, failed or canceled booking", () => {
    given(PAID)
      .when(expire(at(20)))
      .then([]);
    given([registered, terms, pending, canceled("plans changed", at(2))])
      .when(expire(at(20)))
      .then([]);
  });
});

describe("settling a paid booking, in the same append as what ends it", () => {
  it("a check-out captures the price and charges an overstay off-session", () => {
    given([...PAID, checkedIn])
      .when({ type: "CheckOut", ...ids, now: at(190) })
      .then([
        {
          type: "ReservationCheckedOut",
          data: {
            ...ids,
            customerId: "CUST1",
            checkedOutAt: at(190),
            startsAt: START,
            endsAt: END,
            overstayCharge: 1000,
            couponEarned: true,
          },
        },
        settlement({ capture: 6000, offSession: 1000, because: "check-out", decidedAt: at(190) }),
      ]);
  });

  it("a customer's cancel is free until the policy's minutes before the start, then costs its fee", () => {
    const cancel = (now: string): ParkingLotCommand => ({
      type: "CancelReservation",
      ...ids,
      reason: "plans changed",
      requestedBy: "CUST1",
      now,
    });
    given(PAID)
      .when(cancel(at(60)))
      .then([
        canceled("plans changed", at(60)),
        settlement({ release: 6000, because: "customer-cancel", decidedAt: at(60) }),
      ]);
    given(PAID)
      .when(cancel(at(90)))
      .then([
        canceled("plans changed", at(90)),
        settlement({ capture: 3000, release: 3000, because: "customer-cancel", decidedAt: at(90) }),
      ]);
  });

  it("an operator's cancel and a closure release everything", () => {
    given(PAID)
      .when({ type: "CancelReservation", ...ids, reason: "gate broken", now: at(90) })
      .then([
        canceled("gate broken", at(90)),
        settlement({ release: 6000, because: "operator-cancel", decidedAt: at(90) }),
      ]);
    const decision = decide(
      {
        type: "CloseParkingLot",
        closureId: "c1",
        parkingLotId: LOT,
        from: at(100),
        until: at(300),
        reason: "works",
        now: at(90),
      },
      fold(PAID),
    );
    expect(decision.ok && decision.events.map((e) => e.type)).toEqual([
      "ParkingLotClosed",
      "ReservationCanceled",
      "PaymentSettlementDecided",
    ]);
    expect(decision.ok && decision.events[2]?.data).toMatchObject({
      because: "closure",
      release: 6000,
      capture: 0,
    });
  });

  it("a no-show captures the lot's no-show fee", () => {
    given(PAID)
      .when({ type: "RecordNoShow", ...ids, now: at(181) })
      .then([
        {
          type: "ReservationNoShow",
          data: { ...ids, customerId: "CUST1", startsAt: START, endsAt: END, recordedAt: at(181) },
        },
        settlement({ capture: 1000, release: 5000, because: "no-show", decidedAt: at(181) }),
      ]);
  });

  it("a pending booking canceled has nothing to settle (the saga releases a late authorization)", () => {
    given([registered, terms, pending])
      .when({ type: "CancelReservation", ...ids, reason: "plans changed", now: at(2) })
      .then([canceled("plans changed", at(2))]);
  });
});

describe("recording what the provider did with each step", () => {
  const outcome = (
    step: "capture" | "release" | "refund" | "overstay",
    result: Extract<ParkingLotCommand, { type: "RecordPaymentOutcome" }>["outcome"],
  ): ParkingLotCommand => ({
    type: "RecordPaymentOutcome",
    ...ids,
    settlementId: "ev-9",
    step,
    outcome: result,
    now: at(200),
  });

  it("records a capture once per (settlement, step)", () => {
    const { state } = given(PAID)
      .when(outcome("capture", { ok: true, intentId: "pi_1", amount: 6000 }))
      .then([captured]);
    expect(paymentOf(state, "res-1")).toMatchObject({ state: "captured", captured: 6000 });
    given([...PAID, captured])
      .when(outcome("capture", { ok: true, intentId: "pi_1", amount: 6000 }))
      .then([]);
  });

  it("records an off-session charge and a failed step, shown on the payment, never lost", () => {
    given(PAID)
      .when(outcome("overstay", { ok: true, intentId: "pi_2", amount: 1000 }))
      .then([
        {
          type: "OverstayCharged",
          data: {
            ...ids,
            intentId: "pi_2",
            amount: 1000,
            currency: "KRW",
            settlementId: "ev-9",
            chargedAt: at(200),
          },
        },
      ]);
    const failed: ParkingLotEvent = {
      type: "PaymentStepFailed",
      data: {
        ...ids,
        settlementId: "ev-9",
        step: "overstay",
        code: "card_declined",
        message: "Declined.",
        failedAt: at(200),
      },
    };
    const { state } = given(PAID)
      .when(outcome("overstay", { ok: false, code: "card_declined", message: "Declined." }))
      .then([failed]);
    expect(paymentOf(state, "res-1")?.failures).toEqual([
      { step: "overstay", code: "card_declined", message: "Declined.", at: at(200) },
    ]);
  });

  it("never records a refund beyond what was captured, nor an outcome for an unpaid booking", () => {
    given([...PAID, captured])
      .when(outcome("refund", { ok: true, intentId: "pi_1", amount: 7000, refundId: "re_1" }))
      .then({ code: "RefundExceedsCaptured", ...ids, refundable: 6000, asked: 7000 });
    given([registered, terms, pending])
      .when(outcome("capture", { ok: true, intentId: "pi_1", amount: 1 }))
      .then("NotPaid");
  });
});

describe("an operator's refund", () => {
  const refund = (amount: number): ParkingLotCommand => ({
    type: "RefundPayment",
    ...ids,
    amount,
    reason: "gate broken",
    now: at(210),
  });

  it("decides a refund of what was captured", () => {
    given([...PAID, captured])
      .when(refund(2000))
      .then([settlement({ refund: 2000, because: "refund", reason: "gate broken", decidedAt: at(210) })]);
  });

  it("never exceeds captured less refunded and refunds under way", () => {
    const decided = settlement({ refund: 4000, because: "refund", reason: "x", decidedAt: at(205) });
    given([...PAID, captured, decided])
      .when(refund(3000))
      .then({ code: "RefundExceedsCaptured", ...ids, refundable: 2000, asked: 3000 });
    const failed: ParkingLotEvent = {
      type: "PaymentStepFailed",
      data: {
        ...ids,
        settlementId: "ev-10",
        step: "refund",
        code: "api_error",
        message: "Down.",
        failedAt: at(206),
      },
    };
    // The refund under way failed: its amount may be refunded again.
    given([...PAID, captured, decided, failed])
      .when(refund(6000))
      .then([settlement({ refund: 6000, because: "refund", reason: "gate broken", decidedAt: at(210) })]);
  });

  it("is refused for a booking with nothing captured", () => {
    given(PAID).when(refund(100)).then("NotPaid");
    given([registered, parkingReserved()]).when(refund(100)).then("NotPaid");
  });
});

describe("a refunded payment's state (issue 47)", () => {
  const refunded = (amount: number, settlementId: string): ParkingLotEvent => ({
    type: "PaymentRefunded",
    data: {
      ...ids,
      intentId: "pi_1",
      refundId: `re_${settlementId}`,
      amount,
      currency: "KRW",
      settlementId,
      refundedAt: at(220),
    },
  });
  const stateAfter = (events: ParkingLotEvent[]) => paymentOf(fold(events), ids.reservationId)?.state;

  it("reads partially_refunded while part of what was captured is refunded, refunded once all of it is", () => {
    expect(stateAfter([...PAID, captured])).toBe("captured");
    expect(stateAfter([...PAID, captured, refunded(400, "ev-11")])).toBe("partially_refunded");
    expect(paymentOf(fold([...PAID, captured, refunded(400, "ev-11")]), ids.reservationId)).toMatchObject({
      captured: 6000,
      refunded: 400,
    });
    expect(stateAfter([...PAID, captured, refunded(400, "ev-11"), refunded(5600, "ev-12")])).toBe("refunded");
    expect(stateAfter([...PAID, captured, refunded(6000, "ev-11")])).toBe("refunded");
  });
});

describe("the provider's words checked against the booking (issue 47)", () => {
  const created: ParkingLotEvent = {
    type: "PaymentIntentCreated",
    data: { ...ids, intentId: "pi_1", amount: 6000, currency: "KRW", createdAt: at(0) },
  };
  const RECORDED = [registered, terms, pending, created];
  const authorize: ParkingLotCommand = {
    type: "AuthorizePayment",
    ...ids,
    intentId: "pi_1",
    amount: 6000,
    currency: "KRW",
    now: at(1),
  };
  const mismatch = (reason: "intent" | "amount" | "currency") => ({
    code: "PaymentMismatch" as const,
    ...ids,
    reason,
  });

  it("records the intent created for a pending booking once, and none for a booking no longer pending", () => {
    const record: ParkingLotCommand = {
      type: "RecordPaymentIntent",
      ...ids,
      intentId: "pi_1",
      amount: 6000,
      currency: "KRW",
      now: at(0),
    };
    given([registered, terms, pending]).when(record).then([created]);
    given(RECORDED).when(record).then([]);
    given(RECORDED)
      .when({ ...record, intentId: "pi_2" })
      .then(mismatch("intent"));
    given([registered, terms, pending, canceled("plans changed", at(0))])
      .when(record)
      .then("PaymentNotPending");
  });

  it("authorizes only the recorded intent, for at least the booking's amount, in the lot's currency", () => {
    given(RECORDED).when(authorize).then([authorizedNamingBooking, confirmedBooking]);
    given(RECORDED)
      .when({ ...authorize, intentId: "pi_other" })
      .then(mismatch("intent"));
    given(RECORDED)
      .when({ ...authorize, amount: 100 })
      .then(mismatch("amount"));
    given(RECORDED)
      .when({ ...authorize, currency: "USD" })
      .then(mismatch("currency"));
  });

  it("a decline of another intent does not cancel the booking", () => {
    given(RECORDED)
      .when({ type: "FailPayment", ...ids, intentId: "pi_other", code: "card_declined", now: at(1) })
      .then(mismatch("intent"));
  });

  it("an expired hold names the intent to release; an intent's release is recorded once", () => {
    given(RECORDED)
      .when({ type: "ExpirePaymentHold", ...ids, now: at(15) })
      .then([
        { type: "PaymentFailed", data: { ...ids, intentId: "pi_1", reason: "expired", failedAt: at(15) } },
        canceled("payment-expired", at(15)),
      ]);
    const release: ParkingLotCommand = {
      type: "RecordIntentReleased",
      ...ids,
      intentId: "pi_1",
      amount: 0,
      because: "booking-ended",
      now: at(16),
    };
    const released: ParkingLotEvent = {
      type: "PaymentIntentReleased",
      data: { ...ids, intentId: "pi_1", amount: 0, because: "booking-ended", releasedAt: at(16) },
    };
    const ended = [...RECORDED, canceled("plans changed", at(2))];
    given(ended).when(release).then([released]);
    given([...ended, released])
      .when(release)
      .then([]);
  });

  it("waives a charge below the currency's minimum: an overstay of 31 KRW, a capture of 1 of a deposit", () => {
    // 3,720 KRW an hour: thirty seconds over the window cost 31 KRW.
    const cheap = lotRegistered({ hourlyRate: 3720 });
    const out = new Date(Date.parse(END) + 30_000).toISOString();
    given([cheap, terms, pending, authorized, checkedIn])
      .when({ type: "CheckOut", ...ids, now: out })
      .then([
        {
          type: "ReservationCheckedOut",
          data: {
            ...ids,
            customerId: "CUST1",
            checkedOutAt: out,
            startsAt: START,
            endsAt: END,
            overstayCharge: 31,
            couponEarned: true,
          },
        },
        settlement({ capture: 6000, offSession: 0, waived: 31, decidedAt: out }),
      ]);
    expect(withinMinimum({ capture: 1, release: 9999, offSession: 0 }, 1000)).toEqual({
      capture: 0,
      release: 10_000,
      offSession: 0,
      waived: 1,
    });
    expect(withinMinimum({ capture: 6000, release: 0, offSession: 1000 }, 1000)).toMatchObject({ waived: 0 });
  });
});
