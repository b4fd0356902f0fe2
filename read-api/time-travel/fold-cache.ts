import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import type { RecordedEvent } from "../../event-store/port.js";
import type { Position } from "../../event-store/position.js";
import type { Projection } from "../../projections/read-models/projection.js";
import { decodeEvent } from "../../schemas/event-codec.js";
import { stampMsOfRaw } from "../history/audit-entry.js";
import type { Cut } from "./as-of.js";
import type { CheckpointStore, StoredCheckpoint } from "./checkpoint-store.js";
import { FoldState } from "./fold-state.js";

/**
 * Folds of a log source (a lot's stream, or the whole log) up to a cut, with checkpoints: every
 * `every` events a fold passes, a copy of its state is kept, so that a later fold starts from the
 * last checkpoint before its cut and folds at most `every` events (once the checkpoints up to it
 * exist: the first fold of a long stream builds them). Kept in memory, for a bounded number of
 * sources, least recently used first out; the log is append-only, so a checkpoint never goes stale.
 *
 * With a CheckpointStore the checkpoints are also kept in the document store (written as they are
 * laid, deleted as they are let go of), so that a restarted process starts warm. A fold yields to
 * the event loop after every checkpoint's worth of events: a cold fold of a long stream never holds
 * the thread for more than `every` events. After a source's first answer, `layAhead` lays the rest
 * of its checkpoints in the background, in the same units.
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

/** A source kept in the store from before this process started, not loaded yet. */
const STORED = null;

const END: Cut = { kind: "position", commit: Number.POSITIVE_INFINITY };

