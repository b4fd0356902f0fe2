/** Why the coupon aggregate (coupon.ts, on the coupon's own stream) refused to spend a coupon on a booking. */
export type CouponRejection =
  | {
      /** Issue 47: the booking names a coupon its customer does not hold (unknown, or another's). */
      readonly code: "CouponNotFound";
      readonly parkingLotId: string;
      readonly couponId: string;
    }
  | {
      /**
       * Issue 47: the coupon was revoked, or already spent on another booking; issue 71: its own
       * stay has not earned it yet (PENDING; `spendableFrom` when that is known, ahead).
       */
      readonly code: "CouponNotSpendable";
      readonly parkingLotId: string;
      readonly couponId: string;
      readonly status: "REVOKED" | "REDEEMED" | "PENDING";
      readonly spendableFrom?: string;
    };
