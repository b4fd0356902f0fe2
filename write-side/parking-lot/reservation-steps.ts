import type { CancelReservation, CheckIn, CheckOut } from "../../schemas/commands.js";
import { type CouponRule, DEFAULT_COUPON_RULE, MAX_AMOUNT } from "../../schemas/common.js";
import { openEndedStayPrice, overstayCharge, WINDOW_RULES } from "../../schemas/reservation-time.js";
import { isDriveUpCustomer } from "./drive-ups.js";
import { accept, canceled, iso, ms, reject, statusIn, windowOf } from "./rules.js";
import type { Decision, RegisteredLot, Rejection, ReservationRecord } from "./state.js";
import { checkOutRate, paymentTermsOf } from "./terms.js";

export function cancel(command: CancelReservation, state: RegisteredLot): Decision {
  const { parkingLotId, reservationId } = command;
  const reservation = ownReservation(command, state);
  if ("code" in reservation) return reject(reservation);
  const status = statusIn(state, reservationId, reservation, ms(command.now));
  if (status === "CANCELED") return accept(); // canceling twice changes nothing
  if (status === "COMPLETED" || status === "NO_SHOW")
    return reject({ code: "ReservationNotActive", parkingLotId, reservationId, status });
  // The car is in the lot: its customer checks out; an operator may cancel it, which frees the spot.
  if (reservation.status === "CHECKED_IN" && command.requestedBy !== undefined)
    return reject({ code: "CheckedIn", parkingLotId, reservationId, status });
  // A paid booking's money is settled on its payment's stream by the payments process manager.
  return accept(canceled(parkingLotId, reservationId, reservation, command.reason, command.now));
}

/**
 * The reservation a cancel or check-in/out is about, as its requester may see it: someone else's is
 * answered exactly like a missing one (existence is not revealed).
 */
export function ownReservation(
  command: CancelReservation | CheckIn | CheckOut,
  lot: RegisteredLot,
): ReservationRecord | Rejection {
  const record = lot.reservations.get(command.reservationId);
  if (!record || (command.requestedBy !== undefined && command.requestedBy !== record.customerId))
    return {
      code: "ReservationNotFound",
      parkingLotId: command.parkingLotId,
      reservationId: command.reservationId,
    };
  return record;
}

export function checkIn(command: CheckIn, state: RegisteredLot): Decision {
  const record = ownReservation(command, state);
  if ("code" in record) return reject(record);
  const now = ms(command.now);
  const { parkingLotId, reservationId } = command;
  const status = statusIn(state, reservationId, record, now);
  if (status === "CHECKED_IN" || status === "OVERSTAYING") return accept(); // checking in twice changes nothing
  if (status === "PENDING_PAYMENT")
    return reject({
      code: "PaymentPending",
      parkingLotId,
      reservationId,
      holdUntil: state.paymentAsked.get(reservationId)?.holdUntil ?? command.now,
    });
  if (status !== "RESERVED")
    return reject({ code: "ReservationNotActive", parkingLotId, reservationId, status });
  if (record.startsAt && now < ms(record.startsAt) - WINDOW_RULES.maxSkewMs)
    return reject({
      code: "CheckInTooEarly",
      parkingLotId,
      reservationId,
      startsAt: record.startsAt,
      opensAt: iso(ms(record.startsAt) - WINDOW_RULES.maxSkewMs),
    });
  // The booking's coupon is spendable once the stay has lasted the lot's minimum stay.
  const { minStayMinutes } = state.couponRule ?? DEFAULT_COUPON_RULE;
  const earnsCoupon = !isDriveUpCustomer(record.customerId);
  return accept({
    type: "ReservationCheckedIn",
    data: {
      reservationId,
      parkingLotId,
      customerId: record.customerId,
      checkedInAt: command.now,
      ...(earnsCoupon ? { couponSpendableFrom: iso(now + minStayMinutes * 60_000) } : {}),
    },
  });
}

