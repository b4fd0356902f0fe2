import { logOrderOf } from "../../event-store/position.js";
import { ERASED } from "../../schemas/personal-data.js";
import { couponIdFor, spendableFromIssue } from "../../write-side/coupon/coupon.js";
import { defineProjection, updateOne, upsertOne } from "./projection.js";

export const COUPONS = "coupons";

/** Every coupon, findable by customer, newest first. */
export const customerCouponsProjection = defineProjection({
  name: "customer-coupons",
  // 2: `seq` is the event's prepare position (logOrderOf), unique on EventStoreDB where the
  // events of one append share their commit position.
  // 3: `spendableFrom`, from when the coupon's own stay earned it (issue 71; absent: pending).
  version: 3,
  collections: {
    [COUPONS]: [
      { name: "by_customer", keys: { customerId: 1, seq: -1 } },
      // Staff scoped to lots read a customer's coupons of each of their lots (issue 46).
      { name: "by_customer_lot", keys: { customerId: 1, parkingLotId: 1, seq: -1 } },
    ],
  },
  on: {
    CouponIssued: ({ event, position }, collection) => {
      const { untilEarned: _pending, ...data } = event.data;
      const spendableFrom = spendableFromIssue(event.data);
      return upsertOne(collection, COUPONS, event.data.couponId, {
        $set: {
          ...data,
          status: "ISSUED",
          seq: logOrderOf(position),
          ...(spendableFrom ? { spendableFrom } : {}),
        },
      });
    },
    // Issue 71: the decider appends it only when it makes the coupon spendable earlier.
    CouponEarned: ({ event }, collection) =>
      updateOne(collection, COUPONS, event.data.couponId, {
        $set: { spendableFrom: event.data.spendableFrom },
      }),
    CouponRevoked: ({ event }, collection) =>
      updateOne(collection, COUPONS, event.data.couponId, {
        $set: { status: "REVOKED", revokedAt: event.data.revokedAt },
      }),
    // Issue 47: spent on a later booking, and back when that booking is canceled before it starts.
    CouponRedeemed: ({ event }, collection) =>
      updateOne(collection, COUPONS, event.data.couponId, {
        $set: { status: "REDEEMED", redeemedFor: event.data.redeemedFor, redeemedAt: event.data.redeemedAt },
      }),
    CouponReturned: ({ event }, collection) =>
      updateOne(collection, COUPONS, event.data.couponId, {
        $set: { status: "ISSUED" },
        $unset: { redeemedFor: "", redeemedAt: "" },
      }),
    // Issue 36: a coupon's id is its reservation's (coupon-policy.ts), so the erasure's list finds them.
    CustomerErased: ({ event }, collection) =>
      event.data.reservationIds.flatMap((reservationId) =>
        updateOne(collection, COUPONS, couponIdFor(reservationId), { $set: { customerId: ERASED } }),
      ),
  },
});
