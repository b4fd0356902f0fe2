import { formatPosition } from "../../event-store/position.js";
import type { Actor } from "../../schemas/actor.js";
import type { StoredDomainEvent } from "../../schemas/event-codec.js";
import type { AnyEventDefinition } from "../../schemas/event-definition.js";
import { stampOf } from "../../schemas/event-stamps.js";
import { type DomainEvent, EVENT_DEFINITIONS } from "../../schemas/events.js";
import type { HistoryEntry } from "../../schemas/history.js";

/**
 * One fact of the log as the audit trail shows it: when, what, who (from the metadata), why, and a
 * sentence a person can read. Pure: everything comes from the stored event.
 */

const who = (actor: Actor | undefined): string =>
  actor ? `${actor.sub} (${actor.role})` : "someone (not recorded)";

const utc = (timestamp: string): string => new Date(timestamp).toISOString();

/** The definition of the event's type (the union of all of them, read through its event's own data). */
const definitionOf = (event: DomainEvent): AnyEventDefinition => EVENT_DEFINITIONS[event.type];

/** What happened, in words, starting with who did it (the sentence is its type's definition's). */
export function describe(event: DomainEvent, actor: Actor | undefined): string {
  return definitionOf(event).audit(event.data, who(actor), actor);
}

/** Why, when the fact's definition says it records a reason. */
const reasonOf = (event: DomainEvent): string | undefined => definitionOf(event).reason?.(event.data);

export function auditEntry(stored: StoredDomainEvent): HistoryEntry {
  const { event, metadata } = stored;
  const reason = reasonOf(event);
  const data = event.data as { reservationId?: string };
  return {
    position: formatPosition(stored.position),
    streamId: stored.streamId,
    at: utc(stampOf(event)),
    type: event.type,
    ...(metadata.actor ? { actor: { sub: metadata.actor.sub, role: metadata.actor.role } } : {}),
    ...(reason ? { reason } : {}),
    ...(data.reservationId ? { reservationId: data.reservationId } : {}),
    correlationId: metadata.correlationId,
    causationId: metadata.causationId,
    summary: describe(event, metadata.actor),
  };
}
