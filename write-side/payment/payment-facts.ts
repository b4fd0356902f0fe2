import type { EventOfType } from "../../schemas/events.js";
import type { PAYMENT_EVENTS } from "../../schemas/payment-events.js";

/**
 * The payment facts (issue 38; since issue 48 on each payment's own stream, `payment-{reservationId}`)
 * and what the payment side and the read side read of them the same way.
 */

/** The payment facts (schemas/payment-events.ts lists them), and the process's inbox (PaymentRequested). */
export type PaymentEvent = EventOfType<keyof typeof PAYMENT_EVENTS | "PaymentRequested">;

export type PaymentStep = "capture" | "release" | "refund" | "overstay";

/** Why a booking's payment failed (PaymentFailed): declined by the provider, or its hold ran out. */
export interface PaymentFailedBecause {
  readonly reason: "declined" | "expired";
  /** The provider's decline code (e.g. `card_declined`), or `expired` for a hold that ran out. */
  readonly code: string;
  /** The provider's message, when it gave one. */
  readonly message?: string;
  readonly at: string;
}

/** What a PaymentFailed says of why: every reader reads it with this one function. */
export function failedBecause(data: EventOfType<"PaymentFailed">["data"]): PaymentFailedBecause {
  return {
    reason: data.reason,
    code: data.code ?? (data.reason === "expired" ? "expired" : "declined"),
    ...(data.message !== undefined ? { message: data.message } : {}),
    at: data.failedAt,
  };
}

/** A booking's payment's state as the reservation view shows it (issue 38). */
export type PaymentViewState =
  | "pending"
  | "card-saved"
  | "action-required"
  | "authorized"
  | "lapsed"
  | "captured"
  | "partially_refunded"
  | "refunded"
  | "released"
  | "failed";

/**
 * What a payment's state reads, from what was recorded of it: pending or failed as recorded; once
 * authorized, refunded once all it captured was given back, partially_refunded once some of it was
 * (issue 47: 400 of 1,000 is not a refund of the payment), else captured once anything was (an
 * off-session charge too), else released once its authorization was let go, else `lapsed` when the
 * provider let the hold go first (issue 71: never `authorized` for money not held). The
 * reservation view reads it.
 */
export function paymentStateOf(payment: {
  /** As recorded (a stored view's state reads the same way). */
  readonly state: PaymentViewState;
  /** Captured, off-session charges included. */
  readonly captured: number;
  readonly refunded: number;
  readonly released: number;
}): PaymentViewState {
  if (payment.state === "pending" || payment.state === "failed") return payment.state;
  if (payment.refunded > 0) return payment.refunded < payment.captured ? "partially_refunded" : "refunded";
  if (payment.captured > 0) return "captured";
  return payment.released > 0 ? "released" : payment.state;
}
