import { chargeMinimum } from "../../schemas/charge-minimums.js";
import type { RegisterParkingLot, ReserveParking } from "../../schemas/commands.js";
import { roundUpToStep } from "../../schemas/currencies.js";
import { holderOf } from "../../schemas/personal-data.js";
import { quote } from "../../schemas/pricing.js";
import { isActive, type Span, windowProblem } from "../../schemas/reservation-time.js";
import type { PaymentsContext } from "./payments.js";
import { accept, busiest, definedOf, iso, ms, reject, statusIn } from "./rules.js";
import {
  DEFAULT_MAX_ACTIVE_PER_CUSTOMER,
  type Decision,
  type ParkingLotState,
  type RegisteredLot,
  type Rejection,
} from "./state.js";
import { authorizationOf, discountOf, paymentTermsOf, sameCouponRule, samePlace } from "./terms.js";

export function register(command: RegisterParkingLot, state: ParkingLotState): Decision {
  const { type: _, now, parkingLotId, name, capacity, ...terms } = command;
  if (state.kind === "registered") {
    // Re-sending the very same registration is a harmless retry; anything else takes a used id.
    const same =
      state.name === name &&
      state.capacity === capacity &&
      state.hourlyRate === terms.hourlyRate &&
      state.maxActivePerCustomer === (terms.maxActivePerCustomer ?? DEFAULT_MAX_ACTIVE_PER_CUSTOMER) &&
      sameCouponRule(state.couponRule, terms.couponRule) &&
      samePlace(state.place, terms);
    return same ? accept() : reject({ code: "LotAlreadyRegistered", parkingLotId });
  }
  return accept({
    type: "ParkingLotRegistered",
    data: { parkingLotId, name, capacity, registeredAt: now, ...definedOf(terms) },
  });
}

/**
 * What the coupon a booking spends takes off its price, or why none: the lot has no coupon discount,
 * or the booking is priced only at check-out (there is no price yet to take it off).
 */
export function couponDiscountFor(
  lot: RegisteredLot,
  command: ReserveParking,
  price: { amount: number; atCheckOut: boolean },
): number | Rejection {
  const coupon = command.coupon;
  if (coupon === undefined) return 0;
  const discount = lot.couponRule?.discount;
  if (discount !== undefined && !price.atCheckOut) return discountOf(discount, price.amount);
  const why = discount === undefined ? "no-discount" : "priced-at-check-out";
  return { code: "CouponNotAccepted", parkingLotId: command.parkingLotId, couponId: coupon.couponId, why };
}

export function activeCount(lot: RegisteredLot, customerId: string, now: number): number {
  // Bookings loaded sealed are held under their key's name, not opened (reservation-book.ts).
  const sealed = lot.reservations.sealed ? holderOf(customerId) : undefined;
  let count = 0;
  for (const key of sealed ? [customerId, sealed] : [customerId])
    for (const id of lot.byCustomer.get(key) ?? []) {
      const record = lot.reservations.get(id);
      if (record && isActive(statusIn(lot, id, record, now))) count++;
    }
  return count;
}

/** The price of a new booking, or why it cannot be booked at the amount offered. */
export function priceOf(
  lot: RegisteredLot,
  command: ReserveParking,
  window: Span | undefined,
): { amount: number; atCheckOut: boolean } | Rejection {
  const { parkingLotId, amount: offered } = command;
  if (lot.hourlyRate !== undefined) {
    if (!window) {
      // Priced at check-out, from check-in on: nothing to agree on now.
      if (offered !== undefined)
        return { code: "AmountNotAccepted", parkingLotId, hourlyRate: lot.hourlyRate, offered };
      return { amount: 0, atCheckOut: true };
    }
    const amount = quote(lot.hourlyRate, window.start, window.end);
    if (offered !== undefined && offered !== amount)
      return { code: "PriceChanged", parkingLotId, quote: amount, offered };
    return { amount, atCheckOut: false };
  }
  if (offered === undefined) return { code: "AmountRequired", parkingLotId };
  if (offered <= 0) return { code: "AmountNotPositive", parkingLotId };
  return { amount: offered, atCheckOut: false };
}

