import { type Static, Type } from "@sinclair/typebox";
import { Actor } from "./actor.js";
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
import { PaymentEventDataSchemas } from "./payment-events.js";
import { Address, Location, TimeZone } from "./place.js";

export {
  OverstayChargedData,
  PaymentAuthorizedData,
  PaymentCapturedData,
  PaymentFailedData,
  PaymentRefundedData,
  PaymentReleasedData,
  PaymentSettlementDecidedData,
  PaymentStepFailedData,
} from "./payment-events.js";

/** Payload schemas of every domain event. `additionalProperties: false` everywhere. */

const strict = { additionalProperties: false } as const;

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

export const ReservationCheckedInData = Type.Object(
  {
    reservationId: ReservationId,
    parkingLotId: ParkingLotId,
    customerId: Personal(CustomerId),
    checkedInAt: Timestamp,
  },
  { ...strict, $id: "ReservationCheckedIn" },
);

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
  },
  { ...strict, $id: "ReservationCheckedOut" },
);

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

export const ParkingLotCapacityChangedData = Type.Object(
  { parkingLotId: ParkingLotId, capacity: Capacity, previousCapacity: Capacity, changedAt: Timestamp },
  { ...strict, $id: "ParkingLotCapacityChanged" },
);

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

export const CouponIssuedData = Type.Object(
  {
    couponId: CouponId,
    reservationId: ReservationId,
    parkingLotId: ParkingLotId,
    customerId: Personal(CustomerId),
    issuedAt: Timestamp,
  },
  { ...strict, $id: "CouponIssued" },
);

export const CouponRevokedData = Type.Object(
  {
    couponId: CouponId,
    reservationId: ReservationId,
    parkingLotId: ParkingLotId,
    customerId: Personal(CustomerId),
    revokedAt: Timestamp,
  },
  { ...strict, $id: "CouponRevoked" },
);

/**
 * Since issue 47: the coupon was spent on a booking (`redeemedFor`, in `redeemedForLot`), appended
 * to the coupon's stream with its expected revision before the booking (so two bookings never spend
 * it both). `reservationId` is the reservation that got the coupon, as in every coupon event.
 */
export const CouponRedeemedData = Type.Object(
  {
    couponId: CouponId,
    reservationId: ReservationId,
    parkingLotId: ParkingLotId,
    customerId: Personal(CustomerId),
    redeemedFor: ReservationId,
    redeemedForLot: ParkingLotId,
    redeemedAt: Timestamp,
  },
  { ...strict, $id: "CouponRedeemed" },
);

/**
 * Since issue 47: a redeemed coupon is spendable again: the booking it was spent on was canceled
 * before it started (`booking-canceled`), or was refused after the coupon was set aside for it
 * (`booking-refused`).
 */
export const CouponReturnedData = Type.Object(
  {
    couponId: CouponId,
    reservationId: ReservationId,
    parkingLotId: ParkingLotId,
    customerId: Personal(CustomerId),
    redeemedFor: ReservationId,
    reason: Type.Union([Type.Literal("booking-canceled"), Type.Literal("booking-refused")]),
    returnedAt: Timestamp,
  },
  { ...strict, $id: "CouponReturned" },
);

/**
 * Since issue 36: a customer's personal data was erased (their data keys deleted), so every
 * personal field sealed under them now reads `erased`. Recorded in the customer's own stream
 * (`customer-<subject>`), never naming them: `subject` is a keyed pseudonym of their id. The
 * reservations they held are listed so that read models rewrite exactly those documents.
 */
export const CustomerErasedData = Type.Object(
  {
    subject: Type.String({ minLength: 1, maxLength: 64, pattern: "^[A-Za-z0-9_-]+$" }),
    reservationIds: Type.Array(ReservationId, { maxItems: 100_000 }),
    parkingLotIds: Type.Array(ParkingLotId, { maxItems: 100_000 }),
    /** Why (an operator's erasure; a customer's own has none). */
    reason: Type.Optional(Reason),
    erasedAt: Timestamp,
    /**
     * The process that erased could not list the reservations (a command-api without the read
     * models): the projectors' retention reactor lists them from the reservations read model and
     * records a second erasure fact that does (projections/retention/erasure-listing.ts).
     */
    unlisted: Type.Optional(Type.Literal(true)),
  },
  { ...strict, $id: "CustomerErased" },
);

