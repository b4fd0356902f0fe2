/**
 * What the watchdog thread (stall-watchdog-worker.ts) reads of the threads it watches, in shared
 * memory, so that it needs nothing from a thread that is blocked: each watched thread's heartbeat
 * (a counter it bumps from a timer, so it stops when its event loop stops), the stalls counted,
 * and the routes of the requests in flight (written at request start, cleared at its end: a few
 * stores, no message). Plain `Atomics` on a `SharedArrayBuffer`.
 */

/** The threads with a heartbeat: the main (request) thread, and the processors thread of ROLE=all. */
export const WATCHED_THREADS = ["main", "processors"] as const;
export type WatchedThread = (typeof WATCHED_THREADS)[number];

const SLOTS = 64;
const ROUTE_BYTES = 120;
/** Header (int32): a heartbeat per watched thread, then stalls counted, then the last request id. */
const STALLS = WATCHED_THREADS.length;
const LAST_ID = STALLS + 1;
const HEADER_INTS = LAST_ID + 1;

const HEADER_BYTES = 8 * Math.ceil((HEADER_INTS * 4) / 8);
const IDS_AT = HEADER_BYTES;
const LENGTHS_AT = IDS_AT + SLOTS * 4;
const STARTS_AT = LENGTHS_AT + SLOTS * 4; // 8-aligned: SLOTS is even
const ROUTES_AT = STARTS_AT + SLOTS * 8;
const SIZE = ROUTES_AT + SLOTS * ROUTE_BYTES;

/** A request in flight as the board holds it: its route and how long it has run. */
export interface InFlight {
  readonly route: string;
  readonly ms: number;
}

export class StallBoard {
  private readonly header: Int32Array;
  private readonly ids: Int32Array;
  private readonly lengths: Int32Array;
  private readonly starts: Float64Array;
  private readonly routes: Uint8Array;

  constructor(readonly buffer: SharedArrayBuffer = new SharedArrayBuffer(SIZE)) {
    this.header = new Int32Array(buffer, 0, HEADER_INTS);
    this.ids = new Int32Array(buffer, IDS_AT, SLOTS);
    this.lengths = new Int32Array(buffer, LENGTHS_AT, SLOTS);
    this.starts = new Float64Array(buffer, STARTS_AT, SLOTS);
    this.routes = new Uint8Array(buffer, ROUTES_AT, SLOTS * ROUTE_BYTES);
  }

  /** One beat of `thread`'s heartbeat (from a timer of that thread). */
  beat(thread: WatchedThread): void {
    Atomics.add(this.header, WATCHED_THREADS.indexOf(thread), 1);
  }

  /** `thread`'s heartbeat count (0: it never beat, so it is not watched yet). */
  beats(thread: WatchedThread): number {
    return Atomics.load(this.header, WATCHED_THREADS.indexOf(thread));
  }

  countStall(): void {
    Atomics.add(this.header, STALLS, 1);
  }

  get stalls(): number {
    return Atomics.load(this.header, STALLS);
  }

  /**
   * A request with `route` (a template, never a path with ids in it: it may be logged) has
   * started; the function returned says it ended. The last SLOTS requests in flight are kept.
   */
  enter(route: string): () => void {
    const id = (Atomics.add(this.header, LAST_ID, 1) + 1) & 0x7fffffff || 1;
    const slot = id % SLOTS;
    const at = slot * ROUTE_BYTES;
    const length = Math.min(route.length, ROUTE_BYTES);
    for (let i = 0; i < length; i++) this.routes[at + i] = route.charCodeAt(i) & 0x7f;
    this.lengths[slot] = length;
    this.starts[slot] = Date.now();
    Atomics.store(this.ids, slot, id);
    return () => {
      Atomics.compareExchange(this.ids, slot, id, 0);
    };
  }

  /** The requests in flight, the one that started last first (what a blocked thread last took up). */
  inFlight(now = Date.now()): InFlight[] {
    const found: { id: number; route: string; ms: number }[] = [];
    for (let slot = 0; slot < SLOTS; slot++) {
      const id = Atomics.load(this.ids, slot);
      if (id === 0) continue;
      const at = slot * ROUTE_BYTES;
      const route = String.fromCharCode(...this.routes.slice(at, at + this.lengths[slot]!));
      found.push({ id, route, ms: Math.max(0, Math.round(now - this.starts[slot]!)) });
    }
    return found.sort((a, b) => b.id - a.id).map(({ route, ms }) => ({ route, ms }));
  }
}
