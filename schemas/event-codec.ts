import type { EventToAppend, RecordedEvent } from "../event-store/port.js";
import type { Position } from "../event-store/position.js";
import type { Actor } from "./actor.js";
import { CURRENT_SCHEMA_VERSION, type DomainEvent, type EventMetadata } from "./events.js";
import {
  hasPersonalValues,
  keyLookups,
  openActor,
  openPersonalFields,
  sealActor,
  sealedAsErased,
  sealPersonalFields,
} from "./personal-data.js";
import { UPCASTERS, type Upcaster, upcast } from "./upcasters.js";
import { isEventType, validateEvent, validateMetadata } from "./validation.js";

/**
 * The typed edge of the event store: domain events are validated against their JSON Schema
 * when written and again when read, so a malformed event can neither enter the log nor be
 * silently applied by a projection. Personal fields are sealed on the way in and opened on the
 * way out (schemas/personal-data.ts): the log holds them only under their customer's data key.
 */

export interface Causation {
  readonly correlationId: string;
  readonly causationId: string;
  /** Who acted; recorded in the metadata of every event written. */
  readonly actor: Actor;
  /** The W3C trace context to continue (issue 22); absent when the cause was not traced. */
  readonly traceparent?: string;
}

export interface StoredDomainEvent<E extends DomainEvent = DomainEvent> {
  readonly event: E;
  readonly id: string;
  readonly streamId: string;
  readonly revision: number;
  readonly position: Position;
  readonly metadata: EventMetadata;
  readonly createdAt: Date;
}

export function encodeEvent(event: DomainEvent, causation: Causation, id?: string): EventToAppend {
  const checked = validateEvent(event.type, event.data);
  const metadata = validateMetadata({
    correlationId: causation.correlationId,
    causationId: causation.causationId,
    actor: causation.actor,
    schemaVersion: CURRENT_SCHEMA_VERSION,
    ...(causation.traceparent ? { traceparent: causation.traceparent } : {}),
  });
  return {
    ...(id ? { id } : {}),
    type: checked.type,
    data: sealPersonalFields(checked.type, checked.data),
    metadata: metadata.actor ? { ...metadata, actor: sealActor(metadata.actor) } : metadata,
  };
}

/**
 * Reads a recorded event as the current version of its type: its metadata validated, its data
 * upcast from the schema version it was written at (schemas/upcasters.ts), then validated.
 */
export function decodeEvent(
  recorded: RecordedEvent,
  versions: { readonly upcasters: readonly Upcaster[]; readonly current: number } = {
    upcasters: UPCASTERS,
    current: CURRENT_SCHEMA_VERSION,
  },
): StoredDomainEvent {
  // One key lookup for the event: its actor (a customer's own action) and its fields share a key.
  const keyOf = keyLookups();
  const metadata = validateMetadata(openActor(recorded.metadata, keyOf));
  const data = upcast(
    recorded.type,
    openPersonalFields(recorded.data, recorded.type, keyOf),
    metadata.schemaVersion,
    versions.current,
    versions.upcasters,
  );
  return stored(recorded, validateEvent(recorded.type, data), metadata);
}

const stored = (recorded: RecordedEvent, event: DomainEvent, metadata: EventMetadata): StoredDomainEvent => ({
  event,
  id: recorded.id,
  streamId: recorded.streamId,
  revision: recorded.revision,
  position: recorded.position,
  metadata,
  createdAt: recorded.createdAt,
});

/**
 * Issue 68: an event as decodeEvent reads it, but with its personal fields (and a customer actor's
 * `sub`) left sealed as written (`pii1.…`), each checked for that form (personal-data.ts,
 * sealedAsErased): no key read, nothing decrypted. For the lot's loader alone (lot-loader.ts), whose
 * state holds a booking so and opens it when a decision or an answer reads it
 * (write-side/parking-lot/reservation-book.ts); every other reader decodes opened. A type with
 * personal values of its own form (an opening) is read as decodeEvent reads it: its current
 * version reads sealed already, an older one is opened to be upcast. An upcaster of a lot event
 * sees its personal fields sealed here: one that reads them must make its type read opened.
 */
export function decodeSealedEvent(recorded: RecordedEvent): StoredDomainEvent {
  const { type } = recorded;
  if (!isEventType(type) || hasPersonalValues(type)) return decodeEvent(recorded);
  validateMetadata(sealedAsErased(recorded.metadata));
  const metadata = recorded.metadata as EventMetadata;
  const data = upcast(type, recorded.data, metadata.schemaVersion, CURRENT_SCHEMA_VERSION, UPCASTERS);
  validateEvent(type, sealedAsErased(data, type));
  return stored(recorded, { type, data } as DomainEvent, metadata);
}
