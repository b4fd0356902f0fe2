import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import type { MutableDocument } from "../../document-store/embedded/update-semantics.js";
import type { Document, DocumentStore, WriteOp } from "../../document-store/port.js";
import type { Position } from "../../event-store/position.js";
import type { Cut } from "./as-of.js";

/**
 * Time-travel checkpoints kept in the document store (issue 22), in their own collection, so that
 * a restarted query process answers `asOf` warm: one document per checkpoint (its state's documents
 * by collection, already pruned to the lot's present) and one per source (when it was last used,
 * its furthest checkpoint), so the sources kept are bounded across restarts as in memory: the
 * cache deletes here what it lets go of there. Written beside the fold, in the background, in
 * order; a failed write is reported and costs only a colder answer later.
 */
export const TIME_TRAVEL_CHECKPOINTS = "time_travel_checkpoints";

export interface StoredCheckpoint {
  readonly count: number;
  readonly position: Position | null;
  readonly stampMs: number;
  readonly data: Record<string, MutableDocument[]>;
}

interface CheckpointDoc extends Document {
  readonly kind: "checkpoint";
  readonly source: string;
  readonly count: number;
  readonly position: Position | null;
  /** Null for no stamp (-Infinity). */
  readonly stampMs: number | null;
  readonly data: Record<string, MutableDocument[]>;
}

interface SourceDoc extends Document {
  readonly kind: "source";
  readonly source: string;
  readonly usedAt: number;
  readonly counts: number[];
}

/**
 * Checkpoints read at a time when a source is loaded (the thread is let go between pages): few, as
 * the load runs in the background beside the answers (a page of 25 of a 100,000-event lot held the
 * thread for 200 ms on a busy machine).
 */
const LOAD_PAGE = 5;

const stored = (d: CheckpointDoc): StoredCheckpoint => ({
  count: d.count,
  position: d.position,
  stampMs: d.stampMs ?? Number.NEGATIVE_INFINITY,
  data: d.data,
});

const checkpointId = (source: string, count: number) => `cp|${source}|${count}`;
const sourceId = (source: string) => `source|${source}`;

export class CheckpointStore {
  private queue: Promise<void> = Promise.resolve();
  private indexed: Promise<void> | undefined;

  constructor(
    private readonly store: DocumentStore,
    private readonly onError: (error: unknown) => void = () => {},
  ) {}

  private ready(): Promise<void> {
    this.indexed ??= this.store.ensureIndexes(TIME_TRAVEL_CHECKPOINTS, [
      { name: "by_source", keys: { kind: 1, source: 1, count: 1 } },
      { name: "by_use", keys: { kind: 1, usedAt: 1 } },
      // The nearest checkpoint at or before a cut, without reading the others (a restart's first answer).
      { name: "by_position", keys: { kind: 1, source: 1, "position.commit": 1 } },
      { name: "by_stamp", keys: { kind: 1, source: 1, stampMs: 1 } },
    ]);
    return this.indexed;
  }

  /** The sources kept, least recently used first. */
  async sources(): Promise<string[]> {
    await this.ready();
    const docs = await this.store.find<SourceDoc>(
      TIME_TRAVEL_CHECKPOINTS,
      { kind: "source" },
      { sort: { usedAt: 1 } },
    );
    return docs.map((d) => d.source);
  }

  /** A source's checkpoints, in order: read a page at a time, yielding between pages. */
  async load(source: string): Promise<StoredCheckpoint[]> {
    await this.ready();
    const loaded: StoredCheckpoint[] = [];
    for (let after = -1; ; ) {
      const docs = await this.store.find<CheckpointDoc>(
        TIME_TRAVEL_CHECKPOINTS,
        { kind: "checkpoint", source, count: { $gt: after } },
        { sort: { count: 1 }, limit: LOAD_PAGE },
      );
      for (const d of docs) loaded.push(stored(d));
      const last = docs.at(-1);
      if (!last || docs.length < LOAD_PAGE) return loaded;
      after = last.count;
      await yieldToEventLoop();
    }
  }

  /**
   * The source's last checkpoint within the cut (at or before its position, or stamped at or before
   * its instant), read alone; undefined when none is. A source's checkpoints grow in position and
   * stamp with their count, so the greatest one within is the nearest.
   */
  async nearest(source: string, cut: Cut): Promise<StoredCheckpoint | undefined> {
    await this.ready();
    const [doc] =
      cut.kind === "position"
        ? await this.store.find<CheckpointDoc>(
            TIME_TRAVEL_CHECKPOINTS,
            { kind: "checkpoint", source, "position.commit": { $lte: cut.commit } },
            { sort: { "position.commit": -1 }, limit: 1 },
          )
        : await this.store.find<CheckpointDoc>(
            TIME_TRAVEL_CHECKPOINTS,
            { kind: "checkpoint", source, stampMs: { $lte: cut.ms } },
            { sort: { stampMs: -1 }, limit: 1 },
          );
    return doc ? stored(doc) : undefined;
  }

  /** Keeps a checkpoint, and the source's list of them (`counts`: every one it has now). */
  save(source: string, checkpoint: StoredCheckpoint, counts: readonly number[]): void {
    const doc: Omit<CheckpointDoc, "_id"> = {
      kind: "checkpoint",
      source,
      count: checkpoint.count,
      position: checkpoint.position,
      stampMs: Number.isFinite(checkpoint.stampMs) ? checkpoint.stampMs : null,
      data: checkpoint.data,
    };
    this.enqueue([
      {
        op: "replace",
        collection: TIME_TRAVEL_CHECKPOINTS,
        id: checkpointId(source, checkpoint.count),
        document: doc,
      },
      this.sourceOp(source, counts),
    ]);
  }

  /** Forgets some of a source's checkpoints (`counts`: what it keeps). */
  drop(source: string, dropped: readonly number[], counts: readonly number[]): void {
    this.enqueue([...this.deletes(source, dropped), this.sourceOp(source, counts)]);
  }

  /** Forgets a source (`counts`: its checkpoints). */
  forget(source: string, counts: readonly number[]): void {
    this.enqueue([
      ...this.deletes(source, counts),
      { op: "delete", collection: TIME_TRAVEL_CHECKPOINTS, id: sourceId(source) },
    ]);
  }

  /** Forgets a source known only from the store (left from before a restart). */
  forgetStored(source: string): void {
    this.queue = this.queue
      .then(async () => {
        const doc = await this.store.findById<SourceDoc>(TIME_TRAVEL_CHECKPOINTS, sourceId(source));
        this.forget(source, doc?.counts ?? []);
      })
      .catch(this.onError);
  }

  /** Everything handed over so far written (tests, shutdown). */
  async settled(): Promise<void> {
    let seen: Promise<void> | undefined;
    while (seen !== this.queue) {
      seen = this.queue;
      await seen;
    }
  }

  private deletes(source: string, counts: readonly number[]): WriteOp[] {
    return counts.map((count) => ({
      op: "delete" as const,
      collection: TIME_TRAVEL_CHECKPOINTS,
      id: checkpointId(source, count),
    }));
  }

  private sourceOp(source: string, counts: readonly number[]): WriteOp {
    const doc: Omit<SourceDoc, "_id"> = { kind: "source", source, usedAt: Date.now(), counts: [...counts] };
    return { op: "replace", collection: TIME_TRAVEL_CHECKPOINTS, id: sourceId(source), document: doc };
  }

  private enqueue(ops: readonly WriteOp[]): void {
    this.queue = this.queue
      .then(() => this.ready())
      .then(() => this.store.write(ops))
      .catch(this.onError);
  }
}
