import { formatPosition } from "../../event-store/position.js";
import type { StoredDomainEvent } from "../../schemas/event-codec.js";
import type { AnyEventDefinition } from "../../schemas/event-definition.js";
import { stampOf } from "../../schemas/event-stamps.js";
import { EVENT_DEFINITIONS } from "../../schemas/events.js";
import type { HistoryEntry } from "../../schemas/history.js";

/**
 * One fact of the log as the audit trail shows it: when, what, who (from the metadata), why, and a
 * sentence a person can read. Pure: everything comes from the stored event.
 */

export function auditEntry(stored: StoredDomainEvent): HistoryEntry {
  const { event, metadata } = stored;
  const { actor } = metadata;
  // The definition of the event's type (the union of all of them, read through its event's own data).
  const definition: AnyEventDefinition = EVENT_DEFINITIONS[event.type];
  // Why, when the fact's definition says it records a reason.
  const reason = definition.reason?.(event.data);
  const data = event.data as { reservationId?: string };
  return {
    position: formatPosition(stored.position),
    streamId: stored.streamId,
    at: new Date(stampOf(event)).toISOString(),
    type: event.type,
    ...(actor ? { actor: { sub: actor.sub, role: actor.role } } : {}),
    ...(reason ? { reason } : {}),
    ...(data.reservationId ? { reservationId: data.reservationId } : {}),
    correlationId: metadata.correlationId,
    causationId: metadata.causationId,
    // What happened, in words, starting with who did it (the sentence is its type's definition's).
    summary: definition.audit(
      event.data,
      actor ? `${actor.sub} (${actor.role})` : "someone (not recorded)",
      actor,
    ),
  };
}
