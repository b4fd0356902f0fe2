import { Type } from "@sinclair/typebox";
import { CouponId, CustomerId, ParkingLotId, Personal, ReservationId, Timestamp } from "./common.js";
import { byType, defineEvent } from "./event-definition.js";

/**
 * A reservation's coupon (issues 34 and 47), appended to the coupon's stream
 * (`coupon-<reservationId>`), each with its definition (schemas/event-definition.ts).
 */

const strict = { additionalProperties: false } as const;

export const CouponIssuedData = Type.Object(
  {
    couponId: CouponId,
    reservationId: ReservationId,
    parkingLotId: ParkingLotId,
    customerId: Personal(CustomerId),
    issuedAt: Timestamp,
    // Since issue 71: spendable only once its stay earns it (CouponEarned). Absent on coupons
    // issued before, which were spendable at once (and on one a check-out issued: earned).
    untilEarned: Type.Optional(Type.Literal(true)),
  },
  { ...strict, $id: "CouponIssued" },
);

export const CouponIssuedEvent = defineEvent({
  type: "CouponIssued",
  schema: CouponIssuedData,
  stream: "coupon",
  recordTime: "issuedAt",
  audit: (d, by) => `${by} issued coupon ${d.couponId} for reservation ${d.reservationId}`,
});

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

export const CouponRevokedEvent = defineEvent({
  type: "CouponRevoked",
  schema: CouponRevokedData,
  stream: "coupon",
  recordTime: "revokedAt",
  audit: (d, by) => `${by} revoked coupon ${d.couponId} of reservation ${d.reservationId}`,
});

/**
 * Since issue 71: the coupon's own stay earned it, so it is spendable from `spendableFrom` on: its
 * check-in plus the lot's minimum stay (`by: "check-in"`, which may be ahead of `earnedAt`), or its
 * check-out that kept it (`by: "check-out"`). A coupon issued `untilEarned` is spendable only after one.
 */
export const CouponEarnedData = Type.Object(
  {
    couponId: CouponId,
    reservationId: ReservationId,
    parkingLotId: ParkingLotId,
    customerId: Personal(CustomerId),
    by: Type.Union([Type.Literal("check-in"), Type.Literal("check-out")]),
    spendableFrom: Timestamp,
    earnedAt: Timestamp,
  },
  { ...strict, $id: "CouponEarned" },
);

export const CouponEarnedEvent = defineEvent({
  type: "CouponEarned",
  schema: CouponEarnedData,
  stream: "coupon",
  recordTime: "earnedAt",
  audit: (d, by) =>
    `${by} found coupon ${d.couponId} of reservation ${d.reservationId} earned by its ${d.by}: spendable from ${d.spendableFrom}`,
});

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

export const CouponRedeemedEvent = defineEvent({
  type: "CouponRedeemed",
  schema: CouponRedeemedData,
  stream: "coupon",
  recordTime: "redeemedAt",
  audit: (d, by) =>
    `${by} spent coupon ${d.couponId} of reservation ${d.reservationId} on reservation ${d.redeemedFor}`,
});

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

export const CouponReturnedEvent = defineEvent({
  type: "CouponReturned",
  schema: CouponReturnedData,
  stream: "coupon",
  recordTime: "returnedAt",
  audit: (d, by) =>
    `${by} returned coupon ${d.couponId} of reservation ${d.reservationId} (${d.reason} of ${d.redeemedFor})`,
});

/** The coupon's facts, by type. */
export const COUPON_EVENTS = byType(
  CouponIssuedEvent,
  CouponEarnedEvent,
  CouponRevokedEvent,
  CouponRedeemedEvent,
  CouponReturnedEvent,
);
