import type { Rejection } from "../parking-lot/state.js";

/**
 * Why the payment aggregate (payment.ts, on the payment's own stream since issue 48) refused a
 * command, besides the refusals it shares with the lot (parking-lot/state.ts `Rejection`).
 */
export type PaymentRejection =
  | {
      /**
       * Issue 47: a provider's word that does not fit the booking: another intent than the one it
       * recorded, an authorization short of its amount, or in another currency than the lot's.
       */
      readonly code: "PaymentMismatch";
      readonly parkingLotId: string;
      readonly reservationId: string;
      readonly reason: "intent" | "amount" | "currency";
    }
  | {
      /** Issue 38: a refund beyond what was taken (captured, charged off-session) less what was refunded or is being refunded. */
      readonly code: "RefundExceedsCaptured";
      readonly parkingLotId: string;
      readonly reservationId: string;
      readonly refundable: number;
      readonly asked: number;
    }
  | {
      /**
       * Issue 38: a refund asked after the booking's refund window (REFUND_WINDOW_DAYS after its
       * money came to its end); `refundableUntil` when the lot still knows it.
       */
      readonly code: "RefundWindowPassed";
      readonly parkingLotId: string;
      readonly reservationId: string;
      readonly refundableUntil?: string;
    };

/** What a command the service decides may be refused for: the lot's refusals, and the payment's own. */
export type CommandRejection = Rejection | PaymentRejection;
