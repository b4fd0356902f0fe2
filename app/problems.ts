import { UnboundedQueryError } from "../document-store/bounds.js";
import { DocumentStoreStorageError, DocumentStoreUnavailableError } from "../document-store/port.js";
import { EventStoreStorageError, EventStoreUnavailableError } from "../event-store/errors.js";
import { DataKeysStorageError } from "../platform/data-keys/port.js";
import type { ApplicationProblems } from "../platform/http/middleware.js";
import { ProblemError } from "../platform/http/problem.js";
import { WorkBudgetExceededError } from "../platform/work-budget.js";
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

/** A page above this may be what ran past the budget: the answer asks for a smaller one. */
const LIMIT_BLAMED_ABOVE = 100;

/** A request past its work budget (issue 66): 400 naming `limit` when its page is the cause, else 503. */
function pastBudget(error: WorkBudgetExceededError): ProblemError {
  const asked = error.meter.askedLimit;
  if (asked !== undefined && asked > LIMIT_BLAMED_ABOVE) {
    return new ProblemError("validation", "The page asked for costs more work than a request may.", {
      errors: [
        {
          field: "query.limit",
          message: `a page of ${asked} costs more than this request's work budget: ask at most ${LIMIT_BLAMED_ABOVE}`,
        },
      ],
    });
  }
  return new ProblemError("overloaded", "This answer costs more work than a request may; retry shortly.", {
    retryAfterSeconds: 1,
  });
}

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
    if (error instanceof WorkBudgetExceededError) return pastBudget(error);
    if (error instanceof UnboundedQueryError) {
      // A query of the service that would read past its page: refused by the store, never run.
      return new ProblemError("overloaded", "This answer would cost more work than a request may.", {
        retryAfterSeconds: 1,
      });
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
