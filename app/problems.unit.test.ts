import { describe, expect, it } from "vitest";
import { DocumentStoreStorageError, DocumentStoreUnavailableError } from "../document-store/port.js";
import { EventStoreStorageError, EventStoreUnavailableError } from "../event-store/errors.js";
import { toProblem } from "../platform/http/middleware.js";
import { problemDocument } from "../platform/http/problem.js";
import { ConcurrencyConflictError } from "../write-side/command-handler.js";
import { SERVICE_PROBLEMS } from "./problems.js";

describe("the service's errors become problems with a stable type", () => {
  it("ConcurrencyConflictError → 503 concurrency-conflict with Retry-After", () => {
    const mapped = toProblem(new ConcurrencyConflictError("parkingLot-1", 21), SERVICE_PROBLEMS.mapping);
    expect(mapped.status).toBe(503);
    expect(mapped.problem).toBe("concurrency-conflict");
    expect(mapped.extra.retryAfterSeconds).toBeGreaterThan(0);
  });

  it.each([
    ["EventStoreUnavailableError", new EventStoreUnavailableError("esdb://admin:hunter2@es:2113 refused")],
    ["DocumentStoreUnavailableError", new DocumentStoreUnavailableError("mongodb://u:hunter2@db timed out")],
  ])("%s → 503 store-unavailable with Retry-After, without the store's message", (_name, error) => {
    const mapped = toProblem(error, SERVICE_PROBLEMS.mapping);
    expect(mapped.status).toBe(503);
    expect(mapped.problem).toBe("store-unavailable");
    expect(mapped.extra.retryAfterSeconds).toBeGreaterThan(0);
    expect(JSON.stringify(problemDocument(mapped))).not.toContain("hunter2");
  });

  it.each([
    ["EventStoreStorageError", new EventStoreStorageError("no space left in /srv/secret-dir", "full")],
    ["DocumentStoreStorageError", new DocumentStoreStorageError("/srv/secret-dir is read-only", "read-only")],
  ])("%s → 503 storage-unavailable with Retry-After, without the path", (_name, error) => {
    const mapped = toProblem(error, SERVICE_PROBLEMS.mapping);
    expect(mapped.status).toBe(503);
    expect(mapped.problem).toBe("storage-unavailable");
    expect(mapped.extra.retryAfterSeconds).toBeGreaterThan(0);
    expect(JSON.stringify(problemDocument(mapped))).not.toContain("secret-dir");
  });
});
