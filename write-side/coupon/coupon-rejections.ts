/** Why the coupon aggregate (coupon.ts, on the coupon's own stream) refused to spend a coupon on a booking. */
export type CouponRejection =
  | {
      /** The booking names a coupon its customer does not hold (unknown, or another's). */
      readonly code: "CouponNotFound";
      readonly parkingLotId: string;
      readonly couponId: string;
    }
  | {
      /** Revoked, spent on another booking, or not earned by its stay yet (PENDING, `spendableFrom` if known). */
      readonly code: "CouponNotSpendable";
      readonly parkingLotId: string;
      readonly couponId: string;
      readonly status: "REVOKED" | "REDEEMED" | "PENDING";
      readonly spendableFrom?: string;
    };
