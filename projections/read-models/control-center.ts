import type { Projection } from "./projection.js";

export const CONTROL_CENTER = "control_center";
export const TOTALS_ID = "totals";

/** The totals before any event. */
export const EMPTY_TOTALS = {
  parkingLots: 0,
  capacity: 0,
  availableSpots: 0,
  activeReservations: 0,
  totalReservations: 0,
  canceledReservations: 0,
  couponsIssued: 0,
  couponsRevoked: 0,
};

const bump = (collection: string, inc: Partial<typeof EMPTY_TOTALS>) =>
  [
    { op: "update", collection, id: TOTALS_ID, upsert: true, update: { $inc: { ...EMPTY_TOTALS, ...inc } } },
  ] as const;

/** Totals across every lot, kept as one document so the control center never aggregates. */
export const controlCenterProjection: Projection = {
  name: "control-center",
  collections: { [CONTROL_CENTER]: [] },
  eventTypes: new Set([
    "ParkingLotRegistered",
    "ParkingReserved",
    "ReservationCanceled",
    "CouponIssued",
    "CouponRevoked",
  ]),
  apply({ event }, collection) {
    const target = collection(CONTROL_CENTER);
    switch (event.type) {
      case "ParkingLotRegistered":
        return bump(target, {
          parkingLots: 1,
          capacity: event.data.capacity,
          availableSpots: event.data.capacity,
        });
      case "ParkingReserved":
        return bump(target, { availableSpots: -1, activeReservations: 1, totalReservations: 1 });
      case "ReservationCanceled":
        return bump(target, { availableSpots: 1, activeReservations: -1, canceledReservations: 1 });
      case "CouponIssued":
        return bump(target, { couponsIssued: 1 });
      case "CouponRevoked":
        return bump(target, { couponsRevoked: 1 });
      default:
        return [];
    }
  },
};
