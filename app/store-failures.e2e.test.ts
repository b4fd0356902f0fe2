import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EventStoreUnavailableError, WrongExpectedRevisionError } from "../event-store/errors.js";
import type { EventStore } from "../event-store/port.js";
import { call, startTestService, tempDataDir } from "../test-support/service.js";
import type { RunningService } from "./server.js";

/*
 * What a caller sees when the event store fails under a command, over real HTTP: each answer is
 * the documented problem (the e2e contract check validates status, headers and body against the
 * served document, including the problem types listed for the operation), and nothing is
 * appended. The store is the real embedded one, with its appends made to fail on demand.
 */

type Failure = "none" | "unavailable" | "conflict" | "bug";

describe("store failures under a command", () => {
  const data = tempDataDir("parking-store-failures-");
  let service: RunningService;
  let failure: Failure = "none";
  let appends = 0;

  const failing = (store: EventStore): EventStore => ({
    appendToStream: (streamId, events, options) => {
      appends++;
      switch (failure) {
        case "unavailable":
          return Promise.reject(new EventStoreUnavailableError("connection refused (test)"));
        case "conflict":
          // Someone else always got there first: the handler retries, then gives up.
          return Promise.reject(
            new WrongExpectedRevisionError(streamId, options.expectedRevision, undefined),
          );
        case "bug":
          return Promise.reject(new Error("secret internal detail (test)"));
        case "none":
          return store.appendToStream(streamId, events, options);
      }
    },
    readStream: (streamId, options) => store.readStream(streamId, options),
    readAll: (options) => store.readAll(options),
    subscribeToAll: (options) => store.subscribeToAll(options),
    followAll: (options) => store.followAll(options),
    headPosition: () => store.headPosition(),
    close: () => store.close(),
  });

  beforeAll(async () => {
    service = await startTestService(
      data.dir,
      // The processors on the request thread, so that only this thread's store is wrapped;
      // few conflict retries, so that giving up is quick.
      { PROCESSORS_THREAD: "main", COMMAND_RETRY_LIMIT: "2" },
      { wrapEventStore: failing },
    );
    const registered = await call(service.url, "POST", "/parking-lots", {
      parkingLotId: "fail-1",
      name: "장애 주차장",
      capacity: 10,
    });
    expect(registered.status).toBe(201);
  });
  afterAll(async () => {
    failure = "none";
    await service?.shutdown("test done");
    data.remove();
  });

  const reserve = () =>
    call(service.url, "POST", "/parking-lots/fail-1/reservations", {
      customerId: "CUST1",
      carNumber: "10더8612",
      amount: 5000,
    });
  const revisionOfLot = async () =>
    (await call<{ totalReservations?: number }>(service.url, "GET", "/parking-lots/fail-1")).body;

  it("a store that does not answer: 503 store-unavailable with Retry-After, nothing appended", async () => {
    const before = await revisionOfLot();
    failure = "unavailable";
    const answer = await reserve();
    failure = "none";
    expect(answer.status).toBe(503);
    expect(answer.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    expect(answer.body).toMatchObject({ type: expect.stringMatching(/\/problems\/store-unavailable$/) });
    expect(Number(answer.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(await revisionOfLot()).toEqual(before);
  });

  it("conflicts past the retry limit: 503 concurrency-conflict with Retry-After", async () => {
    failure = "conflict";
    const before = appends;
    const answer = await reserve();
    const tried = appends - before;
    failure = "none";
    expect(answer.status).toBe(503); // contention is temporary: try again, as Retry-After says
    expect(answer.body).toMatchObject({ type: expect.stringMatching(/\/problems\/concurrency-conflict$/) });
    expect(Number(answer.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(tried).toBe(3); // the first try and COMMAND_RETRY_LIMIT more
  });

  it("an unexpected error: 500 internal, revealing nothing of it", async () => {
    failure = "bug";
    const answer = await reserve();
    failure = "none";
    expect(answer.status).toBe(500);
    expect(answer.body).toMatchObject({ type: expect.stringMatching(/\/problems\/internal$/) });
    expect(JSON.stringify(answer.body)).not.toContain("secret internal detail");
  });

  it("works again once the store does", async () => {
    const answer = await reserve();
    expect(answer.status).toBe(201);
  });
});
