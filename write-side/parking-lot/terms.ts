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
import type { EventOfType } from "../../schemas/events.js";
import type { LotPlace } from "../../schemas/place.js";
import { accept } from "./rules.js";
import type { Decision, ParkingLotEvent, RegisteredLot } from "./state.js";

/**
 * The lot's terms for bookings made from now on. A change never touches a booking already made: a
 * window keeps the amount it was quoted, an open-ended stay the rate it was booked at
 * (`checkOutRate`), a customer over a lowered limit their bookings.
 */

/** The lot events that change one of its terms, each stamped `changedAt`. */
type TermChange = Extract<ParkingLotEvent, { readonly data: { readonly changedAt: string } }>["type"];

/** The fact of a change, with the command's lot and time; none when it asks for what the lot has already (a retry). */
export function termChanged<T extends TermChange>(
  command: { readonly parkingLotId: string; readonly now: string },
  same: boolean,
  type: T,
  fields: Omit<EventOfType<T>["data"], "parkingLotId" | "changedAt">,
): Decision {
  if (same) return accept();
  const data = { parkingLotId: command.parkingLotId, ...fields, changedAt: command.now };
  return accept({ type, data } as EventOfType<T>);
}

export function changeRate(command: ChangeRate, state: RegisteredLot): Decision {
  return termChanged(command, command.hourlyRate === state.hourlyRate, "ParkingLotRateChanged", {
    hourlyRate: command.hourlyRate,
    ...(state.hourlyRate !== undefined ? { previousHourlyRate: state.hourlyRate } : {}),
  });
}

/** The stays that keep their coupon (decided at each check-out), and a spent coupon's discount. */
export function changeCouponRule(command: ChangeCouponRule, state: RegisteredLot): Decision {
  const same = state.couponRule !== undefined && sameCouponRule(state.couponRule, command.couponRule);
  return termChanged(command, same, "ParkingLotCouponRuleChanged", {
    couponRule: command.couponRule,
    ...(state.couponRule !== undefined ? { previousCouponRule: state.couponRule } : {}),
  });
}

/** The confidence below which the gates send a read to review (a camera that misreads often wants it higher). */
export function changeGateConfidence(command: ChangeGateConfidence, state: RegisteredLot): Decision {
  const previous = gateConfidenceOf(state);
  const same = command.gateConfidenceThreshold === previous;
  return termChanged(command, same, "ParkingLotGateConfidenceChanged", {
    gateConfidenceThreshold: command.gateConfidenceThreshold,
    previousGateConfidenceThreshold: previous,
  });
}

export const gateConfidenceOf = (lot: RegisteredLot): number =>
  lot.gateConfidenceThreshold ?? DEFAULT_GATE_CONFIDENCE_THRESHOLD;

export function changeCustomerLimit(command: ChangeCustomerLimit, state: RegisteredLot): Decision {
  const same = command.maxActivePerCustomer === state.maxActivePerCustomer;
  return termChanged(command, same, "ParkingLotCustomerLimitChanged", {
    maxActivePerCustomer: command.maxActivePerCustomer,
    previousMaxActivePerCustomer: state.maxActivePerCustomer,
  });
}

/** What the lot asks to be paid; a booking keeps the terms it was made under. */
export function changePaymentTerms(command: ChangePaymentTerms, state: RegisteredLot): Decision {
  const same = state.paymentTerms !== undefined && samePaymentTerms(state.paymentTerms, command.terms);
  return termChanged(command, same, "ParkingLotPaymentTermsChanged", {
    terms: command.terms,
    ...(state.paymentTerms !== undefined ? { previousTerms: state.paymentTerms } : {}),
  });
}

/** Where the lot is and which clock it keeps: the whole place, an address left out being none. */
export function changePlace(command: ChangePlace, state: RegisteredLot): Decision {
  const { location, address, timeZone } = command;
  const next = { location, ...(address !== undefined ? { address } : {}), timeZone };
  const before = state.place;
  return termChanged(command, samePlace(before, next), "ParkingLotPlaceChanged", {
    ...next,
    ...(before?.location !== undefined ? { previousLocation: before.location } : {}),
    ...(before?.address !== undefined ? { previousAddress: before.address } : {}),
    ...(before?.timeZone !== undefined ? { previousTimeZone: before.timeZone } : {}),
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
