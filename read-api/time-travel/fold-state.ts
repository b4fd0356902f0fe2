import {
  applyUpdate,
  type MutableDocument,
  replacementDocument,
} from "../../document-store/embedded/update-semantics.js";
import { type DocumentStore, type IndexSpec, keyIndexes, type WriteOp } from "../../document-store/port.js";
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
import { IndexedDocs } from "./fold-index.js";
import {
  foldLotEvent,
  foldLotsEvent,
  LOT_STATE_ENTRY_BYTES,
  type LotFold,
  type LotFolds,
  lotFoldEntries,
  lotFoldsEntries,
} from "./lot-fold.js";
import { MemoryDocumentStore } from "./memory-store.js";

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
 * ones the views asked as of a moment walk, e.g. the lot page's listing: fold-index.ts).
 */
export type FoldIndexes = Readonly<Record<string, readonly string[]>>;

/**
 * Read models folded in memory: the very projections' `apply` (pure: event → write ops) with the
 * document store's own update semantics, so the result is what the live store would hold after the
 * same events. Never touches the live read models; read through a throwaway in-memory store.
 *
 * Each collection is a persistent map and a document is never changed in place (an update writes
 * a changed copy), so a copy of the state (a checkpoint, an answer starting from one) costs one
 * entry per collection and shares every document and map node with the original: a write after it
 * makes O(log n) new nodes, never a copy of the maps. With `lot` (a lot's stream folded), the lot's
 * decider state and its windows' step tree are carried along too (lot-fold.ts), persistent as well;
 * with `lots` (the whole log folded), every lot's, by lot id. Then the lot facts' documents are not
 * kept (each lot's state is what they are folded into, and no view reads them once it is carried:
 * an answer starts each lot's views from its state), only the lot-facts projection's position.
 */
export class FoldState {
  private readonly collections = new Map<string, IndexedDocs>();
  /** The indexes kept, by physical collection (their specs as the projections declare them). */
  private readonly specs: ReadonlyMap<string, readonly IndexSpec[]>;

  constructor(
    private readonly projections: readonly Projection[],
    private lotFold: LotFold | null = null,
    private lotFolds: LotFolds | null = null,
    private readonly indexes: FoldIndexes = {},
  ) {
    const specs = new Map<string, readonly IndexSpec[]>();
    for (const [logical, names] of Object.entries(indexes)) {
      const declared = keyIndexes(projections.flatMap((p) => p.collections[logical] ?? []));
      specs.set(
        physical(logical),
        names.map((name) => {
          const spec = declared.find((s) => s.name === name);
          if (!spec) throw new Error(`no index ${name} declared on ${logical}`);
          return spec;
        }),
      );
    }
    this.specs = specs;
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
    for (const op of ops) {
      // The plate search's index serves only the live listing, never a view as of a moment: folding
      // it would make every checkpoint several times the size of the lot's present.
      if (op.collection === physical(PLATE_SUFFIXES)) continue;
      // Nor the instants a window starts or ends (control-center-clock.ts): they serve only the live
      // control center's cache of its figures (control-center-moment.ts), which a view as of a
      // moment never keeps (its fold records no projection version: see boundariesCover), and they
      // grow with the history (one per window booked): every read of the control center's
      // documents would scan them.
      if (op.collection === physical(CONTROL_CENTER) && isBoundary(op.id)) continue;
      let docs = this.collections.get(op.collection);
      if (!docs) {
        docs = IndexedDocs.of([], this.specs.get(op.collection) ?? []);
        this.collections.set(op.collection, docs);
      }
      written(docs, op);
    }
  }

  /**
   * A copy (everything shared: see above), leaving out what ended PRUNE_HORIZON_MS before
   * `stampMs` (see above): a look at each document, new nodes only where some are left out.
   */
  checkpointCopy(stampMs: number): FoldState {
    const horizon = Number.isFinite(stampMs) ? new Date(stampMs - PRUNE_HORIZON_MS).toISOString() : "";
    const copy = this.copy();
    if (!horizon) return copy;
    for (const [collection, docs] of this.collections) {
      const gone: string[] = [];
      for (const [id, doc] of docs.entries()) if (ended(collection, doc, horizon)) gone.push(id);
      const kept = copy.collections.get(collection);
      for (const id of gone) kept?.put(id, undefined);
    }
    return copy;
  }