/** What a booking asks of the lot before its capacity: the span it would hold, and its terms. */
export interface BookingTerms {
  readonly window: Span | undefined;
  readonly price: { amount: number; atCheckOut: boolean };
  /** The span of time it would hold a spot: [from, until). */
  readonly from: number;
  readonly until: number;
  readonly mustLeaveBy: number | undefined;
}

/**
 * The terms of a new booking at the command's `now`, or why it is refused before its capacity is
 * counted: a window out of bounds, a price not agreed, a closure in the way. A booking and the
 * availability quote both decide with it.
 */
export function bookingTerms(lot: RegisteredLot, command: ReserveParking): BookingTerms | Rejection {
  const parkingLotId = command.parkingLotId;
  const now = ms(command.now);
  let window: Span | undefined;
  if (command.startsAt !== undefined || command.endsAt !== undefined) {
    if (command.startsAt === undefined)
      return { code: "InvalidWindow", field: "startsAt", detail: "is required with endsAt" };
    if (command.endsAt === undefined)
      return { code: "InvalidWindow", field: "endsAt", detail: "is required with startsAt" };
    const start = ms(command.startsAt);
    const end = ms(command.endsAt);
    const problem = windowProblem(start, end, now);
    if (problem) return { code: "InvalidWindow", ...problem };
    window = { start, end };
  }
  const price = priceOf(lot, command, window);
  if ("code" in price) return price;
  // A window holds its spot over itself; an open-ended booking from now until it is ended, or
  // until the lot's next closure begins (which cancels it: it is told when, `mustLeaveBy`).
  const closure = window
    ? // A window may start up to the skew in the past, so a closure that ended in those minutes
      // still refuses it (the state keeps closures that long).
      lot.closures.find((c) => c.from < window.end && c.until > window.start)
    : lot.closures.find((c) => c.from <= now && c.until > now);
  if (closure) return { code: "LotClosed", parkingLotId, from: iso(closure.from), until: iso(closure.until) };
  const mustLeaveBy = window ? undefined : nextClosureAfter(lot, now);
  return {
    window,
    price,
    from: window ? window.start : now,
    until: window ? window.end : (mustLeaveBy ?? Number.POSITIVE_INFINITY),
    mustLeaveBy,
  };
}

/** What a new booking asks the provider to authorize (payments on, a quote or a deposit): it starts PENDING_PAYMENT. */
function paymentAsked(
  lot: RegisteredLot,
  command: ReserveParking,
  quoted: number,
  openEnded: boolean,
  payments: PaymentsContext | undefined,
) {
  if (!payments?.on) return undefined;
  const terms = paymentTermsOf(lot);
  // Rounded up to what the currency can be charged in (KWD in tens, ISK in hundreds).
  const amount = roundUpToStep(authorizationOf(terms, quoted, openEnded), terms.currency);
  if (amount <= 0) return undefined;
  return {
    amount,
    currency: terms.currency,
    holdUntil: iso(ms(command.now) + payments.holdSeconds * 1000),
    ...(command.paymentMethod !== undefined ? { method: command.paymentMethod } : {}),
  };
}

/** The id a booking request stands for: the first of its ids the lot holds, else its new one. */
export function bookedIdOf(
  command: ReserveParking,
  state: { readonly reservations: { has(id: string): boolean } },
): string {
  return (
    [command.reservationId, ...(command.sameRequestAs ?? [])].find((id) => state.reservations.has(id)) ??
    command.reservationId
  );
}

