import type { Projection } from "./projection.js";

export const COUPONS = "coupons";

/** Every coupon, findable by customer, newest first. */
export const customerCouponsProjection: Projection = {
  name: "customer-coupons",
  collections: { [COUPONS]: [{ name: "by_customer", keys: { customerId: 1, seq: -1 } }] },
  eventTypes: new Set(["CouponIssued", "CouponRevoked"]),
  apply({ event, position }, collection) {
    const target = collection(COUPONS);
    switch (event.type) {
      case "CouponIssued":
        return [
          {
            op: "update",
            collection: target,
            id: event.data.couponId,
            upsert: true,
            update: { $set: { ...event.data, status: "ISSUED", seq: position.commit } },
          },
        ];
      case "CouponRevoked":
        return [
          {
            op: "update",
            collection: target,
            id: event.data.couponId,
            update: { $set: { status: "REVOKED", revokedAt: event.data.revokedAt } },
          },
        ];
      default:
        return [];
    }
  },
};
