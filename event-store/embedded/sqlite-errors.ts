import { Database } from "../../platform/sqlite.js";
import { storageFailureOf, storageFailureText } from "../../platform/storage-failure.js";
import {
  DuplicateEventIdError,
  EventStoreClosedError,
  EventStoreError,
  EventStoreStorageError,
  EventStoreUnavailableError,
  WrongExpectedRevisionError,
} from "../errors.js";

export { DuplicateEventIdError };

/** Failures that concern one append of a group (its savepoint rolled back), not the transaction. */
export function isPerAppendFailure(error: unknown): boolean {
  return (
    error instanceof WrongExpectedRevisionError ||
    (error instanceof Database.SqliteError && error.code.startsWith("SQLITE_CONSTRAINT"))
  );
}

/**
 * A SQLite error as the port's: a duplicate id, a full or read-only disk under `directory` (the
 * database's), a file that cannot be used now (all three retryable), or a failure of the store.
 */
export function mapSqliteError(error: unknown, streamId: string | undefined, directory?: string): unknown {
  if (error instanceof EventStoreError || error instanceof RangeError) return error;
  if (error instanceof Database.SqliteError) {
    const { code } = error;
    const storage = directory === undefined ? undefined : storageFailureOf(error, directory);
    if (storage !== undefined && directory !== undefined) {
      return new EventStoreStorageError(
        `event store cannot write: ${storageFailureText(storage, directory)} (${error.message})`,
        storage,
        { cause: error },
      );
    }
    if (
      code === "SQLITE_CONSTRAINT_UNIQUE" &&
      error.message.includes("events.id") &&
      streamId !== undefined
    ) {
      return new DuplicateEventIdError(streamId);
    }
    if (/^SQLITE_(BUSY|LOCKED|IOERR|FULL|READONLY|CANTOPEN|PROTOCOL)/.test(code)) {
      return new EventStoreUnavailableError(`event store file unavailable: ${error.message}`, {
        cause: error,
      });
    }
    return new EventStoreError(`event store failure: ${error.message}`, { cause: error });
  }
  if (error instanceof TypeError && /database connection is not open/i.test(error.message)) {
    return new EventStoreClosedError("the event store is closed");
  }
  return error;
}
