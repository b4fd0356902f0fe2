import type { WriteOp } from "../../document-store/port.js";

/**
 * The instants the control center's figures may change with no event: a window starts or ends.
 * One document per instant, `starts:{instant}:{reservationId}` and `ends:…`, so "the next one
 * after t" is one seek on the ids; the query side caches the control center until it passes. An
 * end cut short gets its own document (the planned one stays: one spare instant at worst).
 */
/** The control-center projection's version that started keeping them. */
export const BOUNDARIES_SINCE = 2;

export const STARTS_PREFIX = "starts:";
export const ENDS_PREFIX = "ends:";
/** Above every id of its prefix (`;` follows `:`). */
export const prefixEnd = (prefix: string): string => `${prefix.slice(0, -1)};`;

const normal = (instant: string): string => new Date(instant).toISOString();
export const startsId = (instant: string, reservationId: string): string =>
  `${STARTS_PREFIX}${normal(instant)}:${reservationId}`;
export const endsId = (instant: string, reservationId: string): string =>
  `${ENDS_PREFIX}${normal(instant)}:${reservationId}`;

const mark = (collection: string, id: string, instant: string): WriteOp => ({
  op: "update",
  collection,
  id,
  upsert: true,
  update: { $set: { at: normal(instant) } },
});

/** A window booked: when it starts and when it ends. Nothing for an open-ended booking. */
export function windowBooked(
  collection: string,
  data: { reservationId: string; startsAt?: string; endsAt?: string },
): WriteOp[] {
  if (data.startsAt === undefined || data.endsAt === undefined) return [];
  return [
    mark(collection, startsId(data.startsAt, data.reservationId), data.startsAt),
    mark(collection, endsId(data.endsAt, data.reservationId), data.endsAt),
  ];
}

/** A window's span cut short at `at` (a cancellation, a check-out). Nothing for an open-ended one. */
export function windowEnded(
  collection: string,
  data: { reservationId: string; startsAt?: string },
  at: string,
): WriteOp[] {
  if (data.startsAt === undefined) return [];
  return [mark(collection, endsId(at, data.reservationId), at)];
}
