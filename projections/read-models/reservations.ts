import { logOrderOf } from "../../event-store/position.js";
import type { DomainEvent } from "../../schemas/events.js";
import { ERASED } from "../../schemas/personal-data.js";
import { MAX_PLATE_SUFFIXES, plateSuffixes } from "../../schemas/plates.js";
import { spendableFromIssue } from "../../write-side/coupon/coupon.js";
import { paymentStream } from "../../write-side/payment/payment.js";
import { failedBecause } from "../../write-side/payment/payment-facts.js";
import { couponEffectOf } from "../coupon-policy/coupon-policy.js";
import { type CollectionOf, defineProjection, updateOne, upsertOne } from "./projection.js";

export const RESERVATIONS = "reservations";
/**
 * One document per suffix of each reservation's plate (schemas/plates.ts), with the reservation's
 * `seq`, lot and customer: a fragment of a plate is a prefix range over `suffix`.
 */
export const PLATE_SUFFIXES = "reservation_plates";

/** `heldUntil` of a reservation that holds its spot until someone ends it (ISO strings sort by time). */
export const HELD_OPEN_ENDED = "9999-12-31T23:59:59.999Z";

/** Whether the reservation's coupon is still to come: what the coupon policy makes of the event, never the rule restated. */
const couponDue = (event: DomainEvent): { couponDue?: boolean } => {
  const effect = couponEffectOf(event);
  return effect === undefined ? {} : { couponDue: effect !== "revoke" };
};

/** A fact of the booking's money that adds its `amount` to one of the payment's sums. */
const added =
  (sum: string) =>
  (
    { event }: { readonly event: { readonly data: { reservationId: string; amount: number } } },
    collection: CollectionOf,
  ) =>
    updateOne(collection, RESERVATIONS, event.data.reservationId, { $inc: { [sum]: event.data.amount } });

/** A charge taken (a capture, an off-session charge): its amount captured, and the failure it paid late no longer due. */
const collected = (
  {
    event,
  }: { readonly event: { readonly data: { reservationId: string; intentId: string; amount: number } } },
  collection: CollectionOf,
) =>
  updateOne(collection, RESERVATIONS, event.data.reservationId, {
    $inc: { "payment.captured": event.data.amount },
    $pull: { "payment.failures": { intentId: event.data.intentId } },
  });

/**
 * Each reservation with its status and its coupon's state. `seq` (the booking's place in log
 * order: logOrderOf, unique even within one commit) gives every list a stable order and cursor.
 * `heldFrom`/`heldUntil` are the span it holds a spot (cut short by a cancellation or a check-out;
 * a car past its window's end holds it until it checks out, which the query side adds): retention
 * reads it; availability is the lot's decider state, not these documents.
 */
