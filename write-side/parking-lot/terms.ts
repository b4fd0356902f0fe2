import type {
  ChangeCouponRule,
  ChangeCustomerLimit,
  ChangeGateConfidence,
  ChangePaymentTerms,
  ChangePlace,
  ChangeRate,
} from "../../schemas/commands.js";
import {
  type CouponDiscount,
  type CouponRule,
  DEFAULT_GATE_CONFIDENCE_THRESHOLD,
  DEFAULT_PAYMENT_TERMS,
  type PaymentTerms,
} from "../../schemas/common.js";
import type { LotPlace } from "../../schemas/place.js";
import { accept } from "./rules.js";
import type { Decision, ParkingLotEvent, RegisteredLot } from "./state.js";

/**
 * The lot's terms for bookings made from now on. A change never touches a booking already made: a
 * window keeps the amount it was quoted, an open-ended stay the rate it was booked at
 * (`checkOutRate`), a customer over a lowered limit their bookings.
 */

/** The fact of a change, or none when it asks for what the lot has already (a retry). */
const unlessSame = (same: boolean, event: ParkingLotEvent): Decision => (same ? accept() : accept(event));

export function changeRate(command: ChangeRate, state: RegisteredLot): Decision {
  return unlessSame(command.hourlyRate === state.hourlyRate, {
    type: "ParkingLotRateChanged",
    data: {
      parkingLotId: command.parkingLotId,
      hourlyRate: command.hourlyRate,
      ...(state.hourlyRate !== undefined ? { previousHourlyRate: state.hourlyRate } : {}),
      changedAt: command.now,
    },
  });
}

/** The stays that keep their coupon (decided at each check-out), and a spent coupon's discount. */
export function changeCouponRule(command: ChangeCouponRule, state: RegisteredLot): Decision {
  return unlessSame(state.couponRule !== undefined && sameCouponRule(state.couponRule, command.couponRule), {
    type: "ParkingLotCouponRuleChanged",
    data: {
      parkingLotId: command.parkingLotId,
      couponRule: command.couponRule,
      ...(state.couponRule !== undefined ? { previousCouponRule: state.couponRule } : {}),
      changedAt: command.now,
    },
  });
}

/** The confidence below which the gates send a read to review (a camera that misreads often wants it higher). */
export function changeGateConfidence(command: ChangeGateConfidence, state: RegisteredLot): Decision {
  const previous = gateConfidenceOf(state);
  return unlessSame(command.gateConfidenceThreshold === previous, {
    type: "ParkingLotGateConfidenceChanged",
    data: {
      parkingLotId: command.parkingLotId,
      gateConfidenceThreshold: command.gateConfidenceThreshold,
      previousGateConfidenceThreshold: previous,
      changedAt: command.now,
    },
  });
}

export const gateConfidenceOf = (lot: RegisteredLot): number =>
  lot.gateConfidenceThreshold ?? DEFAULT_GATE_CONFIDENCE_THRESHOLD;

export function changeCustomerLimit(command: ChangeCustomerLimit, state: RegisteredLot): Decision {
  return unlessSame(command.maxActivePerCustomer === state.maxActivePerCustomer, {
    type: "ParkingLotCustomerLimitChanged",
    data: {
      parkingLotId: command.parkingLotId,
      maxActivePerCustomer: command.maxActivePerCustomer,
      previousMaxActivePerCustomer: state.maxActivePerCustomer,
      changedAt: command.now,
    },
  });
}

/** What the lot asks to be paid; a booking keeps the terms it was made under. */
export function changePaymentTerms(command: ChangePaymentTerms, state: RegisteredLot): Decision {
  return unlessSame(state.paymentTerms !== undefined && samePaymentTerms(state.paymentTerms, command.terms), {
    type: "ParkingLotPaymentTermsChanged",
    data: {
      parkingLotId: command.parkingLotId,
      terms: command.terms,
      ...(state.paymentTerms !== undefined ? { previousTerms: state.paymentTerms } : {}),
      changedAt: command.now,
    },
  });
}

/** Where the lot is and which clock it keeps: the whole place, an address left out being none. */
export function changePlace(command: ChangePlace, state: RegisteredLot): Decision {
  const { location, address, timeZone } = command;
  const next = { location, ...(address !== undefined ? { address } : {}), timeZone };
  const before = state.place;
  return unlessSame(samePlace(before, next), {
    type: "ParkingLotPlaceChanged",
    data: {
      parkingLotId: command.parkingLotId,
      ...next,
      ...(before?.location !== undefined ? { previousLocation: before.location } : {}),
      ...(before?.address !== undefined ? { previousAddress: before.address } : {}),
      ...(before?.timeZone !== undefined ? { previousTimeZone: before.timeZone } : {}),
      changedAt: command.now,
    },
  });
}

/** Whether two places are the same (absent and empty alike). */
export const samePlace = (a: LotPlace | undefined, b: LotPlace | undefined): boolean =>
  a?.location?.latitude === b?.location?.latitude &&
  a?.location?.longitude === b?.location?.longitude &&
  a?.address === b?.address &&
  a?.timeZone === b?.timeZone;

const samePaymentTerms = (a: PaymentTerms, b: PaymentTerms): boolean =>
  a.currency === b.currency &&
  a.deposit === b.deposit &&
  a.noShowFee === b.noShowFee &&
  a.cancellation.freeUntilMinutesBefore === b.cancellation.freeUntilMinutesBefore &&
  a.cancellation.feePercent === b.cancellation.feePercent;

/** The lot's payment terms: its own, or the defaults (KRW, no deposit, no fees). */
export const paymentTermsOf = (lot: RegisteredLot): PaymentTerms => lot.paymentTerms ?? DEFAULT_PAYMENT_TERMS;

/** The rate an open-ended stay is priced at on check-out: the one it was booked at, else (none recorded) the lot's. */
export const checkOutRate = (lot: RegisteredLot, reservationId: string): number | undefined =>
  lot.checkOutRates.get(reservationId) ?? lot.hourlyRate;

/** Whether two coupon rules are the same (a registration or a change sent again is a retry). */
export const sameCouponRule = (a: CouponRule | undefined, b: CouponRule | undefined): boolean =>
  a?.minStayMinutes === b?.minStayMinutes &&
  a?.minPaidAmount === b?.minPaidAmount &&
  discountKey(a?.discount) === discountKey(b?.discount);

const discountKey = (d: CouponDiscount | undefined): string | undefined =>
  d && ("percent" in d ? `${d.percent}%` : `${d.amount}`);

/** What a discount takes off a price: its amount or its percentage (rounded down), at most the price. */
export function discountOf(discount: CouponDiscount, price: number): number {
  const off = "percent" in discount ? Math.floor((price * discount.percent) / 100) : discount.amount;
  return Math.min(price, off);
}

/** What an open-ended booking authorizes (its price is known at check-out only): the lot's deposit. */
export const authorizationOf = (terms: PaymentTerms, quoted: number, openEnded: boolean): number =>
  openEnded ? terms.deposit : quoted;
