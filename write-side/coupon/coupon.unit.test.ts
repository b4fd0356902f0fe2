import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  given,
  LOT,
  lotRegistered,
  NOW,
  parkingReserved,
  reserveParking,
} from "../../test-support/given-when-then.js";
import type { ParkingLotEvent } from "../parking-lot/decider.js";
import { discountOf } from "../parking-lot/terms.js";
import {
  type CouponEvent,
  type CouponState,
  couponIdFor,
  couponSpendability,
  decideEarn,
  decideRedemption,
  decideReturn,
  decideRevoke,
  evolveCoupon,
  noCoupon,
} from "./coupon.js";

const foldCoupon = (events: readonly CouponEvent[]): CouponState => events.reduce(evolveCoupon, noCoupon);

/**
 * Issue 47: a booking's coupon is spent once, by its own customer, on a later booking of a lot
 * with a coupon discount; it comes back when that booking is canceled before it starts.
 */

const OWNER = "res-A";
const COUPON = couponIdFor(OWNER);
const who = { couponId: COUPON, reservationId: OWNER, parkingLotId: LOT, customerId: "CUST1" };
const issued: CouponEvent = { type: "CouponIssued", data: { ...who, issuedAt: NOW } };
const revoked: CouponEvent = { type: "CouponRevoked", data: { ...who, revokedAt: NOW } };
const redeemedFor = (booking: string): CouponEvent => ({
  type: "CouponRedeemed",
  data: { ...who, redeemedFor: booking, redeemedForLot: LOT, redeemedAt: NOW },
});
const returnedFrom = (booking: string): CouponEvent => ({
  type: "CouponReturned",
  data: { ...who, redeemedFor: booking, reason: "booking-canceled", returnedAt: NOW },
});
const spend = (over: Partial<Parameters<typeof decideRedemption>[1]> = {}) => ({
  couponId: COUPON,
  customerId: "CUST1",
  reservationId: "res-B",
  parkingLotId: LOT,
  now: NOW,
  ...over,
});

describe("spending a coupon (its own stream)", () => {
  it("given an issued coupon, when its customer spends it, then it is redeemed for that booking", () => {
    const decision = decideRedemption(foldCoupon([issued]), spend());
    expect(decision).toEqual({ ok: true, event: redeemedFor("res-B") });
    if (decision.ok && decision.event)
      expect(evolveCoupon(foldCoupon([issued]), decision.event)).toMatchObject({ status: "REDEEMED" });
  });

  it("given another customer's coupon or an unknown one, it answers as unknown (nothing revealed)", () => {
    const notFound = {
      ok: false,
      rejection: { code: "CouponNotFound", parkingLotId: LOT, couponId: COUPON },
    };
    expect(decideRedemption(foldCoupon([issued]), spend({ customerId: "CUST2" }))).toEqual(notFound);
    expect(decideRedemption(noCoupon, spend())).toEqual(notFound);
    expect(decideRedemption(foldCoupon([issued]), spend({ couponId: "other" }))).toMatchObject({
      ok: false,
      rejection: { code: "CouponNotFound" },
    });
  });

  it("given a revoked or spent coupon, it is refused naming its status; the same booking again is a retry", () => {
    expect(decideRedemption(foldCoupon([issued, revoked]), spend())).toMatchObject({
      ok: false,
      rejection: { code: "CouponNotSpendable", couponId: COUPON, status: "REVOKED" },
    });
    expect(decideRedemption(foldCoupon([issued, redeemedFor("res-X")]), spend())).toMatchObject({
      ok: false,
      rejection: { code: "CouponNotSpendable", status: "REDEEMED" },
    });
    expect(decideRedemption(foldCoupon([issued, redeemedFor("res-B")]), spend())).toEqual({ ok: true });
  });

  it("given a coupon returned by its canceled booking, it is ISSUED and spendable again", () => {
    const state = foldCoupon([issued, redeemedFor("res-X"), returnedFrom("res-X")]);
    expect(state).toMatchObject({ status: "ISSUED" });
    expect(decideRedemption(state, spend())).toMatchObject({ ok: true, event: { type: "CouponRedeemed" } });
  });

  it("a return names only the booking it was spent on, once; a revoke comes once, spent or not", () => {
    const spent = foldCoupon([issued, redeemedFor("res-B")]);
    expect(decideReturn(spent, "res-X", "booking-canceled", NOW)).toBeUndefined();
    expect(decideReturn(spent, "res-B", "booking-canceled", NOW)).toEqual(returnedFrom("res-B"));
    expect(decideReturn(foldCoupon([issued]), "res-B", "booking-canceled", NOW)).toBeUndefined();
    expect(decideRevoke(spent, NOW)).toEqual(revoked);
    expect(decideRevoke(foldCoupon([issued, revoked]), NOW)).toBeUndefined();
    expect(decideRevoke(noCoupon, NOW)).toBeUndefined();
  });

  it("property: over any history, a coupon is REDEEMED by at most one booking at a time, and never after it is revoked", () => {
    const step = fc.oneof(
      fc.constantFrom("res-B", "res-C", "res-D").map((booking) => ({ kind: "spend" as const, booking })),
      fc.constantFrom("res-B", "res-C", "res-D").map((booking) => ({ kind: "return" as const, booking })),
      fc.constant({ kind: "revoke" as const, booking: "" }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 30 }), (steps) => {
        let state: CouponState = foldCoupon([issued]);
        let spentOn: string | undefined;
        let gone = false;
        for (const s of steps) {
          const event =
            s.kind === "spend"
              ? (() => {
                  const d = decideRedemption(state, spend({ reservationId: s.booking }));
                  return d.ok ? d.event : undefined;
                })()
              : s.kind === "return"
                ? decideReturn(state, s.booking, "booking-canceled", NOW)
                : decideRevoke(state, NOW);
          if (!event) continue;
          if (event.type === "CouponRedeemed") {
            // Spent only while nobody holds it, and never once revoked.
            expect(spentOn).toBeUndefined();
            expect(gone).toBe(false);
            spentOn = event.data.redeemedFor;
          }
          if (event.type === "CouponReturned") {
            expect(event.data.redeemedFor).toBe(spentOn);
            spentOn = undefined;
          }
          if (event.type === "CouponRevoked") {
            expect(gone).toBe(false); // revoked once
            gone = true;
          }
          state = evolveCoupon(state, event);
        }
      }),
    );
  });
});

