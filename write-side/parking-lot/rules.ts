import {
  peak,
  type ReservationStatus,
  type Span,
  statusAt as statusOfReservation,
} from "../../schemas/reservation-time.js";
import { overlapping } from "./occupancy.js";
import type { Decision, ParkingLotEvent, RegisteredLot, Rejection, ReservationRecord } from "./state.js";

export const accept = (...events: ParkingLotEvent[]): Decision => ({ ok: true, events });
export const reject = (rejection: Rejection): Decision => ({ ok: false, rejection });

export const ms = (timestamp: string): number => Date.parse(timestamp);

/** A reservation's window, for the events that end it (projections tell windows apart by it). */
export const windowOf = (record: ReservationRecord | undefined) =>
  record?.startsAt && record.endsAt ? { startsAt: record.startsAt, endsAt: record.endsAt } : {};
export const iso = (epochMs: number): string => new Date(epochMs).toISOString();

/** The fields given a value: an event leaves an absent one out, never states it undefined. */
export const definedOf = <T extends object>(fields: T): Partial<T> =>
  Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)) as Partial<T>;

/** The fact that a booking was canceled at `at`, with its window. */
export const canceled = (
  parkingLotId: string,
  reservationId: string,
  record: ReservationRecord | undefined,
  reason: string,
  at: string,
): ParkingLotEvent => ({
  type: "ReservationCanceled",
  data: {
    reservationId,
    parkingLotId,
    customerId: record?.customerId ?? "",
    reason,
    canceledAt: at,
    ...windowOf(record),
  },
});

/**
 * When an open-ended booking made at `madeAt` and still RESERVED must leave: the start of the
 * earliest closure not yet begun that starts after it was made (its beginning cancels the booking).
 * Undefined while no closure is ahead of it.
 */
export function leaveAt(lot: RegisteredLot, madeAt: number): number | undefined {
  let at: number | undefined;
  for (const c of lot.closures)
    if (!c.began && c.from >= madeAt && (at === undefined || c.from < at)) at = c.from;
  return at;
}

/**
 * The status of reservation `id` of the lot at `now` (schemas/reservation-time.ts): a window over
 * without a check-in is NO_SHOW, a car past its window OVERSTAYING, an open-ended booking still
 * RESERVED when its lot's next closure after it was made begins CANCELED.
 */
export function statusIn(
  lot: RegisteredLot,
  id: string,
  record: ReservationRecord,
  now: number,
): ReservationStatus {
  const madeAt = lot.openEnded.get(id);
  const waiting = record.status === "RESERVED" || record.status === "PENDING_PAYMENT";
  if (!waiting || record.endsAt !== undefined || madeAt === undefined)
    return statusOfReservation(record, now);
  const at = leaveAt(lot, madeAt);
  // Its status alone (an open-ended booking has no window), not a spread: that would open a sealed record.
  return statusOfReservation(
    { status: record.status, ...(at !== undefined ? { mustLeaveBy: iso(at) } : {}) },
    now,
  );
}

/**
 * What holds a spot at some instant of [from, until), decided at `now`: spans, plus how many hold a
 * spot at every instant (`always`). The one statement of who holds a spot when, which `busiest`
 * (every decision) and the views' occupancy timeline (read side) both count:
 * - the windows of the index overlapping the range, each as it holds its spot (a canceled one is
 *   taken out; a checked-out one is kept cut short at its check-out, since it held the spot until
 *   then, which matters to a window starting up to the skew in the past);
 * - each overstaying car (in the lot past its window's end at `now`) from that end on, for ever:
 *   it holds its spot until it checks out, whenever that is; a car still within its window holds
 *   it over its window (its interval in the index), no further;
 * - the open-ended bookings: those in the lot for ever, those still RESERVED until the next
 *   closure begins (which cancels them); one whose closure is due already (not yet recorded) holds
 *   nothing: counted as of now, like every open-ended booking (docs/domain.md, "the skew minutes").
 * O(h log n + k) for the k windows found, plus the cars in the lot (at most the capacity).
 */
export function holding(
  lot: RegisteredLot,
  from: number,
  until: number,
  now: number,
): { spans: Span[]; always: number } {
  const held = heldBesideWindows(lot, until, now);
  for (const [, interval] of overlapping(lot.occupancy, from, until)) held.spans.push(interval);
  return held;
}

/**
 * What `holding` counts beside the index's windows: overstaying cars and open-ended bookings, for a
 * range ending at `until` (the read side's timeline adds these to its tree, held-timeline.ts).
 */
export function heldBesideWindows(
  lot: RegisteredLot,
  until: number,
  now: number,
): { spans: Span[]; always: number } {
  const spans: Span[] = [];
  let openEndedInLot = 0;
  for (const car of lot.inLot.values()) {
    if (car.endsAt === Number.POSITIVE_INFINITY) openEndedInLot++;
    else if (car.endsAt <= now) spans.push({ start: car.endsAt, end: Number.POSITIVE_INFINITY });
  }
  const reserved = lot.openEnded.size - openEndedInLot;
  const closing = reserved === 0 ? undefined : leaveAt(lot, Number.NEGATIVE_INFINITY);
  // No closure begins before the range ends (nor is one due already): every open-ended booking
  // holds a spot at every instant of it, one number.
  if (closing === undefined || (closing >= until && closing > now))
    return { spans, always: lot.openEnded.size };
  // A closure begins within the range: each booking still RESERVED holds its spot until the first
  // closure after it was made (all the same one, but while the scheduler is behind).
  for (const [id, madeAt] of lot.openEnded) {
    if (lot.inLot.has(id)) continue;
    const end = leaveAt(lot, madeAt) ?? Number.POSITIVE_INFINITY;
    if (end > now) spans.push({ start: Number.NEGATIVE_INFINITY, end });
  }
  return { spans, always: openEndedInLot };
}

/** The spots held at the busiest instant of [from, until), decided at `now` (see `holding`). O(k log k) more. */
export function busiest(lot: RegisteredLot, from: number, until: number, now: number) {
  const { spans, always } = holding(lot, from, until, now);
  const top = peak(spans, from, until);
  return { held: top.held + always, at: top.at };
}
