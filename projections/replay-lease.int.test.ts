import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SqliteDocumentStore } from "../document-store/embedded/sqlite-document-store.js";
import { SqliteEventStore } from "../event-store/embedded/sqlite-event-store.js";
import { createLogger } from "../platform/logger.js";
import { seedLotEvents } from "../test-support/seed.js";
import { tempDataDir } from "../test-support/service.js";
import { PROJECTIONS } from "./read-models/index.js";
import { ReplayInProgressError, rebuildProjections } from "./replay.js";
import { activeGenerations } from "./runtime/checkpoints.js";

/** One rebuild of a projection at a time: a second is refused and harms nothing of the first. */
describe("the replay lease", () => {
  const data = tempDataDir("parking-replay-lease-");
  let events: SqliteEventStore;
  let docs: SqliteDocumentStore;
  const logger = createLogger("silent");

  beforeEach(async () => {
    events = SqliteEventStore.open({ file: join(data.dir, "events.sqlite") });
    docs = SqliteDocumentStore.open({ file: join(data.dir, "read-models.sqlite") });
    await seedLotEvents(events, {
      lots: 3,
      capacity: 1000,
      reservations: 2_000,
      cancellations: 300,
      customers: 1000,
    });
  });
  afterEach(async () => {
    await events.close();
    await docs.close();
    data.remove();
  });

  it("refuses a second rebuild of the same projection while the first runs; the first completes", async () => {
    const options = { eventStore: events, documentStore: docs, logger, graceMs: 1000, batchSize: 100 };
    const first = rebuildProjections({ ...options, projections: PROJECTIONS, progressIntervalMs: 50 });
    // Let the first take its leases, then try again: refused at once, nothing dropped.
    await new Promise((resolve) => setTimeout(resolve, 30));
    await expect(
      rebuildProjections({ ...options, projections: PROJECTIONS.filter((p) => p.name === "reservations") }),
    ).rejects.toBeInstanceOf(ReplayInProgressError);
    const result = await first;
    expect(result.generations.reservations).toEqual({ from: 1, to: 2 });
    expect((await activeGenerations(docs)).get("reservations")).toBe(2);
    // Once it is over, the next rebuild may run.
    const again = await rebuildProjections({
      ...options,
      projections: PROJECTIONS.filter((p) => p.name === "reservations"),
    });
    expect(again.generations.reservations).toEqual({ from: 2, to: 3 });
  });
});