export function reserve(command: ReserveParking, state: RegisteredLot, payments?: PaymentsContext): Decision {
  const parkingLotId = command.parkingLotId;
  const bookedId = bookedIdOf(command, state);
  const existing = state.reservations.get(bookedId);
  if (existing) {
    // Same id again: an idempotent retry if it asks for the same thing, a conflict if not —
    // whatever has happened to it since (even ended, the retry gets the same answer).
    const same =
      existing.customerId === command.customerId &&
      existing.carNumber === command.carNumber &&
      existing.startsAt === command.startsAt &&
      existing.endsAt === command.endsAt &&
      // A coupon's booking recorded its price after the discount, not the amount offered.
      (command.amount === undefined || command.coupon !== undefined || existing.amount === command.amount);
    return same ? accept() : reject({ code: "ReservationIdConflict", parkingLotId, reservationId: bookedId });
  }
  const now = ms(command.now);
  const terms = bookingTerms(state, command);
  if ("code" in terms) return reject(terms);
  const { window, price, mustLeaveBy } = terms;
  if (activeCount(state, command.customerId, now) >= state.maxActivePerCustomer)
    return reject({ code: "TooManyActiveReservations", parkingLotId, limit: state.maxActivePerCustomer });
  const discount = couponDiscountFor(state, command, price);
  if (typeof discount !== "number") return reject(discount);
  const top = busiest(state, terms.from, terms.until, now);
  if (top.held >= state.capacity)
    return reject({ code: "LotFull", parkingLotId, capacity: state.capacity, at: iso(top.at) });
  // The price after the coupon's discount: what the booking records and the payment authorizes.
  const amount = price.amount - discount;
  const payment = paymentAsked(state, command, amount, window === undefined, payments);
  // A card charge below the provider's minimum would only come back declined.
  if (payment && payment.amount < chargeMinimum(payment.currency)) {
    const { currency } = payment;
    return reject({
      code: "AmountBelowMinimum",
      parkingLotId,
      amount: payment.amount,
      minimum: chargeMinimum(currency),
      currency,
    });
  }
  return accept({
    type: "ParkingReserved",
    data: {
      reservationId: command.reservationId,
      parkingLotId,
      customerId: command.customerId,
      carNumber: command.carNumber,
      amount,
      reservedAt: command.now,
      ...(window ? { startsAt: iso(window.start), endsAt: iso(window.end) } : {}),
      ...(mustLeaveBy !== undefined ? { mustLeaveBy: iso(mustLeaveBy) } : {}),
      ...(price.atCheckOut && state.hourlyRate !== undefined ? { hourlyRate: state.hourlyRate } : {}),
      ...(payment ? { payment } : {}),
      ...(command.coupon ? { coupon: { ...command.coupon, discount } } : {}),
    },
  });
}

/**
 * The availability quote of the window [from, until) at `now`: the refusal a booking would get
 * before its capacity is counted, or the terms with the spots free at the window's busiest instant
 * (`peak`, as `busiest` counts them). A quote is for nobody in particular, so the per-customer
 * limit is not part of it; a booking is accepted exactly when free > 0.
 */
export function quoteWindow(
  lot: RegisteredLot,
  window: { readonly from: number; readonly until: number; readonly now: number },
  peak: (from: number, until: number) => number = (from, until) => busiest(lot, from, until, window.now).held,
): Rejection | { free: number; amount: number | null } {
  const terms = bookingTerms(lot, {
    type: "ReserveParking",
    parkingLotId: lot.parkingLotId,
    reservationId: "",
    customerId: "",
    carNumber: "",
    startsAt: iso(window.from),
    endsAt: iso(window.until),
    // A lot without a rate takes the client's amount: any positive one gets the same answer.
    ...(lot.hourlyRate === undefined ? { amount: 1 } : {}),
    now: iso(window.now),
  });
  if ("code" in terms) return terms;
  return {
    free: Math.max(0, lot.capacity - peak(terms.from, terms.until)),
    amount: lot.hourlyRate === undefined ? null : terms.price.amount,
  };
}

export function nextClosureAfter(lot: RegisteredLot, now: number): number | undefined {
  let next: number | undefined;
  for (const c of lot.closures) if (c.from > now && (next === undefined || c.from < next)) next = c.from;
  return next;
}
