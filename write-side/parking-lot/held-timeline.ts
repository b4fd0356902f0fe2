import type { Span } from "../../schemas/reservation-time.js";
import { holding } from "./rules.js";
import type { RegisteredLot } from "./state.js";

/**
 * The spots a lot holds over time, as the decider counts them at `now`: a step function built once
 * from the same spans every decision counts (`holding` in rules.ts, over all time), with a segment
 * tree of maxima over its steps, so the peak over any [from, until) (what a booking is decided by,
 * what the timeline and the quote show) is a lookup, O(log n), and the stretches over a threshold
 * (who an overstay puts at risk) cost O(log n) each. Pure; built in O(n log n) for the n windows,
 * open-ended bookings and cars the lot holds, never its history.
 *
 * It changes with the lot's facts, and with the clock only at the instants listed in `validUntil`:
 * a car in the lot reaching the end of its window (it overstays from then on, for ever), and a
 * closure's beginning (the open-ended bookings still RESERVED stop holding). Until then it is
 * exact for every instant of every range, so a cache may keep it per (lot, position) until then.
 */
export interface HeldTimeline {
  /** The first instant (epoch ms) from which the timeline built at `now` may count differently. */
  readonly validUntil: number;
  /** The most spots held at one instant of [from, until) (0 for an empty range). */
  peak(from: number, until: number): number;
  /** The spots held at `at`. */
  heldAt(at: number): number;
  /** The stretches of [from, until) during which more than `threshold` spots are held, in order. */
  above(threshold: number, from: number, until: number): Span[];
}

export function heldTimeline(lot: RegisteredLot, now: number): HeldTimeline {
  const { spans, always } = holding(lot, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY, now);
  // The changes per instant (an end and a start at the same instant cancel: spans that touch never overlap).
  const deltas = new Map<number, number>();
  for (const { start, end } of spans) {
    if (!(start < end)) continue;
    deltas.set(start, (deltas.get(start) ?? 0) + 1);
    if (end !== Number.POSITIVE_INFINITY) deltas.set(end, (deltas.get(end) ?? 0) - 1);
  }
  const xs = [...deltas.keys()].sort((a, b) => a - b);
  // values[i]: held on [xs[i], xs[i+1]); before xs[0]: `always`.
  const values = new Float64Array(xs.length);
  let held = always;
  xs.forEach((x, i) => {
    held += deltas.get(x) ?? 0;
    values[i] = held;
  });
  const tree = new MaxTree(values);
  /** The step `at` falls in: -1 before the first change. */
  const stepOf = (at: number): number => {
    let lo = 0;
    let hi = xs.length; // first index with xs[i] > at
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((xs[mid] as number) <= at) lo = mid + 1;
      else hi = mid;
    }
    return lo - 1;
  };
  const valueAt = (step: number): number => (step < 0 ? always : (values[step] as number));
  const stepStart = (step: number): number => (step < 0 ? Number.NEGATIVE_INFINITY : (xs[step] as number));
  const stepEnd = (step: number): number =>
    step + 1 < xs.length ? (xs[step + 1] as number) : Number.POSITIVE_INFINITY;
  return {
    validUntil: changesAfter(lot, now),
    peak(from, until) {
      if (!(from < until)) return 0;
      const first = stepOf(from);
      const lastStep = lastBefore(xs, until);
      const top = valueAt(first);
      return lastStep > first ? Math.max(top, tree.max(first + 1, lastStep)) : top;
    },
    heldAt: (at) => valueAt(stepOf(at)),
    above(threshold, from, until) {
      const out: Span[] = [];
      if (!(from < until)) return out;
      const first = stepOf(from);
      const lastStep = Math.max(first, lastBefore(xs, until));
      const push = (step: number) => {
        const start = Math.max(stepStart(step), from);
        const end = Math.min(stepEnd(step), until);
        const prev = out.at(-1);
        if (prev && prev.end === start) out[out.length - 1] = { start: prev.start, end };
        else out.push({ start, end });
      };
      if (valueAt(first) > threshold) push(first);
      if (lastStep > first) tree.forEachAbove(threshold, first + 1, lastStep, push);
      return out;
    },
  };
}

/** The last index i with xs[i] < until (-1 when none). */
function lastBefore(xs: readonly number[], until: number): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((xs[mid] as number) < until) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
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

/** A segment tree of maxima over an array: the max of any index range, and every index over a threshold. */
class MaxTree {
  private readonly size: number;
  private readonly tree: Float64Array;
  constructor(values: Float64Array) {
    let size = 1;
    while (size < Math.max(1, values.length)) size *= 2;
    this.size = size;
    this.tree = new Float64Array(2 * size).fill(Number.NEGATIVE_INFINITY);
    this.tree.set(values, size);
    for (let i = size - 1; i >= 1; i--)
      this.tree[i] = Math.max(this.tree[2 * i] as number, this.tree[2 * i + 1] as number);
  }
  /** The max over indexes [lo, hi], both included. */
  max(lo: number, hi: number): number {
    let best = Number.NEGATIVE_INFINITY;
    let l = lo + this.size;
    let r = hi + this.size + 1;
    while (l < r) {
      if (l & 1) best = Math.max(best, this.tree[l++] as number);
      if (r & 1) best = Math.max(best, this.tree[--r] as number);
      l >>= 1;
      r >>= 1;
    }
    return best;
  }
  /** Calls `visit` with every index of [lo, hi] whose value is over `threshold`, in order. */
  forEachAbove(threshold: number, lo: number, hi: number, visit: (index: number) => void): void {
    const walk = (node: number, nodeLo: number, nodeHi: number) => {
      if (nodeHi < lo || nodeLo > hi || (this.tree[node] as number) <= threshold) return;
      if (nodeLo === nodeHi) return visit(nodeLo);
      const mid = (nodeLo + nodeHi) >> 1;
      walk(2 * node, nodeLo, mid);
      walk(2 * node + 1, mid + 1, nodeHi);
    };
    walk(1, 0, this.size - 1);
  }
}
