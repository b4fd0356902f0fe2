import {
  addSpan,
  forEachAbove,
  highestBetween,
  nextChange,
  type StepTree,
  stepTreeOf,
  sumThrough,
} from "../../platform/step-tree.js";
import type { Span } from "../../schemas/reservation-time.js";
import { droppedByPruning, indexedWindow, type Occupancy, overlapping } from "./occupancy.js";
import { heldBesideWindows } from "./rules.js";
import type { ParkingLotEvent, ParkingLotState, RegisteredLot } from "./state.js";

/**
 * The spots a lot holds over time as the decider counts them at `now`: the spans every decision
 * counts (`holding`, rules.ts) as a persistent step tree (platform/step-tree.ts), so the peak over
 * a range (a booking's decision, the timeline, the quote) is O(log n), as is each stretch over a
 * threshold (who an overstay puts at risk). The windows' part is carried from state to state
 * (`windowStepsAfter`); the rest (overstaying cars, open-ended bookings: at most the spots) is
 * added per build. The clock changes it only at `validUntil`, so a cache may keep it until then.
 */
export interface HeldTimeline {
  /** The first instant (epoch ms) from which the timeline built at `now` may count differently. */
  readonly validUntil: number;
  /** The most spots held at one instant of [from, until) (0 for an empty range). */
  peak(from: number, until: number): number;
  /** The spots held at `at`. */
  heldAt(at: number): number;
  /** The first instant after `at` at which the spots held may differ (a step, or validUntil). */
  heldChangesAfter(at: number): number;
  /** The stretches of [from, until) during which more than `threshold` spots are held, in order. */
  above(threshold: number, from: number, until: number): Span[];
}

/** The lot's windows (its occupancy index) as a step tree, built from scratch: O(n log n) (a sort). */
export function windowSteps(occupancy: Occupancy): StepTree {
  const changes: [number, number][] = [];
  for (const [, { start, end }] of overlapping(occupancy, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY))
    if (start < end) changes.push([start, 1], [end, -1]);
  return stepTreeOf(changes);
}

/**
 * The windows' step tree of `next` from that of `prev` (`steps`), where `next` is `prev` after one
 * event: the windows pruning dropped, and the window of the reservation the event names (added,
 * taken out or cut short), are the only ones that can differ. O(log n) for each.
 */
export function windowStepsAfter(
  steps: StepTree,
  prev: ParkingLotState,
  next: ParkingLotState,
  event: ParkingLotEvent,
): StepTree {
  if (next.kind !== "registered") return null;
  if (prev.kind !== "registered") return windowSteps(next.occupancy);
  const before = prev.occupancy;
  const after = next.occupancy;
  if (before === after) return steps;
  const changed = new Map<string, number>(); // id → the start its window is indexed at
  for (const [id, { start }] of droppedByPruning(before, after)) changed.set(id, start);
  const id = (event.data as { reservationId?: unknown }).reservationId;
  if (typeof id === "string") {
    const startsAt = (next.reservations.get(id) ?? prev.reservations.get(id))?.startsAt;
    if (startsAt !== undefined) changed.set(id, Date.parse(startsAt));
  }
  let out = steps;
  for (const [changedId, start] of changed) {
    const was = indexedWindow(before, changedId, start);
    const is = indexedWindow(after, changedId, start);
    if (was === is || (was && is && was.start === is.start && was.end === is.end)) continue;
    if (was) out = addSpan(out, was.start, was.end, -1);
    if (is) out = addSpan(out, is.start, is.end, 1);
  }
  return out;
}

/**
 * The lot's occupancy timeline at `now`: its windows' step tree (`windows`, kept up to date with
 * each fact by the caller; built here when not given) plus what holds a spot beside the windows
 * (`heldBesideWindows`: the overstaying cars, the open-ended bookings), added to a copy.
 */
export function heldTimeline(
  lot: RegisteredLot,
  now: number,
  windows: StepTree = windowSteps(lot.occupancy),
): HeldTimeline {
  const rest = heldBesideWindows(lot, Number.POSITIVE_INFINITY, now);
  let steps = windows;
  for (const { start, end } of rest.spans) steps = addSpan(steps, start, end);
  const always = rest.always;
  const heldAt = (at: number): number => always + sumThrough(steps, at);
  return {
    validUntil: changesAfter(lot, now),
    peak(from, until) {
      if (!(from < until)) return 0;
      return Math.max(heldAt(from), always + highestBetween(steps, from, until));
    },
    heldAt,
    heldChangesAfter: (at) => Math.min(nextChange(steps, at), changesAfter(lot, now)),
    above(threshold, from, until) {
      const out: Span[] = [];
      if (!(from < until)) return out;
      const push = (start: number) => {
        const end = Math.min(nextChange(steps, start), until);
        const prev = out.at(-1);
        if (prev && prev.end === start) out[out.length - 1] = { start: prev.start, end };
        else out.push({ start, end });
      };
      if (heldAt(from) > threshold) push(from);
      forEachAbove(steps, threshold - always, from, until, push);
      return out;
    },
  };
}

/**
 * After `now`, the first instant the clock changes what the lot holds: a car in the lot whose
 * window ends (it overstays from then on), or a closure's beginning (open-ended bookings still
 * RESERVED leave then). Infinity when none is ahead.
 */
function changesAfter(lot: RegisteredLot, now: number): number {
  let next = Number.POSITIVE_INFINITY;
  for (const car of lot.inLot.values()) if (car.endsAt > now && car.endsAt < next) next = car.endsAt;
  for (const c of lot.closures) if (!c.began && c.from > now && c.from < next) next = c.from;
  return next;
}
