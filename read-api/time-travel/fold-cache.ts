import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import type { RecordedEvent } from "../../event-store/port.js";
import type { Position } from "../../event-store/position.js";
import type { Projection } from "../../projections/read-models/projection.js";
import { decodeEvent } from "../../schemas/event-codec.js";
import { stampMsOfRaw } from "../history/audit-entry.js";
import type { Cut } from "./as-of.js";
import { type FoldIndexes, FoldState } from "./fold-state.js";
import { emptyLotFold, emptyLotFolds } from "./lot-fold.js";

/**
 * Folds of a log source (a lot's stream, or the whole log) up to a cut, with bounded work and
 * bounded memory (issue 34 item 4):
 *
 * - An answer starts from the nearest checkpoint at or before its cut (or from the source's start)
 *   and folds at most `maxFold` events. When the cut lies further than that from every start point,
 *   the answer is not computed: the fold lays its checkpoints (every `every` events) on the way and
 *   stops, and the caller is told to ask again (FoldTooFarError, answered 503 with Retry-After); the
 *   next request starts where this one stopped. However long the history, no request folds more
 *   than `maxFold` events, and the service computes nothing once its callers stop asking.
 * - Checkpoints live in this process's memory only (no second store on disk), each the size of the
 *   source's present (fold-state.ts prunes what ended long before; a lot's decider state carried
 *   along forgets its ended reservations, lot-fold.ts), counted in estimated bytes, documents and
 *   decider state together:
 *   at most `maxBytesPerSource` per source and `maxBytes` in all, the least recently used
 *   checkpoint out first (the one just laid stays, so a fold towards a far cut always progresses).
 *   The log is append-only, so a checkpoint never goes stale.
 */

export interface FoldSource {
  /** Identifies the source in the cache: `lot:{id}`, `all`. */
  readonly key: string;
  readonly projections: readonly Projection[];
  /** Whether the source is one lot's stream, whose decider state the fold carries along (lot-fold.ts). */
  readonly lot?: boolean;
  /** Whether the source is the whole log, every lot's decider state carried along (lot-fold.ts). */
  readonly lots?: boolean;
  /** The indexes its fold keeps beside the documents (memory-index.ts), for the views asked of it. */
  readonly indexes?: FoldIndexes;
  /**
   * The source's events after the first `count` (the last of which is at `position`), in log order,
   * at most `max` of them.
   */
  read(count: number, position: Position | null, max: number): AsyncIterable<RecordedEvent>;
}

interface Checkpoint {
  readonly key: string;
  /** Events folded into it. */
  readonly count: number;
  /** Position of its last event. */
  readonly position: Position | null;
  /** The latest stamp among its events. */
  readonly stampMs: number;
  readonly state: FoldState;
  /**
   * Its documents' and its lot's state's estimated size (what it shares with other checkpoints
   * counted in each: an upper bound).
   */
  readonly bytes: number;
  /** Of `bytes`, the lots' decider states and windows (lot-fold.ts). */
  readonly stateBytes: number;
  /** When it was last laid or started from (a tick of this cache): the least recent goes first. */
  used: number;
}

export interface Folded {
  readonly state: FoldState;
  /** Position of the last event folded; null when none was. */
  readonly position: Position | null;
  /** The latest stamp among the events folded (NaN when none was). */
  readonly stampMs: number;
  /** Events folded for this answer (after the checkpoint it started from). */
  readonly folded: number;
  /**
   * Whether the fold met an event beyond the cut: no event appended later can change what it
   * folded (positions and a lot's stamps only grow), so its answer is final.
   */
  readonly final: boolean;
}

/** The cut lies further than `maxFold` events from every start point: ask again (checkpoints laid meanwhile). */
export class FoldTooFarError extends Error {
  override name = "FoldTooFarError";
  constructor(readonly folded: number) {
    super(`${folded} events folded towards the moment asked; it lies further: ask again`);
  }
}

/** Events folded between two turns of the event loop given to other requests. */
const YIELD_EVERY = 25;

const within = (cut: Cut, position: Position | null, stampMs: number): boolean =>
  cut.kind === "position" ? (position?.commit ?? 0) <= cut.commit : !(stampMs > cut.ms);

/** What the checkpoints hold: `bytes` in all, of which `stateBytes` the lots' decider states. */
export interface CacheStats {
  readonly sources: number;
  readonly checkpoints: number;
  /** Documents. */
  readonly entries: number;
  readonly bytes: number;
  readonly stateBytes: number;
}

export interface FoldCacheOptions {
  /** Events between checkpoints. */
  readonly every: number;
  /** The most events one answer folds (a multiple of `every`, so each request lays checkpoints). */
  readonly maxFold: number;
  /** Estimated bytes of the checkpoints of one source. */
  readonly maxBytesPerSource: number;
  /** Estimated bytes of every checkpoint together. */
  readonly maxBytes: number;
}

export class FoldCache {
  /** Checkpoints by source, each list in count order. */
  private readonly sources = new Map<string, Checkpoint[]>();
  private bytes = 0;
  /** Counts the clears: a fold running across one lays no checkpoint (it may predate an erasure). */
  private generation = 0;
  private tick = 0;