export class FoldCache {
  /** Checkpoints by source, least recently used first (STORED: in the store, not loaded yet). */
  private readonly timelines = new Map<string, Checkpoint[] | typeof STORED>();
  private started: Promise<void> | undefined;
  private readonly loading = new Map<string, Promise<Checkpoint[]>>();
  /** Stored checkpoints already read, by source and count, until their source is loaded. */
  private readonly parsed = new Map<string, Map<number, Checkpoint>>();
  /** Sources whose checkpoints are being laid ahead, or were. */
  private readonly ahead = new Set<string>();

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
      /** Where checkpoints are kept across restarts (none: in memory only). */
      readonly store?: CheckpointStore;
    },
  ) {}

  private entries = 0;

  /** The sources the store keeps, known (least recently used first) before the first fold. */
  private start(): Promise<void> {
    this.started ??= (async () => {
      const stored = (await this.options.store?.sources()) ?? [];
      for (const key of stored) if (!this.timelines.has(key)) this.timelines.set(key, STORED);
      while (this.timelines.size > this.options.maxSources) this.evictOldest();
    })();
    return this.started;
  }

  private async timeline(source: FoldSource): Promise<Checkpoint[]> {
    await this.start();
    const key = source.key;
    const found = this.timelines.get(key);
    if (found) {
      this.timelines.delete(key);
      this.timelines.set(key, found);
      return found;
    }
    if (found === STORED) return this.load(source);
    const created: Checkpoint[] = [];
    this.timelines.set(key, created);
    while (this.timelines.size > this.options.maxSources) this.evictOldest();
    return created;
  }

  /** A source's checkpoints from the store (once, however many ask at the same time). */
  private load(source: FoldSource): Promise<Checkpoint[]> {
    const pending = this.loading.get(source.key);
    if (pending) return pending;
    const loaded = (async () => {
      const stored = (await this.options.store?.load(source.key)) ?? [];
      const checkpoints: Checkpoint[] = [];
      for (const c of stored) {
        checkpoints.push(this.parsedStored(source, c));
        // A stored checkpoint of a long stream takes milliseconds to read: let answers in between.
        await yieldToEventLoop();
      }
      this.parsed.delete(source.key);
      this.timelines.delete(source.key);
      this.timelines.set(source.key, checkpoints);
      for (const checkpoint of checkpoints) this.entries += checkpoint.state.size;
      while (this.timelines.size > this.options.maxSources) this.evictOldest();
      this.bound(checkpoints, source.key);
      return checkpoints;
    })().finally(() => this.loading.delete(source.key));
    this.loading.set(source.key, loaded);
    return loaded;
  }

  /**
   * A stored checkpoint, read into a state once per process: the answers that start from it while
   * its source is still loading (a restart's first minutes) share it, and the load takes it over.
   */
  private parsedStored(source: FoldSource, stored: StoredCheckpoint): Checkpoint {
    let byCount = this.parsed.get(source.key);
    if (!byCount) {
      byCount = new Map();
      this.parsed.set(source.key, byCount);
    }
    let checkpoint = byCount.get(stored.count);
    if (!checkpoint) {
      checkpoint = {
        count: stored.count,
        position: stored.position,
        stampMs: stored.stampMs,
        state: FoldState.fromData(source.projections, stored.data),
      };
      byCount.set(stored.count, checkpoint);
    }
    return checkpoint;
  }

  private evictOldest(): void {
    const oldest = this.timelines.keys().next().value as string;
    this.parsed.delete(oldest);
    const timeline = this.timelines.get(oldest);
    if (timeline === STORED) this.options.store?.forgetStored(oldest);
    else {
      for (const checkpoint of timeline ?? []) this.entries -= checkpoint.state.size;
      this.options.store?.forget(
        oldest,
        (timeline ?? []).map((c) => c.count),
      );
    }
    this.timelines.delete(oldest);
  }

  /** Keeps the checkpoints within maxEntries (see the options). */
  private bound(current: Checkpoint[], key: string): void {
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
      const dropped = current.filter((_c, i) => i % 2 === 0);
      for (const checkpoint of dropped) this.entries -= checkpoint.state.size;
      current.splice(0, current.length, ...kept);
      this.options.store?.drop(
        key,
        dropped.map((c) => c.count),
        kept.map((c) => c.count),
      );
    }
  }

  /**
   * The source folded up to `cut`: every event up to the first one beyond it. A source the store
   * keeps and this process has not loaded yet (after a restart) starts from its nearest stored
   * checkpoint, read alone: the rest are loaded when its checkpoints are laid ahead.
   */
  async fold(source: FoldSource, cut: Cut): Promise<Folded> {
    await this.start();
    const store = this.options.store;
    if (store && this.timelines.get(source.key) === STORED) {
      const nearest = await store.nearest(source.key, cut);
      const start = nearest && this.parsedStored(source, nearest);
      // Not this source's timeline: what this fold passes is not kept (laying ahead keeps it).
      return this.foldFrom(source, cut, start, []);
    }
    return this.foldKept(source, cut);
  }

  /** A fold from the source's checkpoints in this process (loaded from the store first, if kept there). */
  private async foldKept(source: FoldSource, cut: Cut): Promise<Folded> {
    const checkpoints = await this.timeline(source);
    let start: Checkpoint | undefined;
    for (const checkpoint of checkpoints) {
      if (!within(cut, checkpoint.position, checkpoint.stampMs)) break;
      start = checkpoint;
    }
    return this.foldFrom(source, cut, start, checkpoints);
  }

  private async foldFrom(
    source: FoldSource,
    cut: Cut,
    start: Checkpoint | undefined,
    checkpoints: Checkpoint[],
  ): Promise<Folded> {
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
      if (count % this.options.every === 0) {
        this.keep(source.key, checkpoints, { count, position, stampMs, state });
        // A unit of work done: let other requests in before the next.
        await yieldToEventLoop();
      }
    }
    return { state, position, stampMs: position ? stampMs : Number.NaN, folded };
  }

  /**
   * Lays the rest of a source's checkpoints (up to its end now) in the background, once per source
   * and process: after its first answer, so the answers after it fold at most `every` events
   * wherever they ask. Yields between units as a fold does; a failure costs only colder answers.
   */
  layAhead(source: FoldSource, onError: (error: unknown) => void = () => {}): void {
    if (this.ahead.has(source.key)) return;
    this.ahead.add(source.key);
    setImmediate(() => {
      this.foldKept(source, END).catch(onError);
    });
  }

  /** Checkpoint writes handed to the store so far done (tests, shutdown). */
  async settled(): Promise<void> {
    await this.options.store?.settled();
  }

  private keep(key: string, checkpoints: Checkpoint[], at: Checkpoint): void {
    let i = checkpoints.length;
    while (i > 0 && (checkpoints[i - 1] as Checkpoint).count > at.count) i--;
    if (checkpoints[i - 1]?.count === at.count) return;
    // The source was let go of while this fold ran: its checkpoints are no longer kept.
    if (this.timelines.get(key) !== checkpoints) return;
    const state = at.state.checkpointCopy(at.stampMs);
    checkpoints.splice(i, 0, { ...at, state });
    this.entries += state.size;
    this.options.store?.save(
      key,
      { count: at.count, position: at.position, stampMs: at.stampMs, data: state.toData() },
      checkpoints.map((c) => c.count),
    );
    this.bound(checkpoints, key);
  }

  /** Checkpoints kept per source (for operators and the bench). */
  stats(): { sources: number; checkpoints: number; entries: number } {
    let n = 0;
    for (const t of this.timelines.values()) n += t?.length ?? 0;
    return { sources: this.timelines.size, checkpoints: n, entries: this.entries };
  }
}
