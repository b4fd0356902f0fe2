import { Type } from "@sinclair/typebox";
import {
  Amount,
  Capacity,
  CarNumber,
  CouponId,
  CouponRule,
  Currency,
  CustomerId,
  HourlyRate,
  Identifier,
  LotName,
  MaxActivePerCustomer,
  ParkingLotId,
  PaymentMethodId,
  PaymentTerms,
  Personal,
  Reason,
  ReservationId,
  Timestamp,
} from "./common.js";
import { byType, defineEvent } from "./event-definition.js";
import { DriveUpAdmittedEvent, ParkingLotGateConfidenceChangedEvent } from "./lot-gate-events.js";
import { LotBooksClosedEvent, LotPeriodOpenedEvent } from "./lot-period-events.js";
import { IntentId } from "./payment-events.js";
import { Address, Location, TimeZone } from "./place.js";

/**
 * The parking lot's own facts, appended to its stream (`parkingLot-<id>`), each with its
 * definition (schemas/event-definition.ts); the payment facts on the same stream are in
 * schemas/payment-events.ts. `additionalProperties: false` everywhere.
 */

const strict = { additionalProperties: false } as const;

const utc = (timestamp: string): string => new Date(timestamp).toISOString();

const windowOf = (data: { startsAt?: string; endsAt?: string }): string =>
  data.startsAt && data.endsAt ? `for ${utc(data.startsAt)} – ${utc(data.endsAt)}` : "open-ended";

/** A lot's place in words (issue 49): where, its address, its time zone (none stated: no place, UTC). */
function placeWords(p: {
  location?: { latitude: number; longitude: number } | undefined;
  address?: string | undefined;
  timeZone?: string | undefined;
}): string {
  const where = p.location ? `${p.location.latitude}, ${p.location.longitude}` : "no place";
  return `${where}${p.address ? ` ("${p.address}")` : ""} in time zone ${p.timeZone ?? "UTC"}`;
}

export const ParkingLotRegisteredData = Type.Object(
  {
    parkingLotId: ParkingLotId,
    name: LotName,
    capacity: Capacity,
    registeredAt: Timestamp,
    // Optional since issue 9: a lot registered before has no rate and the default limit.
    hourlyRate: Type.Optional(HourlyRate),
    maxActivePerCustomer: Type.Optional(MaxActivePerCustomer),
    // Optional since issue 34: a lot registered before earns coupons by the default rule.
    couponRule: Type.Optional(CouponRule),
    // Optional since issue 49: a lot registered before has no place and keeps UTC.
    location: Type.Optional(Location),
    address: Type.Optional(Address),
    timeZone: Type.Optional(TimeZone),
  },
  { ...strict, $id: "ParkingLotRegistered" },
);

export const ParkingLotRegisteredEvent = defineEvent({
  type: "ParkingLotRegistered",
  schema: ParkingLotRegisteredData,
  stream: "lot",
  recordTime: "registeredAt",
  audit: (d, by) =>
    `${by} registered lot ${d.parkingLotId} "${d.name}" with ${d.capacity} spots${d.hourlyRate ? ` at ${d.hourlyRate} an hour` : ""}${d.location || d.timeZone ? `, ${placeWords(d)}` : ""}`,
});

/** What a booking waiting for its payment asks the provider to authorize (issue 38). */
export const BookingPayment = Type.Object(
  {
    amount: Amount,
    currency: Currency,
    holdUntil: Timestamp,
    method: Type.Optional(Personal(PaymentMethodId)),
  },
  { additionalProperties: false },
);

