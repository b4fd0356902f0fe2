import { postgresFailureOf, uniqueViolationOf } from "../../platform/postgres/failures.js";
import {
  DuplicateEventIdError,
  EventStoreError,
  EventStoreStorageError,
  EventStoreUnavailableError,
  WrongExpectedRevisionError,
} from "../errors.js";
import type { ExpectedRevision } from "../port.js";

/**
 * A `pg` error as the port's: a unique violation on (stream, revision) is a wrong expected
 * revision (another writer got there first), one on the id a duplicate id; a server that cannot
 * serve now (down, a standby, connection lost) is unavailable; a full disk a storage error.
 */
export function mapPgError(
  error: unknown,
  append?: { readonly streamId: string; readonly expected: ExpectedRevision },
): unknown {
  if (error instanceof EventStoreError || error instanceof RangeError) return error;
  const constraint = uniqueViolationOf(error);
  if (constraint !== undefined && append !== undefined) {
    return constraint === "events_id"
      ? new DuplicateEventIdError(append.streamId)
      : new WrongExpectedRevisionError(append.streamId, append.expected, undefined);
  }
  const message = error instanceof Error ? error.message : String(error);
  switch (postgresFailureOf(error)) {
    case "unavailable":
      return new EventStoreUnavailableError(`PostgreSQL unavailable: ${message}`, { cause: error });
    case "disk-full":
      return new EventStoreStorageError(`PostgreSQL cannot write: disk full (${message})`, "full", {
        cause: error,
      });
    default:
      return new EventStoreError(`event store failure: ${message}`, { cause: error });
  }
}
