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
import { fold } from "../../test-support/lot-state.js";
import {
  type DecideContext,
  type OldLotPaymentFact,
  type ParkingLotEvent,
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
const authorized: OldLotPaymentFact = {
  type: "PaymentAuthorized",
  data: { ...ids, intentId: "pi_1", amount: 6000, currency: "KRW", authorizedAt: at(1) },
};
const checkedIn: ParkingLotEvent = {
  type: "ReservationCheckedIn",
  data: { ...ids, customerId: "CUST1", checkedInAt: START },
};
/** A lot's stream written before issue 48: the authorization recorded on it. */
const PAID_BEFORE_48 = [registered, terms, pending, authorized];
/** Issue 48: the lot's own outcome of the authorization, appended with it. */
const confirmedBooking: ParkingLotEvent = {
  type: "ReservationConfirmed",
  data: { ...ids, customerId: "CUST1", intentId: "pi_1", confirmedAt: at(1) },
};
const PAID = [registered, terms, pending, confirmedBooking];

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

  // Issue 48: the payment's own fact (PaymentAuthorized) is on its stream, decided there first
  // (write-side/payment/payment-process.int.test.ts); the lot appends only its outcome.
  it("authorizes a pending booking: RESERVED, the lot's outcome fact alone", () => {
    const { state } = given([registered, terms, pending]).when(authorize).then([confirmedBooking]);
    expect(reservationStatus(state, "res-1", Date.parse(at(1)))).toBe("RESERVED");
  });

  it("issue 48: the lot's outcome fact alone makes the booking RESERVED; an old authorization on the lot's stream still does", () => {
    const confirmed = fold([registered, terms, pending, confirmedBooking]);
    expect(reservationStatus(confirmed, "res-1", Date.parse(at(1)))).toBe("RESERVED");
    given([registered, terms, pending, confirmedBooking])
      .when({ type: "CheckIn", ...ids, now: START } as ParkingLotCommand)
      .then([
        // Issue 71: its coupon is spendable once the stay has lasted the lot's minimum (15 minutes).
        { ...checkedIn, data: { ...checkedIn.data, couponSpendableFrom: at(135) } } as ParkingLotEvent,
      ]);
    const old = fold(PAID_BEFORE_48);
    expect(reservationStatus(old, "res-1", Date.parse(at(1)))).toBe("RESERVED");
  });

  it("is recorded once: a paid booking again appends nothing, a booking ended unpaid is not pending", () => {
    given(PAID).when(authorize).then([]);
    // Issue 48: which intent may authorize is the payment stream's to say (payment.unit.test.ts).
    given(PAID)
      .when({ ...authorize, intentId: "pi_2" })
      .then([]);
    given([registered, terms, pending, canceled("plans changed", at(2))])
      .when(authorize)
      .then("PaymentNotPending");
    given([registered]).when(authorize).then("ReservationNotFound");
  });

  it("a decline cancels the booking payment-failed and frees its spot (the compensation)", () => {
    const { state } = given([registered, terms, pending])
      .when({ type: "FailPayment", ...ids, intentId: "pi_1", code: "card_declined", now: at(1) })
      // Issue 48: PaymentFailed is on the payment's stream, decided there first.
      .then([canceled("payment-failed", at(1))]);
    expect(reservationStatus(state, "res-1", Date.parse(at(1)))).toBe("CANCELED");
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
      // Issue 48: PaymentFailed{expired} is on the payment's stream, decided there first.
      .then([canceled("payment-expired", at(15))]);
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

describe("an open-ended booking whose lot closes while its payment is still awaited", () => {
  // Found by the windows property (seed 1375754715): its closure's begin cancels it in every view,
  // so its hold running out afterwards records nothing (BeginClosure records the cancel), as a
  // decline then does; before, the hold's end canceled it "payment-expired" over the closure.
  const openEnded = parkingReserved({ amount: 0, payment: { ...HOLD, amount: 2000 } });
  const closure: ParkingLotEvent = {
    type: "ParkingLotClosed",
    data: {
      closureId: "c1",
      parkingLotId: LOT,
      from: at(10),
      until: at(600),
      reason: "works",
      closedAt: at(1),
    },
  };

  it("records nothing when its hold runs out or its payment fails after the closure began", () => {
    expect(
      reservationStatus(fold([registered, terms, openEnded, closure]), "res-1", Date.parse(at(15))),
    ).toBe("CANCELED");
    given([registered, terms, openEnded, closure], ON)
      .when({ type: "ExpirePaymentHold", ...ids, now: at(15) })
      .then([]);
    given([registered, terms, openEnded, closure], ON)
      .when({ type: "FailPayment", ...ids, code: "card_declined", now: at(15) })
      .then([]);
  });

  it("is canceled payment-expired when its hold runs out before the closure begins", () => {
    const late = { ...closure, data: { ...closure.data, from: at(30) } } as ParkingLotEvent;
    const { decision } = given([registered, terms, openEnded, late], ON).when({
      type: "ExpirePaymentHold",
      ...ids,
      now: at(15),
    });
    expect(
      decision.ok && decision.events.map((e) => e.type === "ReservationCanceled" && e.data.reason),
    ).toEqual(["payment-expired"]);
  });
});

describe("a window that ends while its payment is still awaited", () => {
  // Found by the time-driven facts' property (app/time-driven-facts.property.int.test.ts): a hold
  // as long as the window's time left (PAYMENT_HOLD_SECONDS 900 and a window ending 15 minutes
  // ahead, or any longer hold) let the views show NO_SHOW from the window's end while the lot
  // recorded no no-show for it: its hold's end then canceled it (the status flipped to CANCELED),
  // or a late authorization confirmed it and it stayed a NO_SHOW nobody recorded, coupon kept.
  const windowEnd = at(15);
  const booking = parkingReserved({ amount: 6000, startsAt: NOW, endsAt: windowEnd, payment: HOLD });
  const noShow: ParkingLotEvent = {
    type: "ReservationNoShow",
    data: { ...ids, customerId: "CUST1", startsAt: NOW, endsAt: windowEnd, recordedAt: at(16) },
  };

  it("is a no-show, as every view shows it from its end", () => {
    const state = fold([registered, booking]);
    expect(reservationStatus(state, "res-1", Date.parse(windowEnd))).toBe("NO_SHOW");
    const { state: after } = given([registered, booking], ON)
      .when({ type: "RecordNoShow", ...ids, now: at(16) })
      .then([noShow]);
    expect(reservationStatus(after, "res-1", Date.parse(at(16)))).toBe("NO_SHOW");
  });

  it("records nothing more when its hold runs out at that instant or later, nor when the payment fails", () => {
    given([registered, booking], ON)
      .when({ type: "ExpirePaymentHold", ...ids, now: at(15) })
      .then([]);
    given([registered, booking], ON)
      .when({ type: "ExpirePaymentHold", ...ids, now: at(40) })
      .then([]);
    given([registered, booking], ON)
      .when({ type: "FailPayment", ...ids, code: "card_declined", now: at(20) })
      .then([]);
    given([registered, booking, noShow], ON)
      .when({ type: "ExpirePaymentHold", ...ids, now: at(40) })
      .then([]);
  });

  it("refuses a payment authorized after its no-show was recorded (the caller releases it)", () => {
    given([registered, booking, noShow], ON)
      .when({
        type: "AuthorizePayment",
        ...ids,
        intentId: "pi_1",
        amount: 6000,
        currency: "KRW",
        now: at(20),
      })
      .then("PaymentNotPending");
  });

  it("is canceled when its hold runs out before its window ends", () => {
    const later = parkingReserved({ amount: 6000, startsAt: NOW, endsAt: at(60), payment: HOLD });
    given([registered, later], ON)
      .when({ type: "ExpirePaymentHold", ...ids, now: at(15) })
      .then([
        {
          type: "ReservationCanceled",
          data: {
            ...ids,
            customerId: "CUST1",
            reason: "payment-expired",
            canceledAt: at(15),
            startsAt: NOW,
            endsAt: at(60),
          },
        },
      ]);
  });
});