  /**
   * A copy: one entry per collection, the documents, their indexes (cloned: copy-on-write) and the
   * lot's state shared (see above).
   */
  copy(): FoldState {
    const copy = new FoldState(this.projections, this.lotFold, this.lotFolds, this.indexes);
    for (const [collection, docs] of this.collections) copy.collections.set(collection, docs.copy());
    return copy;
  }

  /** Every document, by collection: to load the state somewhere else (the bench's live view). */
  *documents(): Generator<[string, MutableDocument]> {
    for (const [collection, docs] of this.collections)
      for (const doc of docs.values()) yield [collection, doc];
  }

  /** The state as plain data (documents by collection), to keep it in a document store. */
  toData(): Record<string, MutableDocument[]> {
    const data: Record<string, MutableDocument[]> = {};
    for (const [collection, docs] of this.collections) data[collection] = [...docs.values()];
    return data;
  }

  /** A state kept with toData(). */
  static fromData(projections: readonly Projection[], data: Record<string, MutableDocument[]>): FoldState {
    const state = new FoldState(projections);
    for (const [collection, docs] of Object.entries(data))
      state.collections.set(collection, IndexedDocs.of(docs, []));
    return state;
  }

  /**
   * The documents' size as JSON, each document measured once (they are shared between states and
   * never changed in place), and the lot's state at LOT_STATE_ENTRY_BYTES an entry: an upper bound
   * of what a checkpoint of this state holds (what it shares with others counted in each).
   */
  estimatedBytes(): number {
    let bytes = this.lotStateBytes();
    for (const docs of this.collections.values()) {
      bytes += docs.indexEntries * INDEX_ENTRY_BYTES;
      for (const doc of docs.values()) {
        let size = SIZES.get(doc);
        if (size === undefined) {
          size = JSON.stringify(doc).length + ENTRY_BYTES;
          SIZES.set(doc, size);
        }
        bytes += size;
      }
    }
    return bytes;
  }

  /** The lots' states' estimated size (0 without any): their entries at LOT_STATE_ENTRY_BYTES each. */
  lotStateBytes(): number {
    const entries =
      (this.lotFold ? lotFoldEntries(this.lotFold) : 0) +
      (this.lotFolds ? lotFoldsEntries(this.lotFolds) : 0);
    return entries * LOT_STATE_ENTRY_BYTES;
  }

  get size(): number {
    let n = 0;
    for (const docs of this.collections.values()) n += docs.size;
    return n;
  }

  /**
   * This state as a read-only store, with the projections' checkpoints at `position`, for the query
   * side to read exactly as it reads the live one. The state is the store's from then on.
   */
  materialize(position: Position | null): DocumentStore {
    for (const projection of this.projections) {
      this.write([checkpointOp(projection.name, GENERATION, { position, state: "running" })]);
    }
    return new MemoryDocumentStore(this.collections);
  }
}

const isBoundary = (id: string): boolean => id.startsWith(STARTS_PREFIX) || id.startsWith(ENDS_PREFIX);

/** Each document's size as JSON (documents are never changed in place: measured once). */
const SIZES = new WeakMap<MutableDocument, number>();
/** What a map entry costs beside its document (a persistent map's share of nodes included). */
const ENTRY_BYTES = 64;
/** What an index entry costs: its key (the index's fields and the id) and its share of tree nodes. */
const INDEX_ENTRY_BYTES = 96;

/** One write applied to `docs`, as the document store applies it (a document updated is a changed copy). */
function written(docs: IndexedDocs, op: WriteOp): void {
  if (op.op === "delete") {
    docs.put(op.id, undefined);
    return;
  }
  if (op.op === "replace") {
    docs.put(op.id, replacementDocument(op.id, op.document));
    return;
  }
  const current = docs.get(op.id);
  const { doc } = applyUpdate(
    current ? structuredClone(current) : null,
    op.id,
    op.update,
    op.upsert ?? false,
  );
  if (doc) docs.put(op.id, doc);
}

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
