import { describe, expect, it } from "vitest";
import type { ParkingLotCommand } from "../../schemas/commands.js";
import type { PaymentTerms } from "../../schemas/common.js";
import { given, LOT, lotRegistered, NOW, parkingReserved } from "../../test-support/given-when-then.js";
import { toSnapshot } from "../../test-support/lot-snapshot.js";
import { REFUND_WINDOW_DAYS } from "../payment/payment-policy.js";
import { fold, type ParkingLotEvent } from "./decider.js";
import { decodeSnapshot, encodeSnapshot } from "./snapshot.js";

/** Payment records end (issue 38): kept while a refund may be asked and nothing is outstanding, then dropped. */

const MINUTE = 60_000;
const DAY = 1440 * MINUTE;
const at = (minutes: number) => new Date(Date.parse(NOW) + minutes * MINUTE).toISOString();
const START = at(120);
const END = at(180);
const ENDED = at(190);
/** `days` (and `minutes`) after the booking's money ended. */
const sinceEnd = (days: number, minutes = 0) =>
  new Date(Date.parse(ENDED) + days * DAY + minutes * MINUTE).toISOString();
const TERMS: PaymentTerms = {
  currency: "KRW",
  deposit: 2000,
  cancellation: { freeUntilMinutesBefore: 60, feePercent: 50 },
  noShowFee: 1000,
};
const ids = { reservationId: "res-1", parkingLotId: LOT };

const registered = lotRegistered({ hourlyRate: 6000, capacity: 5 });
const terms: ParkingLotEvent = {
  type: "ParkingLotPaymentTermsChanged",
  data: { parkingLotId: LOT, terms: TERMS, changedAt: NOW },
};
const pending = parkingReserved({
  amount: 6000,
  startsAt: START,
  endsAt: END,
  payment: { amount: 6000, currency: "KRW", holdUntil: at(15) },
});
const authorized: ParkingLotEvent = {
  type: "PaymentAuthorized",
  data: { ...ids, intentId: "pi_1", amount: 6000, currency: "KRW", authorizedAt: at(1) },
};
const checkedIn: ParkingLotEvent = {
  type: "ReservationCheckedIn",
  data: { ...ids, customerId: "CUST1", checkedInAt: START },
};
const checkedOut: ParkingLotEvent = {
  type: "ReservationCheckedOut",
  data: { ...ids, customerId: "CUST1", checkedOutAt: ENDED, startsAt: START, endsAt: END },
};
const settled: ParkingLotEvent = {
  type: "PaymentSettlementDecided",
  data: {
    ...ids,
    intentId: "pi_1",
    currency: "KRW",
    capture: 6000,
    release: 0,
    offSession: 0,
    refund: 0,
    because: "check-out",
    decidedAt: ENDED,
  },
};
const captured = (capturedAt: string, amount = 6000): ParkingLotEvent => ({
  type: "PaymentCaptured",
  data: { ...ids, intentId: "pi_1", amount, currency: "KRW", settlementId: "ev-9", capturedAt },
});
/** Another booking, made `days` after the first one's money ended: a fact at that time. */
const later = (days: number): ParkingLotEvent =>
  parkingReserved({ reservationId: "res-2", customerId: "CUST2", amount: 0, reservedAt: sinceEnd(days) });

/** A paid stay, checked out, its capture recorded: nothing outstanding. */
const STAY = [registered, terms, pending, authorized, checkedIn, checkedOut, settled, captured(at(191))];

const refund = (now: string): ParkingLotCommand => ({
  type: "RefundPayment",
  ...ids,
  amount: 1000,
  reason: "gate broken",
  now,
});
const refundDecided = (now: string): ParkingLotEvent => ({
  type: "PaymentSettlementDecided",
  data: {
    ...settled.data,
    capture: 0,
    refund: 1000,
    because: "refund",
    reason: "gate broken",
    decidedAt: now,
  },
});
const payments = (events: readonly ParkingLotEvent[]) => {
  const state = fold(events);
  return state.kind === "registered" ? [...state.payments.keys()] : [];
};

describe("a paid booking's refund window", () => {
  it(`is open until ${REFUND_WINDOW_DAYS} days after the booking's settlement was decided`, () => {
    given(STAY)
      .when(refund(sinceEnd(REFUND_WINDOW_DAYS, -1)))
      .then([refundDecided(sinceEnd(REFUND_WINDOW_DAYS, -1))]);
  });

  it("is then closed: a refund is refused refund-window-passed, naming when it closed", () => {
    given(STAY)
      .when(refund(sinceEnd(REFUND_WINDOW_DAYS)))
      .then({ code: "RefundWindowPassed", ...ids, refundableUntil: sinceEnd(REFUND_WINDOW_DAYS) });
  });

  it("opens only when the booking ends: a live paid booking's money may still move", () => {
    // Checked in, not out: no settlement yet, so nothing captured to refund (not a window matter).
    given([registered, terms, pending, authorized, checkedIn])
      .when(refund(sinceEnd(REFUND_WINDOW_DAYS + 10)))
      .then("NotPaid");
  });
});

