import type { DocumentStore } from "../../document-store/port.js";
import { ENDS_PREFIX, prefixEnd, STARTS_PREFIX } from "../../projections/read-models/control-center-clock.js";
import { HOUR_MS, MAX_WINDOW_MS } from "../../schemas/pricing.js";
import { iso } from "./rules.js";

/**
 * How long the control center's figures hold with no new fact: each clock-dependent condition
 * compares `now` with a window's start or end shifted by a fixed offset, so they hold until the first
 * `instant + offset` at or after `now`: one seek per offset on the boundaries (control-center-clock.ts).
 */
const OFFSETS: readonly { readonly prefix: string; readonly offset: number; readonly why: string }[] = [
  { prefix: STARTS_PREFIX, offset: 0, why: "a window starts holding a spot (startsAt ≤ now)" },
  { prefix: STARTS_PREFIX, offset: MAX_WINDOW_MS, why: "a window leaves the day they are looked for in" },
  { prefix: STARTS_PREFIX, offset: -HOUR_MS, why: "a window becomes expected (startsAt < now + 1 h)" },
  { prefix: STARTS_PREFIX, offset: HOUR_MS, why: "a window is no longer expected (startsAt ≥ now − 1 h)" },
  { prefix: ENDS_PREFIX, offset: 0, why: "a span ends: no longer held or expected, overstaying, a no-show" },
  { prefix: ENDS_PREFIX, offset: 24 * HOUR_MS, why: "a no-show leaves the last day's count" },
];

/** The first instant at or after `now` at which a window's start or end, shifted by an offset, falls. */
export async function nextWindowTurn(store: DocumentStore, collection: string, now: number): Promise<number> {
  const turns = await Promise.all(
    OFFSETS.map(async ({ prefix, offset }) => {
      const [first] = await store.find(
        collection,
        { _id: { $gte: `${prefix}${iso(now - offset)}`, $lt: prefixEnd(prefix) } },
        { sort: { _id: 1 }, limit: 1 },
      );
      return first === undefined ? Number.POSITIVE_INFINITY : Date.parse(String(first.at)) + offset;
    }),
  );
  return Math.min(...turns);
}

/** The first of `instants` at or after `now` (closures beginning or ending), or +∞. */
export function nextOf(instants: Iterable<string>, now: number): number {
  let next = Number.POSITIVE_INFINITY;
  for (const instant of instants) {
    const at = Date.parse(instant);
    if (at >= now && at < next) next = at;
  }
  return next;
}

/** The start of the minute after `now`'s: the last hour's activity moves on by a minute then. */
export const nextMinute = (now: number): number => (Math.floor(now / 60_000) + 1) * 60_000;

/**
 * Control-center answers kept until their figures can turn, keyed by what they were read from: a
 * key matches only while the read models are exactly as read (checkpoints only move forward), so a
 * cached answer is the one a fresh read would give.
 */
export class MomentCache<T> {
  private readonly entries = new Map<string, { value: T; from: number; until: number }>();
  constructor(private readonly capacity = 32) {}

  get(key: string, now: number): T | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (now >= entry.from && now < entry.until) return entry.value;
    if (now >= entry.until) this.entries.delete(key);
    return undefined;
  }

  set(key: string, value: T, from: number, until: number): void {
    if (!(until > from)) return;
    this.entries.delete(key);
    this.entries.set(key, { value, from, until });
    // The oldest key goes first (a Map iterates in insertion order); an empty map ends it.
    while (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
  }
}
