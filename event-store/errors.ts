import type { StorageFailure } from "../platform/storage-failure.js";
import type { ExpectedRevision } from "./port.js";

/** Our own error types. Adapters map vendor errors to these; nothing above the port sees vendor errors. */

export class EventStoreError extends Error {
  override name = "EventStoreError";
}

/** The stream was not at the revision the writer expected: someone else wrote first. */
export class WrongExpectedRevisionError extends EventStoreError {
  override name = "WrongExpectedRevisionError";
  constructor(
    readonly streamId: string,
    readonly expected: ExpectedRevision,
    /** The stream's actual last revision, or "no_stream"; undefined when the store did not say. */
    readonly actual: number | "no_stream" | undefined,
  ) {
    super(`stream ${streamId}: expected revision ${String(expected)}, actual ${String(actual ?? "unknown")}`);
  }
}

/** An event id that is already in the store (ids are unique across all streams). Nothing was appended. */
export class DuplicateEventIdError extends EventStoreError {
  override name = "DuplicateEventIdError";
  constructor(readonly streamId: string) {
    super(`stream ${streamId}: an event id of this append is already in the store`);
  }
}

/**
 * The append is larger than the store takes in one write (EventStoreDB: "Maximum Append Size of N
 * Exceeded", its MaxAppendSize). Nothing was written; the same append will be refused again.
 */
export class AppendTooLargeError extends EventStoreError {
  override name = "AppendTooLargeError";
}

/** The store cannot be reached or refused to serve (down, not leader, timed out). Retryable. */
export class EventStoreUnavailableError extends EventStoreError {
  override name = "EventStoreUnavailableError";
}

/** The disk under the store is full or read-only: nothing was written; retry once it has room again. */
export class EventStoreStorageError extends EventStoreUnavailableError {
  override name = "EventStoreStorageError";
  constructor(
    message: string,
    readonly storage: StorageFailure,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A subscription ended without being asked to (connection lost, server dropped it). */
export class SubscriptionDroppedError extends EventStoreError {
  override name = "SubscriptionDroppedError";
}

/** The store is closed; no more calls will be served. */
export class EventStoreClosedError extends EventStoreError {
  override name = "EventStoreClosedError";
}
