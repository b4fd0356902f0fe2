import type { MutableDocument } from "../../document-store/embedded/update-semantics.js";
import { MemoryDocumentStore } from "../../document-store/memory/memory-document-store.js";
import { type DocumentStore, keyIndexes, type WriteOp } from "../../document-store/port.js";
import type { Position } from "../../event-store/position.js";
import { endedBefore, keptInFold, pruneHorizon } from "../../projections/read-models/folded-documents.js";
import type { Projection } from "../../projections/read-models/projection.js";
import { checkpointOp, physicalCollection } from "../../projections/runtime/checkpoints.js";
import type { StoredDomainEvent } from "../../schemas/event-codec.js";
import { fold, type RegisteredLot } from "../../write-side/parking-lot/decider.js";

/** The generation a fold writes (a fresh store has no other: the query side reads it by default). */
const GENERATION = 1;
const physical = (logical: string) => physicalCollection(logical, GENERATION);
/** The collection a fold writes a logical collection's documents to. */
export const foldCollection = physical;

/** The documents a fold starting at a period's opening writes from the lot's state there. */
export type OpeningSeed = (lot: RegisteredLot, collection: (logical: string) => string) => readonly WriteOp[];

/** The indexes a fold keeps, by logical collection: names its projections declare (what views walk). */
export type FoldIndexes = Readonly<Record<string, readonly string[]>>;

/**
 * Read models folded in memory: the projections' `apply` (pure: event → write ops) written to an
 * in-memory DocumentStore (document-store/memory/, which runs the contract suite), whose copy (a
 * checkpoint) shares every document and index node: not SQLite's `:memory:`, whose checkpoint is a
 * `serialize()` of the whole database and each answer one more (measured: docs/operations.md).
 * The lots' decider states are not folded here: the views read them from the one loader
 * (read-api/views/lots-at.ts).
 */
export class FoldState {
  private readonly store: MemoryDocumentStore;

  constructor(
    private readonly projections: readonly Projection[],
    private readonly indexes: FoldIndexes = {},
    store?: MemoryDocumentStore,
    /** The documents a period's opening starts (a fold of one period: fold-cache.ts, FoldSource). */
    private readonly opening?: OpeningSeed,
  ) {
    if (store) {
      this.store = store;
      return;
    }
    this.store = new MemoryDocumentStore();
    for (const [logical, names] of Object.entries(indexes)) {
      const declared = keyIndexes(projections.flatMap((p) => p.collections[logical] ?? []));
      const specs = names.map((name) => {
        const spec = declared.find((s) => s.name === name);
        if (!spec) throw new Error(`no index ${name} declared on ${logical}`);
        return spec;
      });
      this.store.ensureIndexesNow(physical(logical), specs);
    }
  }

  /** Folds one event through every projection that reacts to it (a period's opening: its documents too). */
  apply(stored: StoredDomainEvent): void {
    for (const projection of this.projections) {
      if (!projection.eventTypes.has(stored.event.type)) continue;
      this.write(projection.apply(stored, physical));
    }
    if (this.opening && stored.event.type === "LotPeriodOpened") {
      // The opening's state as the decider reads it (an opening starts the lot's state afresh).
      const state = fold([stored.event]);
      if (state.kind === "registered") this.write(this.opening(state, physical));
    }
  }

  write(ops: readonly WriteOp[]): void {
    this.store.writeNow(ops.filter((op) => keptInFold(op, physical)));
  }

  /** A copy (everything shared), without what ended PRUNE_HORIZON_MS before `stampMs` (folded-documents.ts). */
  checkpointCopy(stampMs: number): FoldState {
    const horizon = pruneHorizon(stampMs);
    const copy = this.copy();
    if (!horizon) return copy;
    const gone: WriteOp[] = [];
    for (const [collection, doc] of this.store.documents())
      if (endedBefore(collection, doc, horizon, physical))
        gone.push({ op: "delete", collection, id: doc._id });
    copy.store.writeNow(gone);
    return copy;
  }

  /** A copy read as a fold of `projections` (their checkpoints, when materialized), `writes` written in. */
  joined(projections: readonly Projection[], writes: readonly WriteOp[]): FoldState {
    const copy = new FoldState(projections, this.indexes, this.store.copy());
    copy.store.writeNow(writes);
    return copy;
  }

  /** A copy: the store's (copy-on-write: MemoryDocumentStore.copy), everything shared. */
  copy(): FoldState {
    const { projections, indexes, opening } = this;
    return new FoldState(projections, indexes, this.store.copy(), opening);
  }

  /** Every document, by collection. */
  documents(): Generator<[string, MutableDocument]> {
    return this.store.documents();
  }

  /** The documents' estimated size: an upper bound of a checkpoint's. */
  estimatedBytes(): number {
    return this.store.estimatedBytes();
  }

  get size(): number {
    return this.store.size;
  }

  /** This state as a store, with the projections' checkpoints at `position`, read as the live one. */
  materialize(position: Position | null): DocumentStore {
    for (const projection of this.projections) {
      this.write([checkpointOp(projection.name, GENERATION, { position, state: "running" })]);
    }
    return this.store;
  }
}
