/**
 * A step function of time as a persistent tree of its changes: each node an instant and by how
 * much the count changes there (never 0: a change that cancels out leaves the tree), ordered by
 * instant, balanced as a treap whose priorities are a hash of the instant. The shape therefore
 * depends only on the set of changes, never on the order they came in: a tree updated change by
 * change is the very tree built from scratch. Every operation returns a new tree and shares the
 * untouched nodes with the old one (O(log n) new nodes), so the tree of a lot's earlier position
 * stays valid beside the next one's. Each node keeps its subtree's sum of changes and the highest
 * running sum within it, so the count at an instant, the highest count over a range and the
 * stretches over a threshold are O(log n) lookups (plus O(log n) per stretch). Pure, no domain.
 */
export interface StepNode {
  readonly at: number;
  readonly delta: number;
  readonly priority: number;
  readonly left: StepTree;
  readonly right: StepTree;
  /** The sum of the subtree's changes. */
  readonly sum: number;
  /** The highest running sum of the subtree's changes, in order, after one change at least. */
  readonly top: number;
  readonly first: number;
  readonly last: number;
  readonly size: number;
}

export type StepTree = StepNode | null;

const words = new Float64Array(1);
const halves = new Uint32Array(words.buffer);

/** A deterministic pseudo-random priority of an instant (a 32-bit mix of its bits). */
function priorityOf(at: number): number {
  words[0] = at;
  let h = Math.imul((halves[0] as number) ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13) ^ (halves[1] as number), 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h, 0x27d4eb2d);
  return (h ^ (h >>> 15)) >>> 0;
}

/** Whether a node of (priority, at) sits above node b (ties of priority broken by instant). */
const above = (
  priority: number,
  at: number,
  b: { readonly priority: number; readonly at: number },
): boolean => priority > b.priority || (priority === b.priority && at < b.at);

function node(at: number, delta: number, priority: number, left: StepTree, right: StepTree): StepNode {
  const leftSum = left ? left.sum : 0;
  let top = leftSum + delta;
  if (left && left.top > top) top = left.top;
  if (right && leftSum + delta + right.top > top) top = leftSum + delta + right.top;
  return {
    at,
    delta,
    priority,
    left,
    right,
    sum: leftSum + delta + (right ? right.sum : 0),
    top,
    first: left ? left.first : at,
    last: right ? right.last : at,
    size: (left ? left.size : 0) + 1 + (right ? right.size : 0),
  };
}

const rebuilt = (t: StepNode, left: StepTree, right: StepTree): StepNode =>
  node(t.at, t.delta, t.priority, left, right);

/** The changes before `at`, and those at or after it. */
function split(t: StepTree, at: number): [StepTree, StepTree] {
  if (!t) return [null, null];
  if (t.at < at) {
    const [l, r] = split(t.right, at);
    return [rebuilt(t, t.left, l), r];
  }
  const [l, r] = split(t.left, at);
  return [l, rebuilt(t, r, t.right)];
}

/** Two trees as one, every instant of `a` before every instant of `b`. */
function merge(a: StepTree, b: StepTree): StepTree {
  if (!a) return b;
  if (!b) return a;
  if (above(a.priority, a.at, b)) return rebuilt(a, a.left, merge(a.right, b));
  return rebuilt(b, merge(a, b.left), b.right);
}

/** The tree with the count changing by `delta` more at `at`. */
export function addStep(t: StepTree, at: number, delta: number): StepTree {
  if (delta === 0) return t;
  return add(t, at, delta, priorityOf(at));
}

function add(t: StepTree, at: number, delta: number, priority: number): StepTree {
  if (!t) return node(at, delta, priority, null, null);
  if (at === t.at) {
    const sum = t.delta + delta;
    return sum === 0 ? merge(t.left, t.right) : node(at, sum, priority, t.left, t.right);
  }
  // A node of this instant below t would have t's priority or less: none is there, put it here.
  if (above(priority, at, t)) {
    const [l, r] = split(t, at);
    return node(at, delta, priority, l, r);
  }
  return at < t.at
    ? rebuilt(t, add(t.left, at, delta, priority), t.right)
    : rebuilt(t, t.left, add(t.right, at, delta, priority));
}