export const ParkingReservedData = Type.Object(
  {
    reservationId: ReservationId,
    parkingLotId: ParkingLotId,
    customerId: Personal(CustomerId),
    carNumber: Personal(CarNumber),
    amount: Amount,
    reservedAt: Timestamp,
    // Optional since issue 9: without them the reservation is open-ended, as every older one is.
    startsAt: Type.Optional(Timestamp),
    endsAt: Type.Optional(Timestamp),
    // Since issue 17, both for open-ended bookings only. When the lot's next closure begins, which
    // cancels the booking if it is still RESERVED then (a closure created later says so itself).
    mustLeaveBy: Type.Optional(Timestamp),
    // The rate the stay is priced at on check-out (a lot with a rate prices an open-ended stay
    // then: `amount` is 0 until the check-out event carries the price).
    hourlyRate: Type.Optional(HourlyRate),
    // Since issue 38: present iff the booking starts PENDING_PAYMENT (payments on, something to
    // authorize): what to authorize, until when the spot is held for it, and the saved payment
    // method the customer named (personal: sealed under the customer's key).
    payment: Type.Optional(BookingPayment),
    // Since issue 47: the coupon the booking spent (redeemed on its own stream first) and what it
    // took off the price; `amount` (and what the payment authorizes) is the price after it.
    coupon: Type.Optional(
      Type.Object(
        { couponId: CouponId, reservationId: ReservationId, discount: Amount },
        { additionalProperties: false },
      ),
    ),
  },
  { ...strict, $id: "ParkingReserved" },
);

export const ParkingReservedEvent = defineEvent({
  type: "ParkingReserved",
  schema: ParkingReservedData,
  stream: "lot",
  recordTime: "reservedAt",
  audit: (d, by, actor) => {
    const forWhom = actor?.sub === d.customerId ? "" : ` for customer ${d.customerId}`;
    // Issue 69: a booking that spent a coupon says so (which, and what it took off).
    const spent = d.coupon
      ? `, spending coupon ${d.coupon.couponId} of reservation ${d.coupon.reservationId} (${d.coupon.discount} off)`
      : "";
    return `${by} reserved ${d.reservationId}${forWhom} in lot ${d.parkingLotId}, car ${d.carNumber}, ${windowOf(d)}, amount ${d.amount}${spent}`;
  },
});

/**
 * The window of the reservation an event ends, when it had one, so that a projection can tell a
 * window from an open-ended reservation without reading anything (events written before windows
 * existed have neither field: they end open-ended reservations).
 */
const ENDED_WINDOW = {
  startsAt: Type.Optional(Timestamp),
  endsAt: Type.Optional(Timestamp),
};

export const ReservationCanceledData = Type.Object(
  {
    reservationId: ReservationId,
    parkingLotId: ParkingLotId,
    customerId: Personal(CustomerId),
    reason: Reason,
    canceledAt: Timestamp,
    ...ENDED_WINDOW,
  },
  { ...strict, $id: "ReservationCanceled" },
);

export const ReservationCanceledEvent = defineEvent({
  type: "ReservationCanceled",
  schema: ReservationCanceledData,
  stream: "lot",
  recordTime: "canceledAt",
  audit: (d, by) => `${by} canceled reservation ${d.reservationId} of customer ${d.customerId}: ${d.reason}`,
  reason: (d) => d.reason,
});

export const ReservationCheckedInData = Type.Object(
  {
    reservationId: ReservationId,
    parkingLotId: ParkingLotId,
    customerId: Personal(CustomerId),
    checkedInAt: Timestamp,
    // Since issue 71: when the stay has lasted the lot's minimum stay (its couponRule then), from
    // which the booking's coupon is spendable. Absent on a drive-up's (it earns none) and before.
    couponSpendableFrom: Type.Optional(Timestamp),
  },
  { ...strict, $id: "ReservationCheckedIn" },
);

export const ReservationCheckedInEvent = defineEvent({
  type: "ReservationCheckedIn",
  schema: ReservationCheckedInData,
  stream: "lot",
  recordTime: "checkedInAt",
  audit: (d, by) => `${by} checked in reservation ${d.reservationId} of customer ${d.customerId}`,
});