describe("a paid booking's payment record", () => {
  it("stays in the lot's state through its refund window", () => {
    expect(payments([...STAY, later(REFUND_WINDOW_DAYS)])).toEqual(["res-1"]);
  });

  it("goes with the first fact a day past the window; a refund is still refused for the window, an outcome is recorded already", () => {
    const history = [...STAY, later(REFUND_WINDOW_DAYS + 1)];
    expect(payments(history)).toEqual([]);
    const state = fold(history);
    expect(state.kind === "registered" && state.reservations.get("res-1")?.paid).toBe(true);
    given(history)
      .when(refund(sinceEnd(REFUND_WINDOW_DAYS + 2)))
      .then({ code: "RefundWindowPassed", ...ids });
    given(history)
      .when({
        type: "RecordPaymentOutcome",
        ...ids,
        settlementId: "ev-9",
        step: "capture",
        outcome: { ok: true, intentId: "pi_1", amount: 6000 },
        now: sinceEnd(REFUND_WINDOW_DAYS + 2),
      })
      .then([]);
  });

  it("stays while a step of its settlement is outstanding, and goes with the fact that records it", () => {
    // A check-out that captures part and releases the rest; the release is not recorded yet.
    const split: ParkingLotEvent = { ...settled, data: { ...settled.data, capture: 4000, release: 2000 } };
    const part = captured(at(191), 4000);
    const history = [...STAY.slice(0, -2), split, part, later(REFUND_WINDOW_DAYS + 1)];
    expect(payments(history)).toEqual(["res-1"]);
    // Its window has passed all the same.
    given(history)
      .when(refund(sinceEnd(REFUND_WINDOW_DAYS + 2)))
      .then({ code: "RefundWindowPassed", ...ids, refundableUntil: sinceEnd(REFUND_WINDOW_DAYS) });
    const released: ParkingLotEvent = {
      type: "PaymentReleased",
      data: {
        ...ids,
        intentId: "pi_1",
        amount: 2000,
        settlementId: "ev-9",
        releasedAt: sinceEnd(REFUND_WINDOW_DAYS + 3),
      },
    };
    expect(payments([...history, released])).toEqual([]);
  });

  it("stays while a refund is outstanding", () => {
    const history = [...STAY, refundDecided(sinceEnd(10)), later(REFUND_WINDOW_DAYS + 1)];
    expect(payments(history)).toEqual(["res-1"]);
    const refunded: ParkingLotEvent = {
      type: "PaymentRefunded",
      data: {
        ...ids,
        intentId: "pi_1",
        refundId: "re_1",
        amount: 1000,
        currency: "KRW",
        settlementId: "ev-10",
        refundedAt: sinceEnd(REFUND_WINDOW_DAYS + 2),
      },
    };
    expect(payments([...history, refunded])).toEqual([]);
  });

  it("of a payment that failed, or a booking canceled before it was paid, ends with it (never paid: NotPaid)", () => {
    const failed: ParkingLotEvent[] = [
      { type: "PaymentFailed", data: { ...ids, reason: "declined", code: "card_declined", failedAt: ENDED } },
      {
        type: "ReservationCanceled",
        data: {
          ...ids,
          customerId: "CUST1",
          reason: "payment-failed",
          canceledAt: ENDED,
          startsAt: START,
          endsAt: END,
        },
      },
    ];
    const history = [registered, terms, pending, ...failed];
    expect(payments([...history, later(REFUND_WINDOW_DAYS)])).toEqual(["res-1"]);
    expect(payments([...history, later(REFUND_WINDOW_DAYS + 1)])).toEqual([]);
    given([...history, later(REFUND_WINDOW_DAYS + 1)])
      .when(refund(sinceEnd(REFUND_WINDOW_DAYS + 2)))
      .then("NotPaid");
    const canceled = [
      registered,
      terms,
      pending,
      { ...failed[1], data: { ...failed[1]?.data, reason: "x" } },
    ];
    expect(payments([...(canceled as ParkingLotEvent[]), later(REFUND_WINDOW_DAYS + 1)])).toEqual([]);
  });

  it("round-trips through a snapshot with its index of ended days and what lingers", () => {
    const lingering = [...STAY.slice(0, -1), later(REFUND_WINDOW_DAYS + 1)];
    const second = parkingReserved({
      reservationId: "res-3",
      customerId: "CUST3",
      amount: 6000,
      startsAt: sinceEnd(REFUND_WINDOW_DAYS + 2),
      endsAt: sinceEnd(REFUND_WINDOW_DAYS + 3),
      reservedAt: sinceEnd(REFUND_WINDOW_DAYS + 1, 1),
      payment: { amount: 6000, currency: "KRW", holdUntil: sinceEnd(REFUND_WINDOW_DAYS + 1, 16) },
    });
    const expired: ParkingLotEvent = {
      type: "PaymentFailed",
      data: {
        ...ids,
        reservationId: "res-3",
        reason: "expired",
        failedAt: sinceEnd(REFUND_WINDOW_DAYS + 1, 16),
      },
    };
    const state = fold([...lingering, second, expired]);
    const snapshot = toSnapshot(state);
    expect(snapshot.state.kind === "registered" && snapshot.state.paymentEnds).toEqual({
      byDay: [[Math.floor(Date.parse(sinceEnd(REFUND_WINDOW_DAYS + 1, 16)) / DAY), ["res-3"]]],
      lingering: ["res-1"],
    });
    const decoded = decodeSnapshot(JSON.parse(JSON.stringify(encodeSnapshot(state))), LOT);
    expect(toSnapshot(decoded)).toEqual(snapshot);
  });
});
