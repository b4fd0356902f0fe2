import { logOrderOf } from "../../event-store/position.js";
import { ERASED } from "../../schemas/personal-data.js";
import { couponIdFor, spendableFromIssue } from "../../write-side/coupon/coupon.js";
import { defineProjection, updateOne, upsertOne } from "./projection.js";

export const COUPONS = "coupons";

/** Every coupon, findable by customer, newest first. */
export const customerCouponsProjection = defineProjection({
  name: "customer-coupons",
  version: 3,
  collections: {
    [COUPONS]: [
      { name: "by_customer", keys: { customerId: 1, seq: -1 } },
      // Staff scoped to lots read a customer's coupons of each of their lots.
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
    CouponEarned: ({ event }, collection) =>
      updateOne(collection, COUPONS, event.data.couponId, {
        $set: { spendableFrom: event.data.spendableFrom },
      }),
    CouponRevoked: ({ event }, collection) =>
      updateOne(collection, COUPONS, event.data.couponId, {
        $set: { status: "REVOKED", revokedAt: event.data.revokedAt },
      }),
    CouponRedeemed: ({ event }, collection) =>
      updateOne(collection, COUPONS, event.data.couponId, {
        $set: { status: "REDEEMED", redeemedFor: event.data.redeemedFor, redeemedAt: event.data.redeemedAt },
      }),
    CouponReturned: ({ event }, collection) =>
      updateOne(collection, COUPONS, event.data.couponId, {
        $set: { status: "ISSUED" },
        $unset: { redeemedFor: "", redeemedAt: "" },
      }),
    // A coupon's id is its reservation's, so the erasure's list finds them.
    CustomerErased: ({ event }, collection) =>
      event.data.reservationIds.flatMap((reservationId) =>
        updateOne(collection, COUPONS, couponIdFor(reservationId), { $set: { customerId: ERASED } }),
      ),
  },
});
