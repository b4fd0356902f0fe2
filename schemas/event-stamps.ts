import { type DomainEvent, EVENT_DEFINITIONS } from "./events.js";

/**
 * When the service stamped the fact (its clock when it decided, not the store's): the payload field
 * its definition names as its record time (schemas/event-definition.ts), an ISO timestamp. One
 * reader for all: the decider's event-time rules (payment records' end), the audit trail, the
 * search of a stream by time.
 */
export function stampOf(event: DomainEvent): string {
  return (event.data as Record<string, string>)[EVENT_DEFINITIONS[event.type].recordTime] as string;
}

/** The record time (ms) of a stored event not decoded yet, by its type and raw data (NaN: none). */
export function stampMsOfRaw(type: string, data: unknown): number {
  try {
    return Date.parse(stampOf({ type, data } as DomainEvent));
  } catch {
    return Number.NaN;
  }
}
