import type { EventToAppend, ExpectedRevision } from "./port.js";

/**
 * Argument checks shared by the adapters, so both refuse the same malformed calls the same way
 * (RangeError, before anything is sent or written). Nothing here knows about domain schemas.
 */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function validateAppend(
  streamId: string,
  events: readonly EventToAppend[],
  expected: ExpectedRevision,
): void {
  if (typeof streamId !== "string" || streamId.length === 0)
    throw new RangeError("streamId must be a non-empty string");
  if (!Array.isArray(events) || events.length === 0)
    throw new RangeError("an append needs at least one event");
  if (
    expected !== "any" &&
    expected !== "no_stream" &&
    expected !== "stream_exists" &&
    !(Number.isSafeInteger(expected) && expected >= 0)
  ) {
    throw new RangeError(`invalid expected revision ${String(expected)}`);
  }
  for (const event of events) {
    if (typeof event.type !== "string" || event.type.length === 0) {
      throw new RangeError("an event needs a non-empty type");
    }
    if (event.id !== undefined && !UUID.test(event.id))
      throw new RangeError(`event id ${event.id} is not a UUID`);
  }
}

/** maxCount as a number of events to read (unbounded when absent). */
export function countOf(maxCount: number | undefined): number {
  if (maxCount === undefined) return Number.POSITIVE_INFINITY;
  if (!(maxCount >= 0)) throw new RangeError("maxCount must be zero or more");
  return Math.floor(maxCount);
}

export function validateRevision(revision: number, what: string): number {
  if (!Number.isSafeInteger(revision) || revision < 0)
    throw new RangeError(`${what} must be a revision (0 or more)`);
  return revision;
}
