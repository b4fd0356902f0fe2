import { randomUUID } from "node:crypto";
import { expect } from "vitest";
import { SqliteDocumentStore } from "../document-store/embedded/sqlite-document-store.js";
import type { Document } from "../document-store/port.js";
import type { Projection } from "../projections/read-models/projection.js";
import { physicalCollection } from "../projections/runtime/checkpoints.js";
import type { StoredDomainEvent } from "../schemas/event-codec.js";
import { CURRENT_SCHEMA_VERSION, type DomainEvent, EVENT_DEFINITIONS } from "../schemas/events.js";
import { paymentStream } from "../write-side/payment/payment.js";

/** The generation a spec writes (any would do: the projection only sees logical names). */
const GENERATION = 1;

/**
 * An event of the log as a projection receives it: at the next position, with plain metadata, on
 * its stream (streamOf; revision = commit - 1).
 */
function stored(event: DomainEvent, commit: number): StoredDomainEvent {
  return {
    event,
    id: randomUUID(),
    streamId: streamOf(event),
    revision: commit - 1,
    position: { commit, prepare: commit },
    metadata: {
      correlationId: randomUUID(),
      causationId: randomUUID(),
      schemaVersion: CURRENT_SCHEMA_VERSION,
    },
    createdAt: new Date(0),
  };
}

/** A payment's fact is on its payment's stream (as the service appends it); every other on one. */
function streamOf(event: DomainEvent): string {
  const reservationId = (event.data as { reservationId?: unknown }).reservationId;
  return EVENT_DEFINITIONS[event.type].stream === "payment" && typeof reservationId === "string"
    ? paymentStream(reservationId)
    : "spec";
}

/** What a projection left after the spec's events: its documents by logical collection. */
export interface ProjectionOutcome {
  /** The documents of one of the projection's collections, ordered by `_id`. */
  documents(logical: string): Promise<Document[]>;
  /** Asserts that each listed collection holds exactly these documents (in `_id` order). */
  expectDocuments(expected: Readonly<Record<string, readonly Document[]>>): Promise<void>;
  /** Frees the in-memory store. */
  close(): Promise<void>;
}

/**
 * A projection spec: given events in, documents out. The events get consecutive positions and
 * the projection's writes for them go, in log order and as one batch (as the processor runtime
 * commits them), into an in-memory embedded document store with the projection's indexes, so the
 * store's own update semantics and constraints apply.
 *
 *   const outcome = await projectionSpec(customerCouponsProjection).given(issued, revoked);
 *   await outcome.expectDocuments({ coupons: [{ _id: "C1", status: "REVOKED", ... }] });
 */
export function projectionSpec(projection: Projection) {
  return {
    async given(...events: readonly DomainEvent[]): Promise<ProjectionOutcome> {
      const store = SqliteDocumentStore.open({ file: ":memory:" });
      const collection = (logical: string) => {
        if (!(logical in projection.collections))
          throw new Error(`projection ${projection.name} does not own collection ${logical}`);
        return physicalCollection(logical, GENERATION);
      };
      for (const [logical, indexes] of Object.entries(projection.collections))
        await store.ensureIndexes(collection(logical), indexes);
      const ops = events.flatMap((event, i) =>
        projection.eventTypes.has(event.type) ? projection.apply(stored(event, i + 1), collection) : [],
      );
      if (ops.length > 0) await store.write(ops);
      const documents = (logical: string) => store.find(collection(logical), {}, { sort: { _id: 1 } });
      return {
        documents,
        async expectDocuments(expected) {
          for (const [logical, docs] of Object.entries(expected))
            expect(await documents(logical), logical).toEqual(docs);
        },
        close: () => store.close(),
      };
    },
  };
}
