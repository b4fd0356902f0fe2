import { describe, expect, it } from "vitest";
import { eventStoreContract } from "../../test-support/event-store-contract.js";
import { EventStoreClosedError, EventStoreUnavailableError, SubscriptionDroppedError } from "../errors.js";
import { EventStoreDbEventStore } from "./esdb-event-store.js";

const url = process.env.EVENTSTORE_URL;

/** Runs only when EVENTSTORE_URL points at a server (e.g. esdb://localhost:2113?tls=false). */
describe.skipIf(!url)("EventStoreDbEventStore on a real server", () => {
  eventStoreContract("EventStoreDbEventStore", async () => {
    const store = EventStoreDbEventStore.connect(url as string);
    return { store, dispose: () => store.close() };
  });
});

describe("EventStoreDbEventStore without a server", () => {
  // Nothing listens on port 1 of the loopback interface: the connection is refused at once.
  const unreachable = "esdb://127.0.0.1:1?tls=false";

  it("reports an unreachable server as EventStoreUnavailableError", async () => {
    const store = EventStoreDbEventStore.connect(unreachable);
    try {
      await expect(
        store.appendToStream("lot-1", [{ type: "T", data: {}, metadata: {} }], { expectedRevision: "any" }),
      ).rejects.toBeInstanceOf(EventStoreUnavailableError);
      await expect(collect(store.readStream("lot-1"))).rejects.toBeInstanceOf(EventStoreUnavailableError);
      await expect(collect(store.readAll({ maxCount: 1 }))).rejects.toBeInstanceOf(
        EventStoreUnavailableError,
      );
      await expect(store.headPosition()).rejects.toBeInstanceOf(EventStoreUnavailableError);
    } finally {
      await store.close();
    }
  });

  it("drops a subscription it cannot keep with SubscriptionDroppedError, never a silent complete", async () => {
    const store = EventStoreDbEventStore.connect(unreachable);
    try {
      const outcome = await new Promise<unknown>((resolve) => {
        store.subscribeToAll({ from: "start" }).subscribe({
          error: resolve,
          complete: () => resolve("completed"),
        });
      });
      expect(outcome).toBeInstanceOf(SubscriptionDroppedError);
      expect((outcome as SubscriptionDroppedError).cause).toBeInstanceOf(EventStoreUnavailableError);
    } finally {
      await store.close();
    }
  });

  it("refuses bad arguments before calling the server, and everything once closed", async () => {
    const store = EventStoreDbEventStore.connect(unreachable);
    await expect(store.appendToStream("lot-1", [], { expectedRevision: "any" })).rejects.toBeInstanceOf(
      RangeError,
    );
    await expect(
      collect(store.readAll({ filter: { eventTypes: ["A"], streamPrefixes: ["b"] } })),
    ).rejects.toBeInstanceOf(RangeError);
    expect(await collect(store.readAll({ filter: { eventTypes: [] } }))).toEqual([]);
    const errors: unknown[] = [];
    store
      .subscribeToAll({ from: "end", filter: { streamPrefixes: [] } })
      .subscribe({ error: (e) => errors.push(e) });
    await store.close();
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(EventStoreClosedError);
    await expect(
      store.appendToStream("lot-1", [{ type: "T", data: {}, metadata: {} }], { expectedRevision: "any" }),
    ).rejects.toBeInstanceOf(EventStoreClosedError);
    await expect(store.headPosition()).rejects.toBeInstanceOf(EventStoreClosedError);
    await store.close();
  });
});

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}