/** The car left: the reservation is COMPLETED and its spot is free from `checkedOutAt` on. */
export const ReservationCheckedOutData = Type.Object(
  {
    reservationId: ReservationId,
    parkingLotId: ParkingLotId,
    customerId: Personal(CustomerId),
    checkedOutAt: Timestamp,
    ...ENDED_WINDOW,
    // Since issue 17: the price of an open-ended stay on a lot with a rate, fixed now.
    amount: Type.Optional(Amount),
    // Since issue 17: what staying past `endsAt` costs at the lot's rate (absent: nothing).
    overstayCharge: Type.Optional(Amount),
    // Since issue 34: whether the stay earned the lot's coupon (the lot's couponRule, decided at
    // check-out). Absent on older check-outs, whose coupon was issued at booking.
    couponEarned: Type.Optional(Type.Boolean()),
    // Since issue 69: what the lot priced this stay that no card processor takes (a booking made
    // with payments off, a drive-up), to be collected at the gate, in the lot's currency: the
    // booking's price with the stay's (`price`) and the overstay's. Absent: nothing, or the provider's.
    collectedOnSite: Type.Optional(
      Type.Object(
        {
          currency: Currency,
          kind: Type.Union([Type.Literal("booking"), Type.Literal("drive-up")]),
          price: Amount,
          overstay: Amount,
        },
        { additionalProperties: false },
      ),
    ),
  },
  { ...strict, $id: "ReservationCheckedOut" },
);

export const ReservationCheckedOutEvent = defineEvent({
  type: "ReservationCheckedOut",
  schema: ReservationCheckedOutData,
  stream: "lot",
  recordTime: "checkedOutAt",
  audit: (d, by) => {
    const charged = [
      d.amount === undefined ? "" : `, charged ${d.amount}`,
      d.overstayCharge === undefined ? "" : `, overstay ${d.overstayCharge}`,
    ].join("");
    return `${by} checked out reservation ${d.reservationId} of customer ${d.customerId}${charged}`;
  },
});

/**
 * A window ended without a check-in: the reservation is NO_SHOW (the clock showed it so at once;
 * the scheduler records it). Its coupon is revoked.
 */
export const ReservationNoShowData = Type.Object(
  {
    reservationId: ReservationId,
    parkingLotId: ParkingLotId,
    customerId: Personal(CustomerId),
    startsAt: Timestamp,
    endsAt: Timestamp,
    recordedAt: Timestamp,
  },
  { ...strict, $id: "ReservationNoShow" },
);

export const ReservationNoShowEvent = defineEvent({
  type: "ReservationNoShow",
  schema: ReservationNoShowData,
  stream: "lot",
  recordTime: "recordedAt",
  audit: (d, by) =>
    `${by} recorded reservation ${d.reservationId} of customer ${d.customerId} as a no-show (window ${utc(d.startsAt)} – ${utc(d.endsAt)})`,
  reason: () => "no-show",
});

/**
 * Issue 48: the lot's outcome of a booking's payment: its authorization (recorded on the payment's
 * own stream, `payment-<reservationId>`) made the booking that waited for it RESERVED. A payment
 * that failed or whose hold ran out needs no fact of its own here: the lot cancels the booking
 * (ReservationCanceled, reason `payment-failed` or `payment-expired`), which frees its spot.
 */
export const ReservationConfirmedData = Type.Object(
  {
    reservationId: ReservationId,
    parkingLotId: ParkingLotId,
    customerId: Personal(CustomerId),
    /** The authorized intent at the provider (the payment's stream holds its amounts). */
    intentId: IntentId,
    confirmedAt: Timestamp,
  },
  { ...strict, $id: "ReservationConfirmed" },
);

export const ReservationConfirmedEvent = defineEvent({
  type: "ReservationConfirmed",
  schema: ReservationConfirmedData,
  stream: "lot",
  recordTime: "confirmedAt",
  audit: (d, by) =>
    `${by} confirmed reservation ${d.reservationId} of customer ${d.customerId}: payment ${d.intentId} was authorized`,
});

/** The lot takes no reservation overlapping [from, until); the ones it overlapped are canceled in the same append. */
export const ParkingLotClosedData = Type.Object(
  {
    closureId: Identifier,
    parkingLotId: ParkingLotId,
    from: Timestamp,
    until: Timestamp,
    reason: Reason,
    closedAt: Timestamp,
  },
  { ...strict, $id: "ParkingLotClosed" },
);

