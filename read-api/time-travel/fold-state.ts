import type { MutableDocument } from "../../document-store/embedded/update-semantics.js";
import { MemoryDocumentStore } from "../../document-store/memory/memory-document-store.js";
import type { DocumentStore, WriteOp } from "../../document-store/port.js";
import type { Position } from "../../event-store/position.js";
import { keptInFold } from "../../projections/read-models/folded-documents.js";
import type { Projection } from "../../projections/read-models/projection.js";
import { checkpointOp, physicalCollection } from "../../projections/runtime/checkpoints.js";
import type { StoredDomainEvent } from "../../schemas/event-codec.js";

/** The generation a fold writes (a fresh store has no other: the query side reads it by default). */
const GENERATION = 1;
/** The collection a fold writes a logical collection's documents to. */
export const foldCollection = (logical: string) => physicalCollection(logical, GENERATION);

/**
 * Read models folded in memory: the projections' `apply` written to a MemoryDocumentStore (its
 * writes synchronous, a copy sharing every document and index node).
 */
export class FoldState {
  constructor(
    private readonly projections: readonly Projection[],
    private readonly store = new MemoryDocumentStore(),
  ) {}

  /** Folds one event through every projection that reacts to it. */
  apply(stored: StoredDomainEvent): void {
    for (const projection of this.projections) {
      if (!projection.eventTypes.has(stored.event.type)) continue;
      this.write(projection.apply(stored, foldCollection));
    }
  }

  write(ops: readonly WriteOp[]): void {
    this.store.writeNow(ops.filter((op) => keptInFold(op, foldCollection)));
  }

  /** A copy read as a fold of `projections` (their checkpoints, when materialized), `writes` written in. */
  joined(projections: readonly Projection[], writes: readonly WriteOp[]): FoldState {
    const copy = new FoldState(projections, this.store.copy());
    copy.store.writeNow(writes);
    return copy;
  }

  /** Every document, by collection. */
  documents(): Generator<[string, MutableDocument]> {
    return this.store.documents();
  }

  /** This state as a store, with the projections' checkpoints at `position`, read as the live one. */
  materialize(position: Position | null): DocumentStore {
    for (const projection of this.projections) {
      this.write([checkpointOp(projection.name, GENERATION, { position, state: "running" })]);
    }
    return this.store;
  }
}
