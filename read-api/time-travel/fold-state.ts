import type { MutableDocument } from "../../document-store/embedded/update-semantics.js";
import { MemoryDocumentStore } from "../../document-store/memory/memory-document-store.js";
import { type DocumentStore, keyIndexes, type WriteOp } from "../../document-store/port.js";
import type { Position } from "../../event-store/position.js";
import {
  ACTIVITY_PREFIX,
  CLOSURE_PREFIX,
  CONTROL_CENTER,
} from "../../projections/read-models/control-center.js";
import { ENDS_PREFIX, STARTS_PREFIX } from "../../projections/read-models/control-center-clock.js";
import { LOT_FACTS, lotFactsProjection } from "../../projections/read-models/lot-facts.js";
import type { Projection } from "../../projections/read-models/projection.js";
import { PLATE_SUFFIXES, RESERVATIONS } from "../../projections/read-models/reservations.js";
import { checkpointOp, physicalCollection } from "../../projections/runtime/checkpoints.js";
import type { StoredDomainEvent } from "../../schemas/event-codec.js";
import type { RegisteredLot } from "../../write-side/parking-lot/decider.js";
import {
  foldLotEvent,
  foldLotsEvent,
  LOT_STATE_ENTRY_BYTES,
  type LotFold,
  type LotFolds,
  lotFoldEntries,
  lotFoldsEntries,
} from "./lot-fold.js";

/** The generation a fold writes (a fresh store has no other: the query side reads it by default). */
const GENERATION = 1;
const physical = (logical: string) => physicalCollection(logical, GENERATION);

/**
 * Documents that ended this long before a checkpoint's facts are left out of it: no view at or
 * after it reads them (the furthest back: the no-shows of the last 24 hours; the activity of the
 * last hour; closures and lot facts not over), and no later fact brings them back (an update of a
 * missing document without upsert changes nothing). Checkpoints stay the size of a lot's present.
 */
export const PRUNE_HORIZON_MS = 25 * 3_600_000;

/** The documents a fold starting at a period's opening writes from the lot's state there. */
export type OpeningSeed = (lot: RegisteredLot, collection: (logical: string) => string) => readonly WriteOp[];

/** The indexes a fold keeps, by logical collection: names its projections declare (what views walk). */
export type FoldIndexes = Readonly<Record<string, readonly string[]>>;

/**
 * Read models folded in memory: the projections' `apply` (pure: event → write ops) written to an
 * in-memory DocumentStore (document-store/memory/, which runs the contract suite), whose copy (a
 * checkpoint) shares every document and index node: not SQLite's `:memory:`, whose checkpoint is a
 * `serialize()` of the whole database and each answer one more (measured: docs/operations.md).
 * With `lot` (a lot's stream folded), the lot's decider state and its windows' step tree are
 * carried along (lot-fold.ts), persistent as well; with `lots` (the whole log), every lot's. Then
 * the lot facts' documents are not kept (no view reads them once each lot's state is carried).
 */
export class FoldState {
  private readonly store: MemoryDocumentStore;

  constructor(
    private readonly projections: readonly Projection[],
    private lotFold: LotFold | null = null,
    private lotFolds: LotFolds | null = null,
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

  /** The lot's decider state folded along (null unless made with one), up to the last event applied. */
  get lot(): LotFold | null {
    return this.lotFold;
  }

  /** Every lot's (null unless made with them). */
  get lots(): LotFolds | null {
    return this.lotFolds;
  }

  /** Folds one event through every projection that reacts to it (and the lot's state, if carried). */
  apply(stored: StoredDomainEvent): void {
    for (const projection of this.projections) {
      if (!projection.eventTypes.has(stored.event.type)) continue;
      // Every lot's state carried: the facts it is folded from are not kept as documents (see above).
      if (this.lotFolds && projection === lotFactsProjection) continue;
      this.write(projection.apply(stored, physical));
    }
    if (this.lotFold) this.lotFold = foldLotEvent(this.lotFold, stored);
    if (this.opening && this.lotFold?.state.kind === "registered" && stored.event.type === "LotPeriodOpened")
      this.write(this.opening(this.lotFold.state, physical));
    if (this.lotFolds) this.lotFolds = foldLotsEvent(this.lotFolds, stored);
  }

  write(ops: readonly WriteOp[]): void {
    // Not the plate search's index nor the instants windows start or end (control-center-clock.ts):
    // they serve only the live listing and the live control center's cache (which a fold never keeps:
    // no projection version, see boundariesCover), and they would grow checkpoints with the history.
    const kept = ops.filter(
      (op) =>
        op.collection !== physical(PLATE_SUFFIXES) &&
        !(op.collection === physical(CONTROL_CENTER) && op.op !== "deleteMany" && isBoundary(op.id)),
    );
    this.store.writeNow(kept);
  }

  /** A copy (everything shared), without what ended PRUNE_HORIZON_MS before `stampMs`. */
  checkpointCopy(stampMs: number): FoldState {
    const horizon = Number.isFinite(stampMs) ? new Date(stampMs - PRUNE_HORIZON_MS).toISOString() : "";
    const copy = this.copy();
    if (!horizon) return copy;
    const gone: WriteOp[] = [];
    for (const [collection, doc] of this.store.documents())
      if (ended(collection, doc, horizon)) gone.push({ op: "delete", collection, id: doc._id });
    copy.store.writeNow(gone);
    return copy;
  }

  /** A copy: the store's (copy-on-write: MemoryDocumentStore.copy) and the lot's state shared. */
  copy(): FoldState {
    const { projections, lotFold, lotFolds, indexes, opening } = this;
    return new FoldState(projections, lotFold, lotFolds, indexes, this.store.copy(), opening);
  }

  /** Every document, by collection. */
  documents(): Generator<[string, MutableDocument]> {
    return this.store.documents();
  }

  /** The documents' estimated size and the lots' states': an upper bound of a checkpoint's. */
  estimatedBytes(): number {
    return this.lotStateBytes() + this.store.estimatedBytes();
  }

  /** The lots' states' estimated size (0 without any): their entries at LOT_STATE_ENTRY_BYTES each. */
  lotStateBytes(): number {
    const entries =
      (this.lotFold ? lotFoldEntries(this.lotFold) : 0) +
      (this.lotFolds ? lotFoldsEntries(this.lotFolds) : 0);
    return entries * LOT_STATE_ENTRY_BYTES;
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

const isBoundary = (id: string): boolean => id.startsWith(STARTS_PREFIX) || id.startsWith(ENDS_PREFIX);

function ended(collection: string, doc: MutableDocument, horizon: string): boolean {
  // The lot's facts no view reads any more: the views fold those whose reach is past now.
  if (collection === physical(LOT_FACTS)) return typeof doc.reach === "string" && doc.reach < horizon;
  if (collection === physical(RESERVATIONS)) {
    return doc.status !== "CHECKED_IN" && typeof doc.heldUntil === "string" && doc.heldUntil < horizon;
  }
  if (collection === physical(CONTROL_CENTER)) {
    if (doc._id.startsWith(ACTIVITY_PREFIX)) return `${ACTIVITY_PREFIX}${horizon}` > doc._id;
    if (doc._id.startsWith(CLOSURE_PREFIX)) return typeof doc.until === "string" && doc.until < horizon;
  }
  return false;
}