export const ParkingLotClosedEvent = defineEvent({
  type: "ParkingLotClosed",
  schema: ParkingLotClosedData,
  stream: "lot",
  recordTime: "closedAt",
  audit: (d, by) =>
    `${by} closed lot ${d.parkingLotId} from ${utc(d.from)} until ${utc(d.until)}: ${d.reason}`,
  reason: (d) => d.reason,
});

/**
 * A closure began (appended by the scheduler when its `from` passes): the open-ended bookings still
 * RESERVED are canceled in the same append (reason `lot-closed`), and the cars in the lot then are
 * listed for operators (they are not canceled out of the lot).
 */
export const ParkingLotClosureBeganData = Type.Object(
  {
    closureId: Identifier,
    parkingLotId: ParkingLotId,
    from: Timestamp,
    until: Timestamp,
    carsInLot: Type.Array(ReservationId, { maxItems: 100_000 }),
    recordedAt: Timestamp,
  },
  { ...strict, $id: "ParkingLotClosureBegan" },
);

export const ParkingLotClosureBeganEvent = defineEvent({
  type: "ParkingLotClosureBegan",
  schema: ParkingLotClosureBeganData,
  stream: "lot",
  recordTime: "recordedAt",
  audit: (d, by) =>
    `${by} recorded that closure ${d.closureId} of lot ${d.parkingLotId} began, with ${d.carsInLot.length} cars in the lot`,
});

export const ParkingLotCapacityChangedData = Type.Object(
  { parkingLotId: ParkingLotId, capacity: Capacity, previousCapacity: Capacity, changedAt: Timestamp },
  { ...strict, $id: "ParkingLotCapacityChanged" },
);

export const ParkingLotCapacityChangedEvent = defineEvent({
  type: "ParkingLotCapacityChanged",
  schema: ParkingLotCapacityChangedData,
  stream: "lot",
  recordTime: "changedAt",
  audit: (d, by) =>
    `${by} changed the capacity of lot ${d.parkingLotId} from ${d.previousCapacity} to ${d.capacity}`,
});

/** Since issue 33: the rate of bookings made from `changedAt` on (those made before keep theirs). */
export const ParkingLotRateChangedData = Type.Object(
  {
    parkingLotId: ParkingLotId,
    hourlyRate: HourlyRate,
    /** Absent when the lot had no rate (the client's amount was taken). */
    previousHourlyRate: Type.Optional(HourlyRate),
    changedAt: Timestamp,
  },
  { ...strict, $id: "ParkingLotRateChanged" },
);

export const ParkingLotRateChangedEvent = defineEvent({
  type: "ParkingLotRateChanged",
  schema: ParkingLotRateChangedData,
  stream: "lot",
  recordTime: "changedAt",
  audit: (d, by) =>
    `${by} changed the hourly rate of lot ${d.parkingLotId} ${d.previousHourlyRate === undefined ? "" : `from ${d.previousHourlyRate} `}to ${d.hourlyRate} for bookings made from then on`,
});

/** Since issue 33: the per-customer limit of new bookings (bookings already made are kept). */
export const ParkingLotCustomerLimitChangedData = Type.Object(
  {
    parkingLotId: ParkingLotId,
    maxActivePerCustomer: MaxActivePerCustomer,
    previousMaxActivePerCustomer: MaxActivePerCustomer,
    changedAt: Timestamp,
  },
  { ...strict, $id: "ParkingLotCustomerLimitChanged" },
);

export const ParkingLotCustomerLimitChangedEvent = defineEvent({
  type: "ParkingLotCustomerLimitChanged",
  schema: ParkingLotCustomerLimitChangedData,
  stream: "lot",
  recordTime: "changedAt",
  audit: (d, by) =>
    `${by} changed the per-customer limit of lot ${d.parkingLotId} from ${d.previousMaxActivePerCustomer} to ${d.maxActivePerCustomer} active reservations`,
});

/**
 * Since issue 38: what the lot asks to be paid for bookings made from `changedAt` on (currency,
 * deposit, cancellation policy, no-show fee). A booking keeps the terms it was made under.
 */