describe("a coupon spendable once earned (issue 71)", () => {
  const pending: CouponEvent = { type: "CouponIssued", data: { ...who, issuedAt: NOW, untilEarned: true } };
  const later = (minutes: number) => new Date(Date.parse(NOW) + minutes * 60_000).toISOString();
  const earnedBy = (by: "check-in" | "check-out", spendableFrom: string): CouponEvent => ({
    type: "CouponEarned",
    data: { ...who, by, spendableFrom, earnedAt: NOW },
  });

  it("given a coupon issued at booking, it is pending (ISSUED, not spendable) and refused as PENDING", () => {
    const state = foldCoupon([pending]);
    expect(state).toMatchObject({ status: "ISSUED" });
    expect(couponSpendability({ status: "ISSUED" }, Date.parse(NOW))).toEqual({ spendable: false });
    expect(decideRedemption(state, spend())).toEqual({
      ok: false,
      rejection: { code: "CouponNotSpendable", parkingLotId: LOT, couponId: COUPON, status: "PENDING" },
    });
  });

  it("given its stay checked in, it is spendable from the check-in plus the lot's minimum stay, not before", () => {
    const state = foldCoupon([pending, earnedBy("check-in", later(15))]);
    expect(decideRedemption(state, spend({ now: later(14) }))).toEqual({
      ok: false,
      rejection: {
        code: "CouponNotSpendable",
        parkingLotId: LOT,
        couponId: COUPON,
        status: "PENDING",
        spendableFrom: later(15),
      },
    });
    expect(decideRedemption(state, spend({ now: later(15) }))).toMatchObject({
      ok: true,
      event: { type: "CouponRedeemed" },
    });
  });

  it("a check-out that kept it earns it at once; an earning is recorded once, only when it comes sooner", () => {
    const checkedIn = foldCoupon([pending, earnedBy("check-in", later(15))]);
    expect(decideEarn(checkedIn, "check-in", later(15), NOW)).toBeUndefined(); // a retry
    expect(decideEarn(checkedIn, "check-out", later(20), NOW)).toBeUndefined(); // spendable already
    expect(decideEarn(checkedIn, "check-out", later(5), NOW)).toEqual(earnedBy("check-out", later(5)));
    expect(decideEarn(foldCoupon([pending, revoked]), "check-out", later(5), NOW)).toBeUndefined();
    expect(decideEarn(noCoupon, "check-out", later(5), NOW)).toBeUndefined();
    const out = foldCoupon([pending, earnedBy("check-out", later(5))]);
    expect(couponSpendability(out as { status: "ISSUED" }, Date.parse(later(5)))).toEqual({
      spendable: true,
      spendableFrom: later(5),
    });
  });

  it("a coupon issued before issue 71 (no untilEarned) keeps its meaning: spendable at once", () => {
    expect(decideRedemption(foldCoupon([issued]), spend())).toMatchObject({ ok: true });
  });
});

