import { defineProjection } from "./projection.js";

export const COUPONS = "coupons";

/** Every coupon, findable by customer, newest first. */
export const customerCouponsProjection = defineProjection({
  name: "customer-coupons",
  version: 1,
  collections: { [COUPONS]: [{ name: "by_customer", keys: { customerId: 1, seq: -1 } }] },
  on: {
    CouponIssued: ({ event, position }, collection) => {
      const target = collection(COUPONS);
      return [
        {
          op: "update",
          collection: target,
          id: event.data.couponId,
          upsert: true,
          update: { $set: { ...event.data, status: "ISSUED", seq: position.commit } },
        },
      ];
    },
    CouponRevoked: ({ event }, collection) => {
      const target = collection(COUPONS);
      return [
        {
          op: "update",
          collection: target,
          id: event.data.couponId,
          update: { $set: { status: "REVOKED", revokedAt: event.data.revokedAt } },
        },
      ];
    },
  },
});