export const ParkingLotPaymentTermsChangedData = Type.Object(
  {
    parkingLotId: ParkingLotId,
    terms: PaymentTerms,
    /** Absent when the lot had none of its own (DEFAULT_PAYMENT_TERMS applied). */
    previousTerms: Type.Optional(PaymentTerms),
    changedAt: Timestamp,
  },
  { ...strict, $id: "ParkingLotPaymentTermsChanged" },
);

export const ParkingLotPaymentTermsChangedEvent = defineEvent({
  type: "ParkingLotPaymentTermsChanged",
  schema: ParkingLotPaymentTermsChangedData,
  stream: "lot",
  recordTime: "changedAt",
  audit: (d, by) =>
    `${by} changed the payment terms of lot ${d.parkingLotId} to ${d.terms.currency}, deposit ${d.terms.deposit}, cancel free until ${d.terms.cancellation.freeUntilMinutesBefore} minutes before the start then a ${d.terms.cancellation.feePercent}% fee, no-show fee ${d.terms.noShowFee}, for bookings made from then on`,
});

/**
 * Since issue 49: where the lot is and which clock it keeps, from `changedAt` on (the whole place:
 * an address left out is none). The previous place is named for the audit trail; absent fields
 * there were absent then (no place, UTC).
 */
export const ParkingLotPlaceChangedData = Type.Object(
  {
    parkingLotId: ParkingLotId,
    location: Location,
    address: Type.Optional(Address),
    timeZone: TimeZone,
    previousLocation: Type.Optional(Location),
    previousAddress: Type.Optional(Address),
    previousTimeZone: Type.Optional(TimeZone),
    changedAt: Timestamp,
  },
  { ...strict, $id: "ParkingLotPlaceChanged" },
);

export const ParkingLotPlaceChangedEvent = defineEvent({
  type: "ParkingLotPlaceChanged",
  schema: ParkingLotPlaceChangedData,
  stream: "lot",
  recordTime: "changedAt",
  audit: (d, by) =>
    `${by} moved lot ${d.parkingLotId} to ${placeWords(d)} (before: ${placeWords({ location: d.previousLocation, address: d.previousAddress, timeZone: d.previousTimeZone })})`,
});

/**
 * Since issue 47: the lot's coupon rule from `changedAt` on: which stays keep their coupon, and
 * what a coupon spent on a booking here takes off (`discount`). Bookings made before keep the
 * price they were made at.
 */
export const ParkingLotCouponRuleChangedData = Type.Object(
  {
    parkingLotId: ParkingLotId,
    couponRule: CouponRule,
    /** Absent when the lot had none of its own (DEFAULT_COUPON_RULE applied). */
    previousCouponRule: Type.Optional(CouponRule),
    changedAt: Timestamp,
  },
  { ...strict, $id: "ParkingLotCouponRuleChanged" },
);

export const ParkingLotCouponRuleChangedEvent = defineEvent({
  type: "ParkingLotCouponRuleChanged",
  schema: ParkingLotCouponRuleChangedData,
  stream: "lot",
  recordTime: "changedAt",
  audit: (d, by) =>
    `${by} changed the coupon rule of lot ${d.parkingLotId} to ${JSON.stringify(d.couponRule)} from then on`,
});

/** The lot's facts, by type, in the order the API document lists them. */
export const LOT_EVENTS = byType(
  ParkingLotRegisteredEvent,
  ParkingReservedEvent,
  ReservationCanceledEvent,
  ReservationCheckedInEvent,
  ReservationCheckedOutEvent,
  ReservationNoShowEvent,
  ReservationConfirmedEvent,
  ParkingLotClosedEvent,
  ParkingLotClosureBeganEvent,
  ParkingLotCapacityChangedEvent,
  ParkingLotRateChangedEvent,
  ParkingLotCustomerLimitChangedEvent,
  ParkingLotPaymentTermsChangedEvent,
  ParkingLotPlaceChangedEvent,
  ParkingLotCouponRuleChangedEvent,
  DriveUpAdmittedEvent,
  ParkingLotGateConfidenceChangedEvent,
  LotBooksClosedEvent,
  LotPeriodOpenedEvent,
);
