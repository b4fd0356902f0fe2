import { performance } from "node:perf_hooks";

/**
 * Cooperative slices of the event loop. A read made of many store calls that each answer
 * synchronously (the embedded stores: SQLite in this thread) runs as one long turn of promise
 * continuations: no timer, socket or other request gets the loop until it ends, however long, so
 * one large page (a control center of 1,000 lots, ~100 ms of CPU) stalls every other caller for its
 * whole length. `yieldWhenLong` ends the turn (one `setImmediate`) once it has run `sliceMs`, so
 * other callers' I/O is served between a long read's slices and the loop's delay stays near the
 * slice; its CPU is unchanged, and a short call pays one `performance.now()`.
 *
 * How a turn is measured: the first call of a turn arms an immediate that marks its end; calls made
 * before that immediate runs belong to the same turn (promise continuations never let it run), and
 * the turn is taken to start at its first call (an underestimate, never an overestimate).
 */

/** The default slice: above a typical answer's whole CPU, far below what a caller would notice. */
export const TURN_SLICE_MS = 10;

let sliceStart = 0;
let armed = false;
const turnEnded = () => {
  armed = false;
};

/** Whether the current turn has run at least `sliceMs` since its first call here. */
export function turnIsLong(sliceMs = TURN_SLICE_MS): boolean {
  const now = performance.now();
  if (!armed) {
    armed = true;
    sliceStart = now;
    setImmediate(turnEnded);
    return false;
  }
  return now - sliceStart >= sliceMs;
}

/**
 * Lets the event loop serve others when the current turn has run `sliceMs`; otherwise returns at
 * once. After a yield the new turn is counted from here (what runs next may call nothing else here).
 */
export async function yieldWhenLong(sliceMs = TURN_SLICE_MS): Promise<void> {
  if (!turnIsLong(sliceMs)) return;
  await new Promise<void>((resolve) => setImmediate(resolve));
  turnIsLong(sliceMs);
}

/**
 * How many items `mapInChunks` has in flight at once by default: a chunk of a control center's lots
 * is ~2 ms of CPU. Five callers of 1,000-lot pages beside a cheap reader, 3 alternating runs
 * (bench/bounded-reads.ts --only crowd): 20 gave the reader p99 119–173 ms, 50 gave 201–277 ms.
 */
export const CHUNK_ITEMS = 20;

/**
 * `fn` over `items`, `size` at a time (each chunk concurrently), the results in the items' order,
 * letting the loop serve others before each chunk once the turn is long (`yieldWhenLong`). A fan-out
 * of one `Promise.all` over many items defeats the slices: the items' chains all park at the same
 * yield and all resume in the same turn of the loop, one step each, so one turn runs a step of every
 * item however many there are; here a turn runs at most a chunk's steps.
 */
export async function mapInChunks<T, R>(
  items: readonly T[],
  fn: (item: T) => Promise<R>,
  size = CHUNK_ITEMS,
): Promise<R[]> {
  const results: R[] = [];
  for (let i = 0; i < items.length; i += size) {
    await yieldWhenLong();
    results.push(...(await Promise.all(items.slice(i, i + size).map(fn))));
  }
  return results;
}
