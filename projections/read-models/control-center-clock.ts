import type { WriteOp } from "../../document-store/port.js";

/**
 * The instants at which the control center's figures of the moment may change with no event: a
 * window starts or ends (windows holding a spot, who is expected, who overstays, the last day's
 * no-shows all turn on a window's `startsAt` or on the end of the span it holds). The
 * control-center projection keeps one small document per such instant beside the totals,
 * `starts:{instant}:{reservationId}` and `ends:{instant}:{reservationId}`, so that "the next one
 * after t" is one seek on the ids, whatever the history. The query side caches the control center
 * until the next one passes (read-api/views/control-center-moment.ts).
 *
 * Only windows have any: an open-ended reservation's span ends with an event (a cancellation, a
 * check-out), never with the clock. An end cut short by a cancellation or a check-out gets its own
 * document (the span's new end); the window's planned end stays, one spare instant at worst.
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
