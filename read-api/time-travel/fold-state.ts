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
import {
  foldLotEvent,
  foldLotsEvent,
  LOT_STATE_ENTRY_BYTES,
  type LotFold,
  type LotFolds,
  lotFoldEntries,
  lotFoldsEntries,
} from "./lot-fold.js";

/** The generation a throwaway fold writes (a fresh store has no other: the query side reads it by default). */
const GENERATION = 1;
const physical = (logical: string) => physicalCollection(logical, GENERATION);

/**
 * Reservations and control-center documents that ended this long before a checkpoint's facts are
 * left out of it: no view at or after the checkpoint reads them (the query side reads the
 * reservations whose span reaches past a day before now, or checked in: the no-shows of the last 24
 * hours are the furthest back; the activity of the last hour; the closures not over; the lot facts
 * whose `reach` is past now), and no later fact brings them back (an update of a missing
 * document without upsert changes nothing, as in the live store). Checkpoints stay the size of a
 * lot's present, not of its history.
 */
export const PRUNE_HORIZON_MS = 25 * 3_600_000;

/**
 * The indexes a fold keeps, by logical collection: names of indexes its projections declare (the
 * ones the views asked as of a moment walk, e.g. the lot page's listing).
 */
export type FoldIndexes = Readonly<Record<string, readonly string[]>>;

/**
 * Read models folded in memory: the very projections' `apply` (pure: event → write ops) with the
 * document store's own update semantics, so the result is what the live store would hold after the
 * same events. Never touches the live read models. They are written to and read from an
 * in-memory document store (document-store/memory/, an adapter that runs the document-store
 * contract), whose copy shares every document and index node with the original: a copy of the
 * state (a checkpoint, an answer starting from one) costs one entry per collection, and a write
 * after it makes O(log n) new nodes, never a copy of the maps. With `lot` (a lot's stream folded), the lot's
 * decider state and its windows' step tree are carried along too (lot-fold.ts), persistent as well;
 * with `lots` (the whole log folded), every lot's, by lot id. Then the lot facts' documents are not
 * kept (each lot's state is what they are folded into, and no view reads them once it is carried:
 * an answer starts each lot's views from its state), only the lot-facts projection's position.
 */
export class FoldState {
  private readonly store: MemoryDocumentStore;

  constructor(
    private readonly projections: readonly Projection[],
    private lotFold: LotFold | null = null,
    private lotFolds: LotFolds | null = null,
    private readonly indexes: FoldIndexes = {},
    store?: MemoryDocumentStore,
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

  /** Every lot's decider state folded along (null unless made with them), up to the last event applied. */
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
    if (this.lotFolds) this.lotFolds = foldLotsEvent(this.lotFolds, stored);
  }

  write(ops: readonly WriteOp[]): void {
    // The plate search's index serves only the live listing, never a view as of a moment: folding
    // it would make every checkpoint several times the size of the lot's present. Nor the instants
    // a window starts or ends (control-center-clock.ts): they serve only the live control center's
    // cache of its figures (control-center-moment.ts), which a view as of a moment never keeps (its
    // fold records no projection version: see boundariesCover), and they grow with the history
    // (one per window booked): every read of the control center's documents would scan them.
    const kept = ops.filter(
      (op) =>
        op.collection !== physical(PLATE_SUFFIXES) &&
        !(op.collection === physical(CONTROL_CENTER) && isBoundary(op.id)),
    );
    this.store.writeNow(kept);
  }

  /**
   * A copy (everything shared: see above), leaving out what ended PRUNE_HORIZON_MS before
   * `stampMs` (see above): a look at each document, new nodes only where some are left out.
   */
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
    return new FoldState(this.projections, this.lotFold, this.lotFolds, this.indexes, this.store.copy());
  }

  /** Every document, by collection. */
  documents(): Generator<[string, MutableDocument]> {
    return this.store.documents();
  }

  /**
   * The documents' estimated size (MemoryDocumentStore.estimatedBytes) and the lot's state at
   * LOT_STATE_ENTRY_BYTES an entry: an upper bound of what a checkpoint of this state holds (what
   * it shares with others counted in each).
   */
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

  /**
   * This state as a store, with the projections' checkpoints at `position`, for the query side to
   * read exactly as it reads the live one. The state is the store's from then on.
   */
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
