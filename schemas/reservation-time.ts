import { HOUR_MS, MAX_WINDOW_MS, quote } from "./pricing.js";

/**
 * The time rules of a reservation, in one pure module that the lot's decider (write side) and the
 * views (read side) both use, so that what a view shows and what a decision counts cannot drift
 * apart: the bounds of a window and a closure, the status a reservation has at an instant, the
 * spots a set of spans holds at its busiest instant, and what a stay costs. No I/O, no clock: every
 * function is told the instant it is about (epoch milliseconds).
 */

export { HOUR_MS, MAX_WINDOW_MS };

const MINUTE_MS = 60_000;

/** The documented bounds of reservation windows and closures (docs/domain.md). */
export const WINDOW_RULES = {
  /** How far in the past `startsAt` may be (clock skew between client and server). */
  maxSkewMs: 5 * MINUTE_MS,
  /** The shortest window, and how far in the future a window must end at least. */
  minLengthMs: 15 * MINUTE_MS,
  /** The longest window. Also what bounds the decider's overlap search. */
  maxLengthMs: MAX_WINDOW_MS,
  /** How far ahead a window (or a closure) may start. */
  maxLeadMs: 90 * 24 * HOUR_MS,
  /** The longest closure. */
  maxClosureMs: 31 * 24 * HOUR_MS,
  /** The most closures a lot keeps that have not ended yet. */
  maxPendingClosures: 20,
} as const;

/** Every status a reservation can be shown with. */
export const RESERVATION_STATUSES = [
  "RESERVED",
  "CHECKED_IN",
  "OVERSTAYING",
  "COMPLETED",
  "NO_SHOW",
  "CANCELED",
  // Since issue 38: booked, holding its spot exactly as RESERVED does, until its payment is
  // authorized (RESERVED), declined or its hold runs out (CANCELED).
  "PENDING_PAYMENT",
] as const;
export type ReservationStatus = (typeof RESERVATION_STATUSES)[number];

/**
 * The statuses events record. The clock adds the rest: a checked-in car past `endsAt` is
 * OVERSTAYING, a window over without a check-in is NO_SHOW, and an open-ended booking still
 * RESERVED when its lot's closure begins is CANCELED, at once, before the scheduler's event says so.
 */
export type RecordedStatus = Exclude<ReservationStatus, "OVERSTAYING">;

/** What the status of a reservation at an instant depends on. */
export interface TimedReservation {
  readonly status: RecordedStatus;
  readonly startsAt?: string | undefined;
  readonly endsAt?: string | undefined;
  /** An open-ended booking's: when its lot's next closure begins (it is canceled then). */
  readonly mustLeaveBy?: string | undefined;
}

const ms = (timestamp: string): number => Date.parse(timestamp);

/** The status a reservation has at `now`. */
export function statusAt(reservation: TimedReservation, now: number): ReservationStatus {
  const { status, endsAt, mustLeaveBy } = reservation;
  switch (status) {
    case "RESERVED":
    case "PENDING_PAYMENT":
      // A booking waiting for its payment follows the clock exactly as a booked one does.
      if (endsAt !== undefined) return ms(endsAt) <= now ? "NO_SHOW" : status;
      return mustLeaveBy !== undefined && ms(mustLeaveBy) <= now ? "CANCELED" : status;
    case "CHECKED_IN":
      return endsAt !== undefined && ms(endsAt) <= now ? "OVERSTAYING" : "CHECKED_IN";
    default:
      return status;
  }
}

/** Whether a reservation with this status (at some instant) holds or will hold a spot. */
export const isActive = (status: ReservationStatus): boolean =>
  status === "RESERVED" ||
  status === "PENDING_PAYMENT" ||
  status === "CHECKED_IN" ||
  status === "OVERSTAYING";

/** Whether a recorded status is a booking not yet used: RESERVED, or waiting for its payment. */
export const isBooked = (status: ReservationStatus): boolean =>
  status === "RESERVED" || status === "PENDING_PAYMENT";

/** A broken bound: the field and what is wrong with it, in words. */
export interface RuleBroken {
  readonly field: string;
  readonly detail: string;
}

/**
 * Checks a window [startsAt, endsAt) against the documented bounds at `now`; undefined when it is
 * fine. A booking and an availability quote refuse exactly the same windows with it.
 */
