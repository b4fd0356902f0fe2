import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { SqliteDocumentStore } from "../../document-store/embedded/sqlite-document-store.js";
import { SqliteEventStore } from "../../event-store/embedded/sqlite-event-store.js";
import { MemoryDataKeys } from "../../platform/data-keys/port.js";
import { createLogger } from "../../platform/logger.js";
import { encodeEvent, type StoredDomainEvent } from "../../schemas/event-codec.js";
import { ERASED, usePersonalDataKeys } from "../../schemas/personal-data.js";
import { eventually, tempDataDir } from "../../test-support/service.js";
import type { Projection } from "../read-models/projection.js";
import { DecodedEvents } from "./decoded-events.js";
import type { Reactor } from "./processor.js";
import { ProcessorRuntime } from "./processor-runtime.js";

/**
 * The live service's two runtimes (projections, reactors) each follow the log on their own, and
 * share what they decode (issue 50): each event is decoded once between them, and an erasure read
 * by either leaves nothing decoded before it to be handed out.
 */
const logger = createLogger("silent");
const causation = {
  correlationId: "c",
  causationId: "c",
  actor: { sub: "ops-1", role: "operator" as const },
};

const booking = (i: number, customerId: string) =>
  encodeEvent(
    {
      type: "ParkingReserved",
      data: {
        reservationId: `r-${i}`,
        parkingLotId: "lot-1",
        customerId,
        carNumber: `12가${String(1000 + i)}`,
        amount: 5000,
        reservedAt: "2026-11-23T09:00:00.000Z",
      },
    },
    causation,
  );

/** What one processor was handed, by reservation id. */
type Seen = Map<string, StoredDomainEvent>;

function recordingProjection(seen: Seen): Projection {
  return {
    name: "recording-projection",
    version: 1,
    collections: {},
    eventTypes: new Set(["ParkingReserved", "CustomerErased"]),
    apply(stored) {
      if (stored.event.type === "ParkingReserved") seen.set(stored.event.data.reservationId, stored);
      return [];
    },
  };
}

function recordingReactor(seen: Seen): Reactor {
  return {
    name: "recording-reactor",
    eventTypes: new Set(["ParkingReserved", "CustomerErased"]),
    async react(events) {
      for (const stored of events)
        if (stored.event.type === "ParkingReserved") seen.set(stored.event.data.reservationId, stored);
    },
  };
}

describe("the runtimes of a group sharing what they decode", () => {
  let data: ReturnType<typeof tempDataDir>;
  let events: SqliteEventStore;
  let docs: SqliteDocumentStore;
  let keys: MemoryDataKeys;
  const runtimes: ProcessorRuntime[] = [];
  const decoded = new DecodedEvents();

  beforeEach(() => {
    data = tempDataDir("parking-decoded-");
    events = SqliteEventStore.open({ file: join(data.dir, "events.sqlite"), pollIntervalMs: 20 });
    docs = SqliteDocumentStore.open({ file: join(data.dir, "read-models.sqlite") });
    keys = new MemoryDataKeys();
    usePersonalDataKeys(keys);
    decoded.forget();
  });
  afterEach(async () => {
    for (const runtime of runtimes.splice(0)) await runtime.stop();
    usePersonalDataKeys(undefined);
    await events.close();
    await docs.close();
    data.remove();
  });

  const start = async (processor: Projection | Reactor) => {
    const runtime = new ProcessorRuntime({
      processors: [processor],
      eventStore: events,
      documentStore: docs,
      logger,
      batchSize: 8,
      generation: "active",
      decoded,
    });
    runtimes.push(runtime);
    await runtime.start();
    return runtime;
  };
  const atHead = (runtime: ProcessorRuntime) =>
    eventually(
      async () => {
        const head = (await events.headPosition())?.commit ?? 0;
        return runtime.status().every((s) => s.position?.commit === head) ? true : undefined;
      },
      20_000,
      "the runtime at the head of the log",
    );

  it("decodes each event once between them: one key lookup per event, the same event handed to both", async () => {
    const lookups = vi.spyOn(keys, "key");
    const byProjection: Seen = new Map();
    const byReactor: Seen = new Map();
    const projections = await start(recordingProjection(byProjection));
    const reactors = await start(recordingReactor(byReactor));
    const count = 40;
    for (let i = 0; i < count; i += 4)
      await events.appendToStream(
        "parkingLot-lot-1",
        [0, 1, 2, 3].map((k) => booking(i + k, `cust-${(i + k) % 3}`)),
        { expectedRevision: "any" },
      );
    await atHead(projections);
    await atHead(reactors);
    expect(byProjection.size).toBe(count);
    expect(byReactor.size).toBe(count);
    for (const [id, stored] of byProjection) {
      expect(stored.event.data).toMatchObject({ customerId: expect.stringMatching(/^cust-/) });
      expect(byReactor.get(id)).toBe(stored);
    }
    // Each event sealed under one customer's key, opened once (not once per runtime).
    expect(lookups).toHaveBeenCalledTimes(count);
    // Taken by the runtime that read it second: nothing is left holding personal data.
    expect(decoded.size).toBe(0);
  });

  it("hands out nothing decoded before an erasure: a runtime behind it reads `erased`", async () => {
    const byProjection: Seen = new Map();
    const byReactor: Seen = new Map();
    const projections = await start(recordingProjection(byProjection));
    await events.appendToStream("parkingLot-lot-1", [booking(1, "cust-gone"), booking(2, "cust-kept")], {
      expectedRevision: "any",
    });
    await atHead(projections);
    expect(byProjection.get("r-1")?.event.data).toMatchObject({ customerId: "cust-gone" });
    expect(decoded.size).toBe(2); // kept for the reactors, which have not read them yet

    // The erasure: its fact, then its keys (write-side/customer-erasure.ts).
    const erasure = encodeEvent(
      {
        type: "CustomerErased",
        data: {
          subject: keys.pseudonym("cust-gone"),
          reservationIds: ["r-1"],
          parkingLotIds: ["lot-1"],
          erasedAt: "2026-11-23T10:00:00.000Z",
        },
      },
      causation,
    );
    await events.appendToStream(`customer-${keys.pseudonym("cust-gone")}`, [erasure], {
      expectedRevision: "any",
    });
    keys.erase("cust-gone");
    await atHead(projections);

    // The reactors' runtime, behind the erasure, reads the bookings now: decoded again.
    const reactors = await start(recordingReactor(byReactor));
    await atHead(reactors);
    expect(byReactor.get("r-1")?.event.data).toMatchObject({ customerId: ERASED, carNumber: ERASED });
    expect(byReactor.get("r-2")?.event.data).toMatchObject({ customerId: "cust-kept" });
  });
});
