import { describe, expect, it } from "vitest";
import type { CheckOut } from "../../schemas/commands.js";
import {
  given,
  LOT,
  lotRegistered,
  NOW,
  parkingReserved,
  registerLot,
} from "../../test-support/given-when-then.js";
import { fold, throughSummary } from "../../test-support/lot-state.js";
import { decide, type ParkingLotEvent } from "./decider.js";
import { stayEarnsCoupon } from "./reservation-steps.js";
import { summaryOf } from "./summary.js";

/** Issue 34: a coupon is earned by a stay (its minutes, or what it paid), never by a booking alone. */

const minutesAfter = (minutes: number) => new Date(Date.parse(NOW) + minutes * 60_000).toISOString();
const checkedIn: ParkingLotEvent = {
  type: "ReservationCheckedIn",
  data: { reservationId: "res-1", parkingLotId: LOT, customerId: "CUST1", checkedInAt: NOW },
};
const checkOut = (minutes: number): CheckOut => ({
  type: "CheckOut",
  reservationId: "res-1",
  parkingLotId: LOT,
  now: minutesAfter(minutes),
});
const earned = (history: ParkingLotEvent[], minutes: number): boolean | undefined => {
  const decision = decide(checkOut(minutes), fold(history));
  if (!decision.ok || decision.events[0]?.type !== "ReservationCheckedOut")
    throw new Error(`expected a check-out, got ${JSON.stringify(decision)}`);
  return decision.events[0].data.couponEarned;
};

describe("a stay earns the lot's coupon", () => {
  it("by default after 15 minutes in the lot, not before (a reserve → check-in → check-out at once earns nothing)", () => {
    const history = [lotRegistered(), parkingReserved({ amount: 1 }), checkedIn];
    expect(earned(history, 0)).toBe(false);
    expect(earned(history, 14.99)).toBe(false);
    expect(earned(history, 15)).toBe(true);
    expect(earned(history, 300)).toBe(true);
  });

  it("after the lot's own minimum of minutes", () => {
    const lot = lotRegistered({ couponRule: { minStayMinutes: 60 } });
    expect(earned([lot, parkingReserved(), checkedIn], 59)).toBe(false);
    expect(earned([lot, parkingReserved(), checkedIn], 60)).toBe(true);
    const always = lotRegistered({ couponRule: { minStayMinutes: 0 } });
    expect(earned([always, parkingReserved(), checkedIn], 0)).toBe(true);
  });

  it("or when it paid at least the lot's minimum amount, however short", () => {
    // A lot with a rate priced the window: what it priced is paid (to the card processor, or on site).
    const rule = { minStayMinutes: 60, minPaidAmount: 5000 };
    const priced = lotRegistered({ hourlyRate: 2500, couponRule: rule });
    const window = { startsAt: NOW, endsAt: minutesAfter(120) };
    expect(earned([priced, parkingReserved({ amount: 4999, ...window }), checkedIn], 1)).toBe(false);
    expect(earned([priced, parkingReserved({ amount: 5000, ...window }), checkedIn], 1)).toBe(true);
    // A lot without a rate: the amount the client declared is paid only once the provider authorized it.
    const unpriced = lotRegistered({ couponRule: rule });
    const payment = { amount: 5000, currency: "KRW", holdUntil: minutesAfter(15) };
    const confirmed: ParkingLotEvent = {
      type: "ReservationConfirmed",
      data: {
        reservationId: "res-1",
        parkingLotId: LOT,
        customerId: "CUST1",
        intentId: "pi_1",
        confirmedAt: NOW,
      },
    };
    const booked = parkingReserved({ amount: 5000, payment });
    expect(earned([unpriced, booked, confirmed, checkedIn], 1)).toBe(true);
  });

  it("never counts an amount the client declared and nobody collected (issue 66)", () => {
    // Payments off, no rate: the booking's amount is the client's word, so a stay of a minute keeps
    // nothing, however much it declares, cycle after cycle.
    const lot = lotRegistered({ couponRule: { minStayMinutes: 60, minPaidAmount: 5000 } });
    expect(earned([lot, parkingReserved({ amount: 5000 }), checkedIn], 1)).toBe(false);
    expect(earned([lot, parkingReserved({ amount: 100_000 }), checkedIn], 1)).toBe(false);
    expect(earned([lot, parkingReserved({ amount: 100_000 }), checkedIn], 60)).toBe(true);
  });

  it("counts what the stay paid: the booking, an open-ended stay's price and an overstay charge together", () => {
    const rule = { minStayMinutes: 1440, minPaidAmount: 3000 };
    expect(stayEarnsCoupon(rule, 0, 2999)).toBe(false);
    expect(stayEarnsCoupon(rule, 0, 3000)).toBe(true);
    // An open-ended stay on a lot of 6000 an hour, priced at check-out: 30 minutes cost 3000.
    const priced = lotRegistered({ hourlyRate: 6000, couponRule: rule });
    const openEnded = parkingReserved({ amount: 0, hourlyRate: 6000 });
    expect(earned([priced, openEnded, checkedIn], 29)).toBe(false);
    expect(earned([priced, openEnded, checkedIn], 30)).toBe(true);
  });

  it("a check-out repeated changes nothing (no second coupon decision)", () => {
    const history = [lotRegistered(), parkingReserved(), checkedIn];
    const first = decide(checkOut(20), fold(history));
    if (!first.ok) throw new Error("refused");
    given([...history, ...first.events])
      .when(checkOut(21))
      .then([]);
  });

  it("the lot's rule is registered, kept by snapshots, and part of what makes a registration a retry", () => {
    const rule = { minStayMinutes: 30, minPaidAmount: 100 };
    const { state } = given([])
      .when(registerLot({ couponRule: rule }))
      .then([lotRegistered({ couponRule: rule })]);
    expect(throughSummary(state)).toMatchObject({ couponRule: rule });
    given([lotRegistered({ couponRule: rule })])
      .when(registerLot({ couponRule: rule }))
      .then([]);
    given([lotRegistered({ couponRule: rule })])
      .when(registerLot())
      .then("LotAlreadyRegistered");
    // A lot registered before issue 34 has no rule: the default applies, and its summary holds none.
    const old = fold([lotRegistered()]);
    expect(old.kind === "registered" && summaryOf(old).terms).not.toHaveProperty("couponRule");
  });
});