  constructor(private readonly options: FoldCacheOptions) {}

  /** The source folded up to `cut` (every event up to the first one beyond it), or FoldTooFarError. */
  async fold(source: FoldSource, cut: Cut): Promise<Folded> {
    let start: Checkpoint | undefined;
    for (const checkpoint of this.sources.get(source.key) ?? []) {
      if (!within(cut, checkpoint.position, checkpoint.stampMs)) break;
      start = checkpoint;
    }
    if (start) start.used = ++this.tick;
    // A copy shares the checkpoint's maps and lot state (persistent: fold-state.ts), copying none.
    const state = start
      ? start.state.copy()
      : new FoldState(
          source.projections,
          source.lot ? emptyLotFold : null,
          source.lots ? emptyLotFolds : null,
          source.indexes,
        );
    let count = start?.count ?? 0;
    let position = start?.position ?? null;
    let stampMs = start?.stampMs ?? Number.NEGATIVE_INFINITY;
    let folded = 0;
    let final = false;
    const { every, maxFold } = this.options;
    const generation = this.generation;
    // One more than the bound: the event that says whether the cut was reached.
    for await (const raw of source.read(count, position, maxFold + 1)) {
      const stamp = stampMsOfRaw(raw.type, raw.data);
      if (!within(cut, raw.position, stamp)) {
        final = true;
        break;
      }
      if (folded >= maxFold) throw new FoldTooFarError(folded);
      state.apply(decodeEvent(raw));
      count++;
      folded++;
      position = raw.position;
      if (stamp > stampMs) stampMs = stamp;
      if (count % every === 0 && generation === this.generation)
        this.keep(source.key, { count, position, stampMs, state });
      // A slice of work done (a few milliseconds): let other requests in before the next.
      if (folded % YIELD_EVERY === 0) await yieldToEventLoop();
    }
    return { state, position, stampMs: position ? stampMs : Number.NaN, folded, final };
  }

  private keep(key: string, at: Pick<Checkpoint, "count" | "position" | "stampMs" | "state">): void {
    let checkpoints = this.sources.get(key);
    if (!checkpoints) {
      checkpoints = [];
      this.sources.set(key, checkpoints);
    }
    let i = checkpoints.length;
    while (i > 0 && (checkpoints[i - 1] as Checkpoint).count > at.count) i--;
    const same = checkpoints[i - 1];
    if (same?.count === at.count) {
      same.used = ++this.tick;
      return;
    }
    const state = at.state.checkpointCopy(at.stampMs);
    const laid: Checkpoint = {
      ...at,
      key,
      state,
      bytes: state.estimatedBytes(),
      stateBytes: state.lotStateBytes(),
      used: ++this.tick,
    };
    checkpoints.splice(i, 0, laid);
    this.bytes += laid.bytes;
    this.bound(checkpoints, laid);
  }

  /** Evicts the least recently used checkpoints (never `laid`) until both budgets hold. */
  private bound(source: Checkpoint[], laid: Checkpoint): void {
    const sum = (list: readonly Checkpoint[]) => list.reduce((n, c) => n + c.bytes, 0);
    let sourceBytes = sum(source);
    while (sourceBytes > this.options.maxBytesPerSource && source.length > 1) {
      sourceBytes -= this.evict(leastRecent(source, laid) as Checkpoint);
    }
    while (this.bytes > this.options.maxBytes) {
      let oldest: Checkpoint | undefined;
      for (const list of this.sources.values()) {
        const candidate = leastRecent(list, laid);
        if (candidate && (!oldest || candidate.used < oldest.used)) oldest = candidate;
      }
      if (!oldest) break;
      this.evict(oldest);
    }
  }

  private evict(checkpoint: Checkpoint): number {
    const list = this.sources.get(checkpoint.key) ?? [];
    list.splice(list.indexOf(checkpoint), 1);
    if (list.length === 0) this.sources.delete(checkpoint.key);
    this.bytes -= checkpoint.bytes;
    return checkpoint.bytes;
  }

  /** Drops every checkpoint: an erasure made what they folded out of date (issue 36). */
  clear(): void {
    this.sources.clear();
    this.bytes = 0;
    this.generation++;
  }

  /** What the checkpoints hold (for /metrics and the bench). */
  stats(): CacheStats {
    let checkpoints = 0;
    let entries = 0;
    let stateBytes = 0;
    for (const list of this.sources.values()) {
      checkpoints += list.length;
      for (const c of list) {
        entries += c.state.size;
        stateBytes += c.stateBytes;
      }
    }
    return { sources: this.sources.size, checkpoints, entries, bytes: this.bytes, stateBytes };
  }
}

function leastRecent(list: readonly Checkpoint[], except: Checkpoint): Checkpoint | undefined {
  let oldest: Checkpoint | undefined;
  for (const c of list) if (c !== except && (!oldest || c.used < oldest.used)) oldest = c;
  return oldest;
}