describe("a booking that spends a coupon (the lot's decider)", () => {
  const coupon = { couponId: COUPON, reservationId: OWNER };
  const withDiscount = (discount: { amount: number } | { percent: number }) =>
    lotRegistered({ couponRule: { minStayMinutes: 15, discount } });

  it("given a lot taking 1,000 off, when a 5,000 booking spends a coupon, then it records 4,000 and the coupon", () => {
    given([withDiscount({ amount: 1000 })])
      .when(reserveParking({ coupon }))
      .then([parkingReserved({ amount: 4000, coupon: { ...coupon, discount: 1000 } })]);
  });

  it("given a lot taking 10%, the discount is rounded down; never more than the price", () => {
    given([withDiscount({ percent: 10 })])
      .when(reserveParking({ amount: 5005, coupon }))
      .then([parkingReserved({ amount: 4505, coupon: { ...coupon, discount: 500 } })]);
    given([withDiscount({ amount: 9000 })])
      .when(reserveParking({ amount: 5000, coupon }))
      .then([parkingReserved({ amount: 0, coupon: { ...coupon, discount: 5000 } })]);
  });

  it("given a lot without a discount, or a booking priced at check-out, the coupon is refused (nothing appended)", () => {
    given([lotRegistered()])
      .when(reserveParking({ coupon }))
      .then({ code: "CouponNotAccepted", parkingLotId: LOT, couponId: COUPON, why: "no-discount" });
    // An open-ended booking on a lot with a rate has no price until its check-out.
    given([
      lotRegistered({ hourlyRate: 3000, couponRule: { minStayMinutes: 15, discount: { amount: 1000 } } }),
    ])
      .when(reserveParking({ amount: undefined, coupon }))
      .then({ code: "CouponNotAccepted", parkingLotId: LOT, couponId: COUPON, why: "priced-at-check-out" });
  });

  it("given a lot whose operator set a discount later, bookings from then on take it; the same rule again changes nothing", () => {
    const rule = { minStayMinutes: 15, discount: { amount: 700 } };
    const changed: ParkingLotEvent = {
      type: "ParkingLotCouponRuleChanged",
      data: { parkingLotId: LOT, couponRule: rule, changedAt: NOW },
    };
    given([lotRegistered()])
      .when({ type: "ChangeCouponRule", parkingLotId: LOT, couponRule: rule, now: NOW })
      .then([changed]);
    given([lotRegistered(), changed])
      .when({ type: "ChangeCouponRule", parkingLotId: LOT, couponRule: rule, now: NOW })
      .then([]);
    given([lotRegistered(), changed])
      .when(reserveParking({ coupon }))
      .then([parkingReserved({ amount: 4300, coupon: { ...coupon, discount: 700 } })]);
  });

  it("a booking's other refusals come first as without a coupon (a full lot spends nothing)", () => {
    given([
      withDiscount({ amount: 1000 }),
      parkingReserved({ reservationId: "x" }),
      parkingReserved({ reservationId: "y" }),
    ])
      .when(reserveParking({ coupon }))
      .then("LotFull");
  });

  it("property: the recorded amount is the price less the discount, between 0 and the price", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000_000 }),
        fc.oneof(
          fc.integer({ min: 1, max: 100_000_000 }).map((amount) => ({ amount })),
          fc.integer({ min: 1, max: 100 }).map((percent) => ({ percent })),
        ),
        (price, discount) => {
          const off = discountOf(discount, price);
          expect(off).toBeGreaterThanOrEqual(0);
          expect(off).toBeLessThanOrEqual(price);
          const decision = given([withDiscount(discount)]).when(
            reserveParking({ amount: price, coupon }),
          ).decision;
          expect(
            decision.ok && decision.events[0]?.type === "ParkingReserved" && decision.events[0].data,
          ).toMatchObject({
            amount: price - off,
            coupon: { discount: off },
          });
        },
      ),
    );
  });
});