/** A coupon is earned by a stay, not by a click: the car stayed the lot's minimum, or paid its minimum amount. */
export function stayEarnsCoupon(rule: CouponRule | undefined, stayedMs: number, paid: number): boolean {
  const { minStayMinutes, minPaidAmount } = rule ?? DEFAULT_COUPON_RULE;
  if (stayedMs >= minStayMinutes * 60_000) return true;
  return minPaidAmount !== undefined && paid >= minPaidAmount;
}

/**
 * What a check-out leaves to collect at the gate: a stay whose booking asked no card processor for
 * its money (payments off; a drive-up) is paid on site, all the lot priced (an amount a client
 * declared on a lot without a rate is no price of the lot's).
 */
function collectedOnSite(
  state: RegisteredLot,
  reservationId: string,
  record: ReservationRecord,
  price: number,
  overstay: number,
) {
  if (record.paid || state.paymentAsked.has(reservationId) || price + overstay === 0) return {};
  const kind = isDriveUpCustomer(record.customerId) ? "drive-up" : "booking";
  return { collectedOnSite: { currency: paymentTermsOf(state).currency, kind, price, overstay } } as const;
}

export function checkOut(command: CheckOut, state: RegisteredLot): Decision {
  const record = ownReservation(command, state);
  if ("code" in record) return reject(record);
  const { parkingLotId, reservationId } = command;
  const now = ms(command.now);
  if (record.status === "CHECKED_IN") {
    // A car may leave long after its window ended (it overstayed): that is still a check-out, and
    // the minutes past its window are charged at the lot's rate as it leaves (time it was never
    // quoted). An open-ended stay is priced at the rate it was booked at.
    const car = state.inLot.get(reservationId);
    const overstay = record.endsAt ? overstayCharge(state.hourlyRate, ms(record.endsAt), now) : 0;
    const bookedRate = checkOutRate(state, reservationId);
    const pricedNow = !record.endsAt && bookedRate !== undefined && record.amount === 0;
    const checkedInAt = car?.checkedInAt ?? now;
    const stayPrice = pricedNow ? openEndedStayPrice(bookedRate, checkedInAt, now) : 0;
    const charged = record.amount + stayPrice + overstay;
    // What the check-out records (its price, its overstay, the gate's price: their sum) must be an
    // amount an event holds: a longer stay at a high rate is refused, never a fact the log refuses.
    if (charged > MAX_AMOUNT)
      return reject({
        code: "StayPriceTooHigh",
        parkingLotId,
        reservationId,
        price: charged,
        maximum: MAX_AMOUNT,
      });
    // The coupon rule counts what is paid: what the lot priced (collected by the card
    // processor, or on site with payments off) or the provider authorized, never an amount the
    // client declared on a lot without a rate.
    const booked = record.paid || state.hourlyRate !== undefined ? record.amount : 0;
    const paid = booked + stayPrice + overstay;
    return accept({
      type: "ReservationCheckedOut",
      data: {
        reservationId,
        parkingLotId,
        customerId: record.customerId,
        checkedOutAt: command.now,
        ...windowOf(record),
        ...(pricedNow ? { amount: stayPrice } : {}),
        ...(overstay > 0 ? { overstayCharge: overstay } : {}),
        ...collectedOnSite(state, reservationId, record, booked + stayPrice, overstay),
        // A drive-up's stay is no customer's (drive-ups.ts): it earns nobody a coupon.
        couponEarned:
          !isDriveUpCustomer(record.customerId) && stayEarnsCoupon(state.couponRule, now - checkedInAt, paid),
      },
    });
  }
  if (record.status === "COMPLETED") return accept(); // checking out twice changes nothing
  const status = statusIn(state, reservationId, record, now);
  if (status === "RESERVED" || status === "PENDING_PAYMENT")
    return reject({ code: "NotCheckedIn", parkingLotId, reservationId });
  return reject({ code: "ReservationNotActive", parkingLotId, reservationId, status });
}