export function windowProblem(
  startsAt: number,
  endsAt: number,
  now: number,
  fields: { readonly start: string; readonly end: string } = { start: "startsAt", end: "endsAt" },
): RuleBroken | undefined {
  const broken = (field: string, detail: string): RuleBroken => ({ field, detail });
  if (Number.isNaN(startsAt)) return broken(fields.start, "is not a valid instant");
  if (Number.isNaN(endsAt)) return broken(fields.end, "is not a valid instant");
  if (startsAt < now - WINDOW_RULES.maxSkewMs)
    return broken(fields.start, "is in the past (at most 5 minutes before now is accepted)");
  if (startsAt > now + WINDOW_RULES.maxLeadMs) return broken(fields.start, "is more than 90 days ahead");
  if (endsAt <= startsAt) return broken(fields.end, `must be after ${fields.start}`);
  if (endsAt - startsAt < WINDOW_RULES.minLengthMs)
    return broken(fields.end, "makes the window shorter than 15 minutes");
  if (endsAt < now + WINDOW_RULES.minLengthMs)
    return broken(fields.end, "must be at least 15 minutes in the future");
  if (endsAt - startsAt > WINDOW_RULES.maxLengthMs)
    return broken(fields.end, "makes the window longer than 24 hours");
  return undefined;
}

/** Checks a closure [from, until) against the documented bounds at `now`. */
export function closureProblem(from: number, until: number, now: number): RuleBroken | undefined {
  const broken = (field: string, detail: string): RuleBroken => ({ field, detail });
  if (Number.isNaN(from)) return broken("from", "is not a valid instant");
  if (Number.isNaN(until)) return broken("until", "is not a valid instant");
  if (until <= from) return broken("until", "must be after from");
  if (until <= now) return broken("until", "is in the past");
  if (until - from > WINDOW_RULES.maxClosureMs)
    return broken("until", "makes the closure longer than 31 days");
  if (from > now + WINDOW_RULES.maxLeadMs) return broken("from", "is more than 90 days ahead");
  return undefined;
}

/** A span of time a reservation holds a spot, [start, end) in epoch ms (end may be Infinity). */
export interface Span {
  readonly start: number;
  readonly end: number;
}

export interface Peak {
  /** The most spans holding a spot at one instant of the range. */
  readonly held: number;
  /** The first instant at which that many are held (epoch ms); `from` when none are. */
  readonly at: number;
}

/**
 * Sweep: the most of `spans` holding a spot at one instant of [from, until), and the first instant
 * it happens. O(k log k). Spans that touch never overlap: [10, 12) and [12, 14) hold one spot.
 */
export function peak(spans: Iterable<Span>, from: number, until: number): Peak {
  const edges: [number, number][] = [];
  for (const { start, end } of spans) {
    const s = Math.max(start, from);
    const e = Math.min(end, until);
    if (s < e) edges.push([s, 1], [e, -1]);
  }
  // At equal instants an end comes before a start.
  edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let held = 0;
  let best: Peak = { held: 0, at: from };
  for (const [at, delta] of edges) {
    held += delta;
    if (held > best.held) best = { held, at };
  }
  return best;
}

/**
 * The earliest start of a closure that an open-ended booking made at `madeAt` must leave by
 * (a closure starting after it was made; one in force when it was made would have refused it),
 * among those that have not ended by `now`. Undefined when none is ahead.
 */
export function nextClosureStart(
  closures: Iterable<{ readonly from: string | number; readonly until: string | number }>,
  madeAt: number,
  now: number,
): number | undefined {
  let next: number | undefined;
  for (const closure of closures) {
    const from = typeof closure.from === "number" ? closure.from : ms(closure.from);
    const until = typeof closure.until === "number" ? closure.until : ms(closure.until);
    if (from >= madeAt && until > now && (next === undefined || from < next)) next = from;
  }
  return next;
}

/* ---------- prices ---------- */

/**
 * What checking out past the window's end costs: the minutes past `endsAt` at the lot's rate, with
 * the same rounding as a window (pro rata to the millisecond, rounded up to the minor unit). 0 when
 * the car left in time or the lot has no rate.
 */
export function overstayCharge(hourlyRate: number | undefined, endsAt: number, checkedOutAt: number): number {
  if (hourlyRate === undefined || checkedOutAt <= endsAt) return 0;
  return quote(hourlyRate, endsAt, checkedOutAt);
}

/**
 * The price of an open-ended stay on a lot with a rate, fixed at check-out: from check-in to
 * check-out at the rate, the same rounding; at least one minor unit.
 */
export function openEndedStayPrice(hourlyRate: number, checkedInAt: number, checkedOutAt: number): number {
  return Math.max(1, quote(hourlyRate, checkedInAt, Math.max(checkedInAt, checkedOutAt)));
}
