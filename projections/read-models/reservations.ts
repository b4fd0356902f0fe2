import type { Projection } from "./projection.js";

export const RESERVATIONS = "reservations";

/**
 * Each reservation with its status and its coupon's state. `seq` (the global position of the
 * ParkingReserved event) gives every list a stable order and an index-friendly cursor.
 */
export const reservationsProjection: Projection = {
  name: "reservations",
  collections: {
    [RESERVATIONS]: [
      { name: "by_seq", keys: { seq: -1 } },
      { name: "by_lot", keys: { parkingLotId: 1, seq: -1 } },
      { name: "by_customer", keys: { customerId: 1, seq: -1 } },
      { name: "by_status", keys: { status: 1, seq: -1 } },
      { name: "by_lot_status", keys: { parkingLotId: 1, status: 1, seq: -1 } },
      { name: "by_customer_status", keys: { customerId: 1, status: 1, seq: -1 } },
      { name: "by_lot_customer", keys: { parkingLotId: 1, customerId: 1, seq: -1 } },
      { name: "by_car", keys: { carNumber: 1, seq: -1 } },
      { name: "by_lot_car", keys: { parkingLotId: 1, carNumber: 1, seq: -1 } },
    ],
  },
  eventTypes: new Set(["ParkingReserved", "ReservationCanceled", "CouponIssued", "CouponRevoked"]),
  apply({ event, position }, collection) {
    const target = collection(RESERVATIONS);
    switch (event.type) {
      case "ParkingReserved":
        return [
          {
            op: "update",
            collection: target,
            id: event.data.reservationId,
            upsert: true,
            update: {
              $set: {
                ...event.data,
                status: "RESERVED",
                seq: position.commit,
                position: String(position.commit),
              },
            },
          },
        ];
      case "ReservationCanceled":
        return [
          {
            op: "update",
            collection: target,
            id: event.data.reservationId,
            update: {
              $set: {
                status: "CANCELED",
                canceledAt: event.data.canceledAt,
                cancelReason: event.data.reason,
              },
            },
          },
        ];
      case "CouponIssued":
        return [
          {
            op: "update",
            collection: target,
            id: event.data.reservationId,
            update: {
              $set: {
                coupon: { couponId: event.data.couponId, status: "ISSUED", issuedAt: event.data.issuedAt },
              },
            },
          },
        ];
      case "CouponRevoked":
        return [
          {
            op: "update",
            collection: target,
            id: event.data.reservationId,
            update: { $set: { "coupon.status": "REVOKED", "coupon.revokedAt": event.data.revokedAt } },
          },
        ];
      default:
        return [];
    }
  },
};