/**
 * Issue 49, item 4: what a gate's camera read led to, one per read on its own short stream
 * (`gate-{lot}-{eventId}`, appended only if it does not exist: a repeated read finds it and is
 * answered alike). Holds no plate (personal data; the check-in/out it caused names the booking).
 */
export const GateEventRecordedData = Type.Object(
  {
    eventId: Identifier,
    parkingLotId: ParkingLotId,
    gateId: Identifier,
    direction: Type.Union([Type.Literal("entry"), Type.Literal("exit")]),
    confidence: Type.Number({ minimum: 0, maximum: 1 }),
    /** When the camera read the plate (the camera's clock). */
    at: Timestamp,
    decision: Type.Union([Type.Literal("open"), Type.Literal("deny"), Type.Literal("review")]),
    /** Why: CheckedIn, CheckedOut, a refusal's code, LowConfidence, SeveralBookings, NoStay. */
    reason: Type.String({ minLength: 1, maxLength: 64 }),
    reservationId: Type.Optional(ReservationId),
    /** The bookings a review concerns (the attendant chooses among them). */
    candidates: Type.Optional(Type.Array(ReservationId, { maxItems: 20 })),
    /** On an exit that opened: what the stay cost. */
    price: Type.Optional(Amount),
    recordedAt: Timestamp,
  },
  { ...strict, $id: "GateEventRecorded" },
);

/** Event type name → payload schema. The one table every codec and projector reads from. */
export const EventDataSchemas = {
  ParkingLotRegistered: ParkingLotRegisteredData,
  ParkingReserved: ParkingReservedData,
  ReservationCanceled: ReservationCanceledData,
  ReservationCheckedIn: ReservationCheckedInData,
  ReservationCheckedOut: ReservationCheckedOutData,
  ReservationNoShow: ReservationNoShowData,
  ParkingLotClosed: ParkingLotClosedData,
  ParkingLotClosureBegan: ParkingLotClosureBeganData,
  ParkingLotCapacityChanged: ParkingLotCapacityChangedData,
  ParkingLotRateChanged: ParkingLotRateChangedData,
  ParkingLotCustomerLimitChanged: ParkingLotCustomerLimitChangedData,
  ParkingLotPaymentTermsChanged: ParkingLotPaymentTermsChangedData,
  ParkingLotPlaceChanged: ParkingLotPlaceChangedData,
  ParkingLotCouponRuleChanged: ParkingLotCouponRuleChangedData,
  ...PaymentEventDataSchemas,
  CouponIssued: CouponIssuedData,
  CouponRevoked: CouponRevokedData,
  CouponRedeemed: CouponRedeemedData,
  CouponReturned: CouponReturnedData,
  CustomerErased: CustomerErasedData,
  GateEventRecorded: GateEventRecordedData,
} as const;

export type EventType = keyof typeof EventDataSchemas;
export const EVENT_TYPES = Object.keys(EventDataSchemas) as EventType[];

/** A domain event: its type and its validated payload, as a discriminated union. */
export type DomainEvent = {
  [K in EventType]: { readonly type: K; readonly data: Static<(typeof EventDataSchemas)[K]> };
}[EventType];

export type EventOfType<K extends EventType> = Extract<DomainEvent, { type: K }>;

/** Metadata carried by every event. */
export const EventMetadata = Type.Object(
  {
    correlationId: Identifier,
    causationId: Identifier,
    schemaVersion: Type.Integer({ minimum: 1, maximum: 1000 }),
    /** Who acted (events written before authentication have none). */
    actor: Type.Optional(Actor),
    /**
     * Since issue 22: the W3C trace context of the request that caused it, so that the processors
     * continue its trace (events written before have none).
     */
    traceparent: Type.Optional(Type.String({ pattern: "^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$" })),
  },
  { additionalProperties: true, $id: "EventMetadata" },
);
export type EventMetadata = Static<typeof EventMetadata>;

export const CURRENT_SCHEMA_VERSION = 1;
