import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import type { WriteOp } from "../../document-store/port.js";
import type { RecordedEvent } from "../../event-store/port.js";
import type { Position } from "../../event-store/position.js";
import type { Projection } from "../../projections/read-models/projection.js";
import { decodeEvent } from "../../schemas/event-codec.js";
import { stampMsOfRaw } from "../../schemas/event-stamps.js";
import { type Cut, within } from "./as-of.js";
import { FoldState, foldCollection } from "./fold-state.js";

/**
 * Folds of a log source up to a cut, with bounded work and memory: an answer folds at most
 * `maxFold` events from the nearest checkpoint; further, it lays checkpoints on the way and throws
 * FoldTooFarError (503), and the next request starts there. Checkpoints are never stale (the log is
 * append-only), at most `maxBytesPerSource` per source and `maxBytes` in all, least recently used out.
 */

export interface FoldSource {
  /** Identifies the source in the cache: `books:{k}`. */
  readonly key: string;
  readonly projections: readonly Projection[];
  /** Where a source starts after the log's first event (a book), its documents by logical collection. */
  readonly start?: Pick<Checkpoint, "count" | "position" | "stampMs"> & {
    readonly documents: readonly WriteOp[];
  };
  /** The source's events after `position` (the log's first without), in order, at most `max`. */
  read(position: Position | null, max: number): AsyncIterable<RecordedEvent>;
}

interface Checkpoint {
  readonly key: string;
  /** Events folded into it, the last at `position`, the latest stamp among them `stampMs`. */
  readonly count: number;
  readonly position: Position | null;
  readonly stampMs: number;
  readonly state: FoldState;
  /** Its documents' estimated size (what it shares with others counted in each). */
  readonly bytes: number;
}

export interface Folded {
  readonly state: FoldState;
  /** Position of the last event folded and the latest stamp among them (null, NaN: none was). */
  readonly position: Position | null;
  readonly stampMs: number;
  /** Whether the fold met an event beyond the cut: no later event can change its answer. */
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

/** What the checkpoints hold: documents (`entries`), `bytes` in all. */
export interface CacheStats {
  readonly sources: number;
  readonly checkpoints: number;
  readonly entries: number;
  readonly bytes: number;
}

/** Events between checkpoints; the most one answer folds (a multiple); estimated bytes per source, in all. */
export interface FoldCacheOptions {
  readonly every: number;
  readonly maxFold: number;
  readonly maxBytesPerSource: number;
  readonly maxBytes: number;
}

export class FoldCache {
  /** Checkpoints by source, each list in count order. */
  private readonly sources = new Map<string, Checkpoint[]>();
  private bytes = 0;
  /** Counts the clears: a fold running across one lays no checkpoint (it may predate an erasure). */
  private generation = 0;
  /** Every checkpoint, the least recently laid or started from first (the first to go). */
  private readonly recent = new Set<Checkpoint>();

  constructor(private readonly options: FoldCacheOptions) {}

  /** The source folded up to `cut`, or FoldTooFarError after `limit` events (a checkpoint laid where it stopped). */
  async fold(source: FoldSource, cut: Cut, limit = this.options.maxFold): Promise<Folded> {
    let start: Checkpoint | undefined;
    for (const checkpoint of this.sources.get(source.key) ?? []) {
      if (!within(cut, checkpoint.position, checkpoint.stampMs)) break;
      start = checkpoint;
    }
    if (start) this.touch(start);
    // A copy shares the checkpoint's maps (persistent: fold-state.ts), copying none.
    const state = start ? start.state.copy() : new FoldState(source.projections);
    const seed = start ? [] : (source.start?.documents ?? []);
    state.write(seed.map((op) => ({ ...op, collection: foldCollection(op.collection) })));
    const from = start ?? source.start;
    let count = from?.count ?? 0;
    let position = from?.position ?? null;
    let stampMs = from?.stampMs ?? Number.NEGATIVE_INFINITY;
    let folded = 0;
    let final = false;
    const { every } = this.options;
    const generation = this.generation;
    // One more than the bound: the event that says whether the cut was reached.
    for await (const raw of source.read(position, limit + 1)) {
      const stamp = stampMsOfRaw(raw.type, raw.data);
      if (!within(cut, raw.position, stamp)) {
        final = true;
        break;
      }
      if (folded >= limit) {
        if (count % every !== 0 && generation === this.generation)
          this.keep(source.key, { count, position, stampMs, state });
        throw new FoldTooFarError(folded);
      }
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
    return { state, position, stampMs: position ? stampMs : Number.NaN, final };
  }

  private keep(key: string, at: Pick<Checkpoint, "count" | "position" | "stampMs" | "state">): void {
    const checkpoints = this.sources.get(key) ?? [];
    this.sources.set(key, checkpoints);
    let i = checkpoints.length;
    while (i > 0 && (checkpoints[i - 1] as Checkpoint).count > at.count) i--;
    const same = checkpoints[i - 1];
    if (same?.count === at.count) {
      this.touch(same);
      return;
    }
    const state = at.state.checkpointCopy(at.stampMs);
    const laid: Checkpoint = {
      ...at,
      key,
      state,
      bytes: state.estimatedBytes(),
    };
    checkpoints.splice(i, 0, laid);
    this.recent.add(laid);
    this.bytes += laid.bytes;
    this.bound(checkpoints, laid);
  }

  private touch(checkpoint: Checkpoint): void {
    this.recent.delete(checkpoint);
    this.recent.add(checkpoint);
  }

  /** Evicts the least recently used checkpoints (never `laid`): its source's, then any, until both budgets hold. */
  private bound(source: readonly Checkpoint[], laid: Checkpoint): void {
    let sourceBytes = source.reduce((n, c) => n + c.bytes, 0);
    for (const c of this.recent) {
      if (sourceBytes <= this.options.maxBytesPerSource) break;
      if (c.key === laid.key && c !== laid) sourceBytes -= this.evict(c);
    }
    for (const c of this.recent) {
      if (this.bytes <= this.options.maxBytes) break;
      if (c !== laid) this.evict(c);
    }
  }

  private evict(checkpoint: Checkpoint): number {
    const list = this.sources.get(checkpoint.key) ?? [];
    list.splice(list.indexOf(checkpoint), 1);
    if (list.length === 0) this.sources.delete(checkpoint.key);
    this.recent.delete(checkpoint);
    this.bytes -= checkpoint.bytes;
    return checkpoint.bytes;
  }

  /** Drops every checkpoint: an erasure made what they folded out of date. */
  clear(): void {
    this.sources.clear();
    this.recent.clear();
    this.bytes = 0;
    this.generation++;
  }

  /** What the checkpoints hold (for /metrics and the bench). */
  stats(): CacheStats {
    let entries = 0;
    for (const c of this.recent) entries += c.state.size;
    return { sources: this.sources.size, checkpoints: this.recent.size, entries, bytes: this.bytes };
  }
}