export const reservationsProjection = defineProjection({
  name: "reservations",
  version: 8,
  collections: {
    [RESERVATIONS]: [
      { name: "by_seq", keys: { seq: -1 } },
      { name: "by_lot", keys: { parkingLotId: 1, seq: -1 } },
      { name: "by_customer", keys: { customerId: 1, seq: -1 } },
      { name: "by_status", keys: { status: 1, seq: -1 } },
      { name: "by_lot_status", keys: { parkingLotId: 1, status: 1, seq: -1 } },
      { name: "by_customer_status", keys: { customerId: 1, status: 1, seq: -1 } },
      { name: "by_lot_customer", keys: { parkingLotId: 1, customerId: 1, seq: -1 } },
      // Only the indexes a read plans onto.
    ],
    [PLATE_SUFFIXES]: [
      { name: "by_suffix", keys: { suffix: 1, seq: -1 } },
      { name: "by_lot_suffix", keys: { parkingLotId: 1, suffix: 1, seq: -1 } },
      { name: "by_customer_suffix", keys: { customerId: 1, suffix: 1, seq: -1 } },
    ],
  },
  on: {
    ParkingReserved: ({ event, position }, collection) => {
      // The event's `coupon` is the one the booking spent (`spentCoupon`); the document's is the
      // one it earns (CouponIssued below).
      const { payment, coupon: spent, ...data } = event.data;
      const { reservationId, parkingLotId, customerId, carNumber } = data;
      return [
        ...upsertOne(collection, RESERVATIONS, reservationId, {
          $set: {
            ...data,
            // A booking asked to pay waits for it; its money is kept beside (not the saved method).
            status: payment ? "PENDING_PAYMENT" : "RESERVED",
            ...couponDue(event),
            ...(spent ? { spentCoupon: spent } : {}),
            ...(payment
              ? {
                  payment: {
                    state: "pending",
                    amount: payment.amount,
                    currency: payment.currency,
                    holdUntil: payment.holdUntil,
                    authorized: 0,
                    captured: 0,
                    refunded: 0,
                    released: 0,
                    failures: [],
                  },
                }
              : {}),
            seq: logOrderOf(position),
            position: String(position.commit),
            heldFrom: event.data.startsAt ?? event.data.reservedAt,
            heldUntil: event.data.endsAt ?? HELD_OPEN_ENDED,
          },
        }),
        ...plateSuffixes(carNumber).flatMap((suffix, i) =>
          upsertOne(collection, PLATE_SUFFIXES, `${reservationId}~${i}`, {
            $set: { suffix, reservationId, parkingLotId, customerId, seq: logOrderOf(position) },
          }),
        ),
      ];
    },
    ReservationCanceled: ({ event }, collection) =>
      updateOne(collection, RESERVATIONS, event.data.reservationId, {
        $set: {
          status: "CANCELED",
          canceledAt: event.data.canceledAt,
          cancelReason: event.data.reason,
          ...couponDue(event),
        },
        // The spot is free from the cancellation on (a window canceled before it starts
        // ends before it begins, so it holds nothing).
        $min: { heldUntil: event.data.canceledAt },
      }),
    ReservationCheckedIn: ({ event }, collection) =>
      // heldUntil stays the window's end: a car in the lot past it (CHECKED_IN, heldUntil
      // passed) is overstaying, and the query side counts it as holding its spot until it
      // checks out, however long that is.
      updateOne(collection, RESERVATIONS, event.data.reservationId, {
        $set: { status: "CHECKED_IN", checkedInAt: event.data.checkedInAt },
      }),
    ReservationCheckedOut: ({ event }, collection) =>
      updateOne(collection, RESERVATIONS, event.data.reservationId, {
        $set: {
          status: "COMPLETED",
          checkedOutAt: event.data.checkedOutAt,
          // An open-ended stay on a lot with a rate is priced now; an overstay is charged now.
          ...(event.data.amount === undefined ? {} : { amount: event.data.amount }),
          ...(event.data.overstayCharge === undefined ? {} : { overstayCharge: event.data.overstayCharge }),
          ...couponDue(event),
        },
        $min: { heldUntil: event.data.checkedOutAt },
      }),
    ReservationNoShow: ({ event }, collection) =>
      // The window ended without the car: it held its spot over the window all the same.
      updateOne(collection, RESERVATIONS, event.data.reservationId, {
        $set: { status: "NO_SHOW", ...couponDue(event) },
      }),
    // The booking's money, as recorded. On a lot's own stream (before issue 48) an authorization
    // made its booking RESERVED; on the payment's stream the lot's ReservationConfirmed does.
    PaymentAuthorized: ({ event, streamId }, collection) =>
      updateOne(collection, RESERVATIONS, event.data.reservationId, {
        $set: {
          ...(streamId === paymentStream(event.data.reservationId) ? {} : { status: "RESERVED" }),
          "payment.state": "authorized",
          "payment.intentId": event.data.intentId,
          "payment.authorized": event.data.amount,
        },
        $unset: { "payment.failure": "" }, // issue 71: a declined try before it
      }),
    // A stay beyond a hold's lifetime: its card saved, nothing held until `authorizeAt`.
    PaymentCardSaved: ({ event }, collection) =>
      updateOne(collection, RESERVATIONS, event.data.reservationId, {
        $set: {
          "payment.state": "card-saved",
          "payment.authorizeAt": event.data.authorizeAt,
        },
        $unset: { "payment.actionDeadline": "", "payment.failure": "" },
      }),
    // The customer's try was declined: shown while they may try another card.
    PaymentAttemptFailed: ({ event }, collection) =>
      updateOne(collection, RESERVATIONS, event.data.reservationId, {
        $set: { "payment.failure": failedBecause({ ...event.data, reason: "declined" }) },
      }),
    // The hold before the stay waits for its customer.
    PaymentActionRequired: ({ event }, collection) =>
      updateOne(collection, RESERVATIONS, event.data.reservationId, {
        $set: {
          "payment.state": "action-required",
          "payment.intentId": event.data.intentId,
          "payment.actionDeadline": event.data.deadline,
        },
      }),
    // The provider let the hold go first: nothing is held.
    PaymentHoldLapsed: ({ event }, collection) =>
      updateOne(collection, RESERVATIONS, event.data.reservationId, {
        $set: { "payment.state": "lapsed", "payment.authorized": 0, "payment.lapsedAt": event.data.lapsedAt },
      }),
    ReservationConfirmed: ({ event }, collection) =>
      updateOne(collection, RESERVATIONS, event.data.reservationId, { $set: { status: "RESERVED" } }),
    PaymentFailed: ({ event }, collection) =>
      updateOne(collection, RESERVATIONS, event.data.reservationId, {
        $set: { "payment.state": "failed", "payment.failure": failedBecause(event.data) },
      }),
    PaymentCaptured: collected,
    OverstayCharged: collected,
    PaymentReleased: added("payment.released"),
    PaymentRefunded: added("payment.refunded"),
    PaymentStepFailed: ({ event }, collection) => {
      const { step, code, message, failedAt, amount, declineCode, intentId } = event.data;
      const more = {
        ...(amount !== undefined ? { amount } : {}),
        ...(declineCode ? { declineCode } : {}),
        ...(intentId ? { intentId } : {}), // the intent its customer may pay it with
      };
      return updateOne(collection, RESERVATIONS, event.data.reservationId, {
        $push: { "payment.failures": { step, code, message, at: failedAt, ...more } },
      });
    },
    CouponIssued: ({ event }, collection) => {
      const { couponId, issuedAt } = event.data;
      const spendableFrom = spendableFromIssue(event.data);
      return updateOne(collection, RESERVATIONS, event.data.reservationId, {
        $set: {
          coupon: { couponId, status: "ISSUED", issuedAt, ...(spendableFrom ? { spendableFrom } : {}) },
        },
      });
    },
    CouponEarned: ({ event }, collection) =>
      updateOne(collection, RESERVATIONS, event.data.reservationId, {
        $set: { "coupon.spendableFrom": event.data.spendableFrom },
      }),
    CouponRevoked: ({ event }, collection) =>
      updateOne(collection, RESERVATIONS, event.data.reservationId, {
        $set: { "coupon.status": "REVOKED", "coupon.revokedAt": event.data.revokedAt },
      }),
    CouponRedeemed: ({ event }, collection) =>
      updateOne(collection, RESERVATIONS, event.data.reservationId, {
        $set: { "coupon.status": "REDEEMED", "coupon.redeemedFor": event.data.redeemedFor },
      }),
    CouponReturned: ({ event }, collection) =>
      updateOne(collection, RESERVATIONS, event.data.reservationId, {
        $set: { "coupon.status": "ISSUED" },
        $unset: { "coupon.redeemedFor": "" },
      }),
    // The customer's id and plates are forgotten, and the plate's suffixes (which are the plate).
    CustomerErased: ({ event }, collection) =>
      event.data.reservationIds.flatMap((reservationId) => [
        ...updateOne(collection, RESERVATIONS, reservationId, {
          $set: { customerId: ERASED, carNumber: ERASED },
        }),
        // Every suffix document it may have (MAX_PLATE_SUFFIXES), by id.
        ...Array.from({ length: MAX_PLATE_SUFFIXES }, (_, i) => ({
          op: "delete" as const,
          collection: collection(PLATE_SUFFIXES),
          id: `${reservationId}~${i}`,
        })),
      ]),
  },
});
