import { Map as ImmutableMap } from "immutable";
import { HOUR_MS, WINDOW_RULES } from "../../schemas/reservation-time.js";

/**
 * Which windowed reservations hold a spot when: a persistent index of intervals by the hour their
 * window starts in. A window is at most WINDOW_RULES.maxLengthMs long, so every window overlapping
 * [from, until) starts in [from - maxLength, until): finding them costs O(h log n) for the h hours
 * of the range (≤ 49 for a day), never a scan of the history. Buckets whose windows have all ended
 * are dropped as time passes (`pruneEnded`), so the index holds only windows that can still matter.
 */

export interface Interval {
  /** Epoch milliseconds, inclusive. */
  readonly start: number;
  /** Epoch milliseconds, exclusive. */
  readonly end: number;
}

export interface Occupancy {
  /** Hour index of the window's start → reservation id → its interval. */
  readonly buckets: ImmutableMap<number, ImmutableMap<string, Interval>>;
  /** Hour index below which every bucket has been dropped (all its windows ended). */
  readonly prunedBefore: number;
}

const hourOf = (ms: number): number => Math.floor(ms / HOUR_MS);

export const emptyOccupancy = (since: number): Occupancy => ({
  buckets: ImmutableMap(),
  prunedBefore: hourOf(since - WINDOW_RULES.maxSkewMs) - 1,
});

export function addWindow(occupancy: Occupancy, id: string, interval: Interval): Occupancy {
  const hour = hourOf(interval.start);
  const bucket = occupancy.buckets.get(hour) ?? ImmutableMap<string, Interval>();
  return { ...occupancy, buckets: occupancy.buckets.set(hour, bucket.set(id, interval)) };
}

export function removeWindow(occupancy: Occupancy, id: string, start: number): Occupancy {
  const hour = hourOf(start);
  const bucket = occupancy.buckets.get(hour);
  if (!bucket?.has(id)) return occupancy;
  const rest = bucket.delete(id);
  return {
    ...occupancy,
    buckets: rest.size ? occupancy.buckets.set(hour, rest) : occupancy.buckets.delete(hour),
  };
}

/** Whether the window of reservation `id` starting at `start` is still in the index (not pruned). */
export const isIndexed = (occupancy: Occupancy, id: string, start: number): boolean =>
  occupancy.buckets.get(hourOf(start))?.has(id) === true;

/** The interval of reservation `id`'s window starting at `start`, while the index holds it. */
export const indexedWindow = (occupancy: Occupancy, id: string, start: number): Interval | undefined =>
  occupancy.buckets.get(hourOf(start))?.get(id);

/**
 * The windows `next` no longer holds because it was pruned further than `prev` (pruneEnded), with
 * the hour each started in: what a step from `prev` to `next` dropped besides what it changed.
 */
export const droppedByPruning = (prev: Occupancy, next: Occupancy): [string, Interval][] =>
  bucketHours(prev, prev.prunedBefore, next.prunedBefore).flatMap((hour) => [
    ...(prev.buckets.get(hour) ?? []),
  ]);

/**
 * The hours in [first, end) that have a bucket, found by going through those hours or through the
 * buckets, whichever are fewer (a long or unbounded range: the buckets). No bucket is below
 * `prunedBefore`: a window starts after it, and pruning drops every bucket it passes.
 */
function bucketHours(occupancy: Occupancy, first: number, end: number): number[] {
  if (end - first > occupancy.buckets.size)
    return [...occupancy.buckets.keys()].filter((hour) => hour >= first && hour < end);
  const hours: number[] = [];
  for (let hour = first; hour < end; hour++) if (occupancy.buckets.has(hour)) hours.push(hour);
  return hours;
}

/** The windows that hold a spot at some instant of [from, until) (until may be Infinity). */
export function overlapping(occupancy: Occupancy, from: number, until: number): [string, Interval][] {
  const found: [string, Interval][] = [];
  const last = Number.isFinite(until) ? hourOf(until - 1) : Number.POSITIVE_INFINITY;
  for (const hour of bucketHours(occupancy, hourOf(from - WINDOW_RULES.maxLengthMs), last + 1))
    for (const [id, interval] of occupancy.buckets.get(hour) ?? [])
      if (interval.start < until && interval.end > from) found.push([id, interval]);
  return found;
}

/**
 * Drops the buckets whose windows have all ended by `now`, returning the ids so the caller forgets
 * them elsewhere: a bucket of hour h holds windows ending by (h + 1) hours + maxLength.
 */
export function pruneEnded(occupancy: Occupancy, now: number): { occupancy: Occupancy; ended: string[] } {
  const limit = hourOf(now - WINDOW_RULES.maxLengthMs) - 1; // buckets with hour < limit are over
  if (limit <= occupancy.prunedBefore) return { occupancy, ended: [] };
  const hours = bucketHours(occupancy, occupancy.prunedBefore, limit);
  const ended = hours.flatMap((hour) => [...(occupancy.buckets.get(hour)?.keys() ?? [])]);
  return { occupancy: { buckets: occupancy.buckets.deleteAll(hours), prunedBefore: limit }, ended };
}
