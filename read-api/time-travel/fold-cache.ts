import { decodeEvent } from "../../event-store/codec.js";
import type { RecordedEvent } from "../../event-store/port.js";
import type { Position } from "../../event-store/position.js";
import type { Projection } from "../../projections/read-models/projection.js";
import { stampMsOfRaw } from "../history/audit-entry.js";
import type { Cut } from "./as-of.js";
import { FoldState } from "./fold-state.js";

/**
 * Folds of a log source (a lot's stream, or the whole log) up to a cut, with checkpoints: every
 * `every` events a fold passes, a copy of its state is kept, so that a later fold starts from the
 * last checkpoint before its cut and folds at most `every` events (once the checkpoints up to it
 * exist: the first fold of a long stream builds them). Kept in memory, for a bounded number of
 * sources, least recently used first out; the log is append-only, so a checkpoint never goes stale.
 */

export interface FoldSource {
  /** Identifies the source in the cache: `lot:{id}`, `all`. */
  readonly key: string;
  readonly projections: readonly Projection[];
  /** The source's events after the first `count` (the last of which is at `position`), in log order. */
  read(count: number, position: Position | null): AsyncIterable<RecordedEvent>;
}

interface Checkpoint {
  /** Events folded into it. */
  readonly count: number;
  /** Position of its last event. */
  readonly position: Position | null;
  /** The latest stamp among its events. */
  readonly stampMs: number;
  readonly state: FoldState;
}

export interface Folded {
  readonly state: FoldState;
  /** Position of the last event folded; null when none was. */
  readonly position: Position | null;
  /** The latest stamp among the events folded (NaN when none was). */
  readonly stampMs: number;
  /** Events folded for this answer (after the checkpoint it started from). */
  readonly folded: number;
}

const within = (cut: Cut, position: Position | null, stampMs: number): boolean =>
  cut.kind === "position" ? (position?.commit ?? 0) <= cut.commit : !(stampMs > cut.ms);

export class FoldCache {
  private readonly timelines = new Map<string, Checkpoint[]>();

  constructor(
    private readonly options: {
      /** Events between checkpoints: the most a warm answer folds. */
      readonly every: number;
      /** Sources whose checkpoints are kept. */
      readonly maxSources: number;
      /**
       * Documents (map entries: the documents themselves are shared between checkpoints) all
       * checkpoints may hold together; past it, the least recently used sources go, and a source
       * alone past it keeps every other checkpoint (its answers then fold up to twice as many events).
       */
      readonly maxEntries?: number;
    },
  ) {}

  private entries = 0;

  private timeline(key: string): Checkpoint[] {
    const found = this.timelines.get(key);
    if (found) {
      this.timelines.delete(key);
      this.timelines.set(key, found);
      return found;
    }
    const created: Checkpoint[] = [];
    this.timelines.set(key, created);
    while (this.timelines.size > this.options.maxSources) this.evictOldest();
    return created;
  }

  private evictOldest(): void {
    const oldest = this.timelines.keys().next().value as string;
    for (const checkpoint of this.timelines.get(oldest) ?? []) this.entries -= checkpoint.state.size;
    this.timelines.delete(oldest);
  }

  /** Keeps the checkpoints within maxEntries (see the options). */
  private bound(current: Checkpoint[]): void {
    const max = this.options.maxEntries ?? Number.POSITIVE_INFINITY;
    while (
      this.entries > max &&
      this.timelines.size > 1 &&
      this.timelines.keys().next().value !== undefined
    ) {
      const oldest = this.timelines.keys().next().value as string;
      if (this.timelines.get(oldest) === current) break;
      this.evictOldest();
    }
    if (this.entries > max && current.length > 1) {
      const kept = current.filter((_c, i) => i % 2 === 1);
      for (const [i, checkpoint] of current.entries()) if (i % 2 === 0) this.entries -= checkpoint.state.size;
      current.splice(0, current.length, ...kept);
    }
  }

  /** The source folded up to `cut`: every event up to the first one beyond it. */
  async fold(source: FoldSource, cut: Cut): Promise<Folded> {
    const checkpoints = this.timeline(source.key);
    let start: Checkpoint | undefined;
    for (const checkpoint of checkpoints) {
      if (!within(cut, checkpoint.position, checkpoint.stampMs)) break;
      start = checkpoint;
    }
    const state = start ? start.state.copy() : new FoldState(source.projections);
    let count = start?.count ?? 0;
    let position = start?.position ?? null;
    let stampMs = start?.stampMs ?? Number.NEGATIVE_INFINITY;
    let folded = 0;
    for await (const raw of source.read(count, position)) {
      const stamp = stampMsOfRaw(raw.type, raw.data);
      if (!within(cut, raw.position, stamp)) break;
      state.apply(decodeEvent(raw));
      count++;
      folded++;
      position = raw.position;
      if (stamp > stampMs) stampMs = stamp;
      if (count % this.options.every === 0) this.keep(checkpoints, { count, position, stampMs, state });
    }
    return { state, position, stampMs: position ? stampMs : Number.NaN, folded };
  }

  private keep(checkpoints: Checkpoint[], at: Checkpoint): void {
    let i = checkpoints.length;
    while (i > 0 && (checkpoints[i - 1] as Checkpoint).count > at.count) i--;
    if (checkpoints[i - 1]?.count === at.count) return;
    const state = at.state.checkpointCopy(at.stampMs);
    checkpoints.splice(i, 0, { ...at, state });
    this.entries += state.size;
    this.bound(checkpoints);
  }

  /** Checkpoints kept per source (for operators and the bench). */
  stats(): { sources: number; checkpoints: number; entries: number } {
    let n = 0;
    for (const t of this.timelines.values()) n += t.length;
    return { sources: this.timelines.size, checkpoints: n, entries: this.entries };
  }
}
