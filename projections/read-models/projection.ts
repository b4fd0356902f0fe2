import type { IndexSpec, WriteOp } from "../../document-store/port.js";
import type { StoredDomainEvent } from "../../event-store/codec.js";
import type { EventType } from "../../schemas/events.js";

/**
 * A read-model projection: a pure function from one stored event to the writes it causes.
 * It never reads, so a batch of events becomes one list of writes that the runtime commits
 * atomically together with the projection's checkpoint.
 */
export interface Projection {
  /** Stable name: the checkpoint key and what `replay` and the control center call it. */
  readonly name: string;
  /** Logical collections this projection owns, with their indexes. */
  readonly collections: Readonly<Record<string, readonly IndexSpec[]>>;
  /** The event types it reacts to; others only advance its checkpoint. */
  readonly eventTypes: ReadonlySet<EventType>;
  /** The writes one event causes. `collection(logical)` names the physical collection to write to. */
  apply(stored: StoredDomainEvent, collection: (logical: string) => string): readonly WriteOp[];
}
