import type { AnyIndexSpec, UpdateDocument, WriteOp } from "../../document-store/port.js";
import type { StoredDomainEvent } from "../../schemas/event-codec.js";
import type { EventOfType, EventType } from "../../schemas/events.js";

/** Names the physical collection (of the generation being written) of a logical one. */
export type CollectionOf = (logical: string) => string;

/**
 * A read-model projection: a pure function from one stored event to the writes it causes.
 * It never reads, so a batch of events becomes one list of writes that the runtime commits
 * atomically together with the projection's checkpoint.
 */
export interface Projection {
  /** Stable name: the checkpoint key and what `replay` and the control center call it. */
  readonly name: string;
  /**
   * Version of what the projection writes. A generation records the version that built it; when
   * the live generation's differs from this one, the projectors rebuild the projection into a new
   * generation at start-up (blue/green) and switch to it once it has caught up. Raise it whenever
   * a change to `on` or `collections` makes the stored documents wrong for the new code.
   */
  readonly version: number;
  /** Logical collections this projection owns, with their indexes. */
  readonly collections: Readonly<Record<string, readonly AnyIndexSpec[]>>;
  /** The event types it reacts to (the keys of its handlers); others only advance its checkpoint. */
  readonly eventTypes: ReadonlySet<EventType>;
  /** The writes one event causes. `collection(logical)` names the physical collection to write to. */
  apply(stored: StoredDomainEvent, collection: CollectionOf): readonly WriteOp[];
}

/** The writes one event of type T causes. */
export type Handler<T extends EventType> = (
  stored: StoredDomainEvent<EventOfType<T>>,
  collection: CollectionOf,
) => readonly WriteOp[];

/** One handler per event type the projection reacts to: its keys are its event types. */
export type Handlers = { readonly [T in EventType]?: Handler<T> };

/** A projection whose event types are the keys of its handlers, so the two cannot drift apart. */
export function defineProjection({
  on,
  ...definition
}: Pick<Projection, "name" | "version" | "collections"> & { readonly on: Handlers }): Projection {
  return {
    ...definition,
    eventTypes: new Set(Object.keys(on) as EventType[]),
    apply(stored, collection) {
      const handler = on[stored.event.type] as Handler<EventType> | undefined;
      return handler ? handler(stored, collection) : [];
    },
  };
}

/** The one write most handlers make: an update of one document of one of the projection's collections. */
export const updateOne = (
  collection: CollectionOf,
  logical: string,
  id: string,
  update: UpdateDocument,
): WriteOp[] => [{ op: "update", collection: collection(logical), id, update }];

/** Creates the document when it is not there (the first event of what the document follows). */
export const upsertOne = (
  collection: CollectionOf,
  logical: string,
  id: string,
  update: UpdateDocument,
): WriteOp[] => [{ op: "update", collection: collection(logical), id, upsert: true, update }];
