import { DocumentStoreStorageError, DocumentStoreUnavailableError } from "../document-store/port.js";
import { EventStoreStorageError, EventStoreUnavailableError } from "../event-store/errors.js";
import { DataKeysStorageError } from "../platform/data-keys/port.js";
import type { ApplicationProblems } from "../platform/http/middleware.js";
import { ProblemError } from "../platform/http/problem.js";
import { ConcurrencyConflictError } from "../write-side/command-handler.js";
import "./problem-types.js";

/**
 * How the service answers the errors of its stores and its write side, supplied to the platform's
 * error handler (which knows no store and no domain): a lost race is a 503 to retry, a store that
 * does not answer a 503 that says nothing of the store. The refusals the service chooses (a
 * contended lot, a read-your-writes wait that ran out) are logged as such, not as faults.
 */
/** A disk is freed or remounted by a person: retrying sooner would only add load. */
const STORAGE_RETRY_AFTER_SECONDS = 10;

export const SERVICE_PROBLEMS: ApplicationProblems = {
  mapping: (error) => {
    if (error instanceof ConcurrencyConflictError) {
      return new ProblemError("concurrency-conflict", error.message, { retryAfterSeconds: 1 });
    }
    if (
      error instanceof EventStoreStorageError ||
      error instanceof DocumentStoreStorageError ||
      error instanceof DataKeysStorageError
    ) {
      return new ProblemError(
        "storage-unavailable",
        "The service's disk is full or read-only: nothing was changed.",
        { retryAfterSeconds: STORAGE_RETRY_AFTER_SECONDS },
      );
    }
    if (error instanceof EventStoreUnavailableError || error instanceof DocumentStoreUnavailableError) {
      return new ProblemError("store-unavailable", "A backing store did not answer; nothing was changed.", {
        retryAfterSeconds: 2,
      });
    }
    return undefined;
  },
  expectedRefusals: ["position-not-reached", "concurrency-conflict"],
};
