import type { Rejection } from "../parking-lot/state.js";

/** Why the payment aggregate (payment.ts) refused a command, besides the lot's refusals (parking-lot/state.ts). */
export type PaymentRejection =
  | {
      /** A provider's word that does not fit the booking: another intent, too short, or another currency. */
      readonly code: "PaymentMismatch";
      readonly parkingLotId: string;
      readonly reservationId: string;
      readonly reason: "intent" | "amount" | "currency";
    }
  | {
      /** A refund beyond what was taken (captured, charged off-session) less what was or is being refunded. */
      readonly code: "RefundExceedsCaptured";
      readonly parkingLotId: string;
      readonly reservationId: string;
      readonly refundable: number;
      readonly asked: number;
    }
  | {
      /** A refund asked after its window (REFUND_WINDOW_DAYS after the money ended); `refundableUntil` when known. */
      readonly code: "RefundWindowPassed";
      readonly parkingLotId: string;
      readonly reservationId: string;
      readonly refundableUntil?: string;
    };

/** What a command the service decides may be refused for: the lot's refusals, and the payment's own. */
export type CommandRejection = Rejection | PaymentRejection;
