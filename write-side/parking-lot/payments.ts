import type { AuthorizePayment, ExpirePaymentHold, FailPayment } from "../../schemas/commands.js";
import { accept, canceled, ms, reject, statusIn } from "./rules.js";
import type { Decision, ParkingLotState, RegisteredLot, ReservationRecord } from "./state.js";

/**
 * Payments, the lot's side. A booking with something to authorize starts PENDING_PAYMENT and holds
 * its spot until `holdUntil`. Every payment fact is decided on the payment's own stream first; the
 * lot records only what it decides itself: the booking confirmed, or canceled (`payment-failed`,
 * `payment-expired`).
 */

/** What the command context tells the decider about payments (the lot handler passes it from config). */
export interface PaymentsContext {
  readonly on: boolean;
  /** How long a booking waiting for its payment holds its spot (PAYMENT_HOLD_SECONDS). */
  readonly holdSeconds: number;
}

export interface DecideContext {
  readonly payments?: PaymentsContext;
}

const pendingOf = (lot: RegisteredLot, reservationId: string): ReservationRecord | undefined => {
  const record = lot.reservations.get(reservationId);
  return record?.status === "PENDING_PAYMENT" ? record : undefined;
};

/** Whether the booking still waits for its payment (an intent may be created for it). */
export const awaitingPayment = (state: ParkingLotState, reservationId: string): boolean =>
  state.kind === "registered" && pendingOf(state, reservationId) !== undefined;

/**
 * The payment authorized (decided on its stream first): the booking waiting for it is RESERVED.
 * Confirmed already: nothing. Ended meanwhile (canceled, its hold ran out): refused, and the caller
 * settles the authorized payment, which releases it (write-side/payment/payment-process.ts).
 */
export function authorizePayment(command: AuthorizePayment, state: RegisteredLot): Decision {
  const { parkingLotId, reservationId } = command;
  const record = state.reservations.get(reservationId);
  if (!record) return reject({ code: "ReservationNotFound", parkingLotId, reservationId });
  if (record.status !== "PENDING_PAYMENT")
    return record.paid ? accept() : reject({ code: "PaymentNotPending", parkingLotId, reservationId });
  return accept({
    type: "ReservationConfirmed",
    data: {
      reservationId,
      parkingLotId,
      customerId: record.customerId,
      intentId: command.intentId,
      confirmedAt: command.now,
    },
  });
}

/** The payment failed (decided on its stream first): the booking waiting for it is canceled. */
export function failPayment(command: FailPayment, state: RegisteredLot): Decision {
  const { parkingLotId, reservationId } = command;
  const record = state.reservations.get(reservationId);
  if (!record) return reject({ code: "ReservationNotFound", parkingLotId, reservationId });
  // A booking confirmed on a saved card whose hold before the stay failed (its payment's
  // stream failed it first, and says so) is canceled too, unless it began.
  const status = statusIn(state, reservationId, record, ms(command.now));
  const failing =
    status === "PENDING_PAYMENT" || (status === "RESERVED" && record.paid && command.holdBeforeStay === true);
  // Authorized, failed or canceled already; or ended by the clock (its window over unused, its
  // closure begun): what every view shows stands, and the fact time brought is recorded as such.
  if (!failing) return accept();
  return accept(canceled(state.parkingLotId, reservationId, record, "payment-failed", command.now));
}

/** Until when a booking waiting for its payment holds its spot, if it waits. */
export const holdUntilOf = (state: ParkingLotState, reservationId: string): string | undefined =>
  state.kind === "registered" && pendingOf(state, reservationId)
    ? state.paymentAsked.get(reservationId)?.holdUntil
    : undefined;

/** The hold of a booking still waiting for its payment ran out: the lot decides it, and cancels it. */
export function expirePaymentHold(command: ExpirePaymentHold, state: RegisteredLot): Decision {
  const { parkingLotId, reservationId } = command;
  const record = pendingOf(state, reservationId);
  const holdUntil = holdUntilOf(state, reservationId);
  if (!record || holdUntil === undefined) return accept(); // paid, failed, canceled or unknown
  if (ms(holdUntil) > ms(command.now)) return reject({ code: "NotDue", parkingLotId, at: holdUntil });
  // Ended by the clock already while no scheduler ran (a no-show, a closure begun): as in failPayment.
  if (statusIn(state, reservationId, record, ms(command.now)) !== "PENDING_PAYMENT") return accept();
  return accept(canceled(state.parkingLotId, reservationId, record, "payment-expired", command.now));
}
