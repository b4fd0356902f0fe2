import { windowBooked, windowEnded } from "./control-center-clock.js";
import { defineProjection, updateOne, upsertOne } from "./projection.js";

export const CONTROL_CENTER = "control_center";
export const TOTALS_ID = "totals";

/**
 * The totals before any event. Spots free and held *now* are computed by the query side when asked
 * (windows start and end without events), from `openEndedHeld` (the open-ended reservations
 * holding a spot: only events start and end those) and the windows holding a spot at that instant.
 */
export const EMPTY_TOTALS = {
  parkingLots: 0,
  capacity: 0,
  openEndedHeld: 0,
  totalReservations: 0,
  canceledReservations: 0,
  couponsIssued: 0,
  couponsRevoked: 0,
};

/**
 * One document per closure, `closure:{until}:{parkingLotId}:{closureId}`: ordered by when it ends, so the closures
 * not over at an instant are one range of ids (the query side subtracts the lots closed now from
 * the free spots), however many closures the lots have had.
 */
export const CLOSURE_PREFIX = "closure:";
export const closureId = (until: string, parkingLotId: string, id: string): string =>
  `${CLOSURE_PREFIX}${until}:${parkingLotId}:${id}`;
/** Above every closure id (`;` follows `:`). */
export const CLOSURE_ID_END = "closure;";

/** Each lot's coupon counts, `coupons:{parkingLotId}`: staff scoped to lots see theirs, never the totals. */
export const LOT_COUPONS_PREFIX = "coupons:";
export const lotCouponsId = (parkingLotId: string): string => `${LOT_COUPONS_PREFIX}${parkingLotId}`;

/** Per-minute activity documents are `minute:YYYY-MM-DDTHH:MM` (UTC), so a range of `_id`s is a time range. */
export const ACTIVITY_PREFIX = "minute:";
export const activityId = (minute: string): string => `${ACTIVITY_PREFIX}${minute}`;
/** The UTC minute of an ISO timestamp, e.g. `2026-11-22T11:05`. */
export const minuteOf = (timestamp: string): string => new Date(timestamp).toISOString().slice(0, 16);

const bump = (collection: string, inc: Partial<typeof EMPTY_TOTALS>) =>
  ({
    op: "update",
    collection,
    id: TOTALS_ID,
    upsert: true,
    update: { $inc: { ...EMPTY_TOTALS, ...inc } },
  }) as const;

/** A coupon counted in the totals and in its lot's own counts. */
const couponCounted = (
  collection: string,
  parkingLotId: string,
  field: "couponsIssued" | "couponsRevoked",
) => [
  bump(collection, { [field]: 1 }),
  {
    op: "update",
    collection,
    id: lotCouponsId(parkingLotId),
    upsert: true,
    update: { $setOnInsert: { parkingLotId }, $inc: { couponsIssued: 0, couponsRevoked: 0, [field]: 1 } },
  } as const,
];

/** Counts one reservation or cancellation in the minute it happened (by the event's own time). */
const countIn = (collection: string, timestamp: string, field: "reserved" | "canceled") => {
  const minute = minuteOf(timestamp);
  return {
    op: "update",
    collection,
    id: activityId(minute),
    upsert: true,
    update: { $setOnInsert: { minute }, $inc: { reserved: 0, canceled: 0, [field]: 1 } },
  } as const;
};

/**
 * Totals across every lot in one document (the control center never aggregates), beside one per
 * minute of activity, the instants windows start or end (control-center-clock.ts) and each lot's
 * coupon counts.
 */
export const controlCenterProjection = defineProjection({
  name: "control-center",
  version: 4,
  collections: {
    [CONTROL_CENTER]: [
      // The closures not begun yet, by their `from` (`due`, unset once begun): those due by now are
      // the ones whose beginning the clock has brought and the scheduler has yet to record.
      { name: "by_due", keys: { due: 1 } },
    ],
  },
  on: {
    ParkingLotRegistered: ({ event }, collection) => [
      bump(collection(CONTROL_CENTER), { parkingLots: 1, capacity: event.data.capacity }),
    ],
    ParkingLotCapacityChanged: ({ event }, collection) => [
      bump(collection(CONTROL_CENTER), { capacity: event.data.capacity - event.data.previousCapacity }),
    ],
    ParkingLotClosed: ({ event }, collection) => {
      const { parkingLotId, closureId: id, from, until } = event.data;
      const [start, end] = [new Date(from).toISOString(), new Date(until).toISOString()];
      return upsertOne(collection, CONTROL_CENTER, closureId(end, parkingLotId, id), {
        $set: { parkingLotId, from: start, until: end, due: start },
      });
    },
    ParkingLotClosureBegan: ({ event }, collection) => {
      const { parkingLotId, closureId: id, until } = event.data;
      const closure = closureId(new Date(until).toISOString(), parkingLotId, id);
      return updateOne(collection, CONTROL_CENTER, closure, { $unset: { due: "" } });
    },
    ParkingReserved: ({ event }, collection) => {
      const target = collection(CONTROL_CENTER);
      return [
        bump(target, { totalReservations: 1, openEndedHeld: event.data.startsAt ? 0 : 1 }),
        countIn(target, event.data.reservedAt, "reserved"),
        ...windowBooked(target, event.data),
      ];
    },
    ReservationCanceled: ({ event }, collection) => {
      const target = collection(CONTROL_CENTER);
      return [
        bump(target, { canceledReservations: 1, openEndedHeld: event.data.startsAt ? 0 : -1 }),
        countIn(target, event.data.canceledAt, "canceled"),
        ...windowEnded(target, event.data, event.data.canceledAt),
      ];
    },
    ReservationCheckedOut: ({ event }, collection) => {
      const target = collection(CONTROL_CENTER);
      return [
        bump(target, { openEndedHeld: event.data.startsAt ? 0 : -1 }),
        ...windowEnded(target, event.data, event.data.checkedOutAt),
      ];
    },
    CouponIssued: ({ event }, collection) =>
      couponCounted(collection(CONTROL_CENTER), event.data.parkingLotId, "couponsIssued"),
    CouponRevoked: ({ event }, collection) =>
      couponCounted(collection(CONTROL_CENTER), event.data.parkingLotId, "couponsRevoked"),
  },
});