/** The tree with a span [start, end) counted `times` more (an end of Infinity never comes). */
export function addSpan(t: StepTree, start: number, end: number, times = 1): StepTree {
  if (!(start < end)) return t;
  const started = addStep(t, start, times);
  return end === Number.POSITIVE_INFINITY ? started : addStep(started, end, -times);
}

/**
 * The tree of these changes (several at one instant add up; those that cancel out are left out),
 * built in O(n log n) for the sort and O(n) after it: the very tree `addStep` makes of them one by
 * one, in any order (a treap's shape is fixed by its instants and their priorities).
 */
export function stepTreeOf(changes: Iterable<readonly [number, number]>): StepTree {
  const sums = new Map<number, number>();
  for (const [at, delta] of changes) sums.set(at, (sums.get(at) ?? 0) + delta);
  const ats = [...sums.keys()].filter((at) => sums.get(at) !== 0).sort((a, b) => a - b);
  interface Draft {
    at: number;
    priority: number;
    left: Draft | null;
    right: Draft | null;
  }
  const stack: Draft[] = [];
  for (const at of ats) {
    const draft: Draft = { at, priority: priorityOf(at), left: null, right: null };
    let last: Draft | null = null;
    while (stack.length > 0 && above(draft.priority, at, stack.at(-1) as Draft)) last = stack.pop() as Draft;
    draft.left = last;
    const top = stack.at(-1);
    if (top) top.right = draft;
    stack.push(draft);
  }
  const freeze = (d: Draft | null): StepTree =>
    d ? node(d.at, sums.get(d.at) as number, d.priority, freeze(d.left), freeze(d.right)) : null;
  return freeze(stack[0] ?? null);
}

/** The sum of the changes at or before `at`. */
export function sumThrough(t: StepTree, at: number): number {
  let sum = 0;
  let n = t;
  while (n) {
    if (n.at <= at) {
      sum += (n.left ? n.left.sum : 0) + n.delta;
      n = n.right;
    } else n = n.left;
  }
  return sum;
}

/** The first instant with a change after `at` (Infinity when none). */
export function nextChange(t: StepTree, at: number): number {
  let next = Number.POSITIVE_INFINITY;
  let n = t;
  while (n) {
    if (n.at > at) {
      next = n.at;
      n = n.left;
    } else n = n.right;
  }
  return next;
}

interface Run {
  readonly sum: number;
  readonly top: number;
}

const join = (a: Run | null, b: Run | null): Run | null =>
  !a ? b : !b ? a : { sum: a.sum + b.sum, top: Math.max(a.top, a.sum + b.top) };

/** The sum and highest running sum of the changes strictly between `lo` and `hi`, in order. */
function runBetween(t: StepTree, lo: number, hi: number): Run | null {
  if (!t || t.last <= lo || t.first >= hi) return null;
  if (t.first > lo && t.last < hi) return t;
  const own = t.at > lo && t.at < hi ? { sum: t.delta, top: t.delta } : null;
  return join(join(runBetween(t.left, lo, hi), own), runBetween(t.right, lo, hi));
}

/** The highest sum through an instant strictly between `lo` and `hi` (-Infinity when no change is there). */
export function highestBetween(t: StepTree, lo: number, hi: number): number {
  const run = runBetween(t, lo, hi);
  return run ? sumThrough(t, lo) + run.top : Number.NEGATIVE_INFINITY;
}

/** Calls `visit` with each instant strictly between `lo` and `hi` whose sum through it is over `threshold`, in order. */
export function forEachAbove(
  t: StepTree,
  threshold: number,
  lo: number,
  hi: number,
  visit: (at: number) => void,
): void {
  const walk = (n: StepTree, before: number) => {
    if (!n || n.last <= lo || n.first >= hi || before + n.top <= threshold) return;
    walk(n.left, before);
    const through = before + (n.left ? n.left.sum : 0) + n.delta;
    if (n.at > lo && n.at < hi && through > threshold) visit(n.at);
    walk(n.right, through);
  };
  walk(t, 0);
}
