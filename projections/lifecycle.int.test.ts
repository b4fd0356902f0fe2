import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SqliteDocumentStore } from "../document-store/embedded/sqlite-document-store.js";
import { SqliteEventStore } from "../event-store/embedded/sqlite-event-store.js";
import { createLogger } from "../platform/logger.js";
import { seedLotEvents } from "../test-support/seed.js";
import { eventually, tempDataDir } from "../test-support/service.js";
import { staleProjections, upgradeProjections } from "./lifecycle.js";
import { startProcessors } from "./processors.js";
import { PROJECTIONS } from "./read-models/index.js";
import { RESERVATIONS } from "./read-models/reservations.js";
import {
  activeGenerations,
  CHECKPOINTS,
  type CheckpointDocument,
  checkpointId,
  physicalCollection,
  readCheckpoint,
} from "./runtime/checkpoints.js";
import type { ProcessorRuntime } from "./runtime/processor-runtime.js";

const logger = createLogger("silent");
const SEED = { lots: 3, capacity: 1000, reservations: 1_500, cancellations: 200, customers: 100 } as const;

/**
 * The projection lifecycle: a projection whose live generation was built by another version of
 * its code is rebuilt blue/green when the projectors start; queries read the live generation until
 * the switch, and only one rebuild runs however many processes try.
 */
describe("version-triggered rebuild", () => {
  const data = tempDataDir("parking-lifecycle-");
  let events: SqliteEventStore;
  let docs: SqliteDocumentStore;
  const running: ProcessorRuntime[] = [];

  const start = async () => {
    const runtime = await startProcessors({
      eventStore: events,
      documentStore: docs,
      logger,
      batchSize: 500,
      settings: { lotSnapshotEvery: 0 },
      lease: { ttlMs: 2000, renewMs: 500 },
    });
    running.push(runtime);
    return runtime;
  };
  const stop = async (runtime: ProcessorRuntime) => {
    running.splice(running.indexOf(runtime), 1);
    await runtime.stop();
  };
  const allCaughtUp = (runtime: ProcessorRuntime) =>
    eventually(
      async () => (runtime.status().every((s) => s.caughtUp) ? true : undefined),
      30_000,
      "caught up",
    );

  beforeEach(async () => {
    events = SqliteEventStore.open({ file: join(data.dir, "events.sqlite") });
    docs = SqliteDocumentStore.open({ file: join(data.dir, "read-models.sqlite") });
    await seedLotEvents(events, SEED);
  });
  afterEach(async () => {
    for (const runtime of running.splice(0)) await runtime.stop();
    await events.close();
    await docs.close();
    data.remove();
  });

  it("records the version that built each generation and rebuilds nothing while it matches", async () => {
    const first = await start();
    await allCaughtUp(first);
    const checkpoint = await readCheckpoint(docs, "reservations", 1);
    expect(checkpoint?.version).toBe(1);
    await stop(first);
    expect(await staleProjections(docs, PROJECTIONS)).toEqual([]);
    const again = await start();
    await stop(again);
    expect(await activeGenerations(docs)).toEqual(new Map());
  });

  it("rebuilds a projection whose live generation another version built, beside it; one rebuild only", async () => {
    const first = await start();
    await allCaughtUp(first);
    await stop(first);
    // The reservations' live generation was built by version 0 of its code, and holds a document
    // that version wrote differently; the code is now at version 1.
    const live = physicalCollection(RESERVATIONS, 1);
    const [someone] = await docs.find<{ _id: string }>(live, {}, { limit: 1 });
    if (!someone) throw new Error("no reservation was projected");
    await docs.write([
      {
        op: "update",
        collection: CHECKPOINTS,
        id: checkpointId("reservations", 1),
        update: { $set: { version: 0 } },
      },
      { op: "update", collection: live, id: someone._id, update: { $set: { writtenBy: "version 0" } } },
    ]);
    expect((await staleProjections(docs, PROJECTIONS)).map((s) => [s.projection.name, s.built])).toEqual([
      ["reservations", 0],
    ]);

    const restarted = await start();
    // Queries still read the live generation, untouched, while the rebuild runs beside it.
    expect((await activeGenerations(docs)).get("reservations")).toBeUndefined();
    expect(await docs.findById(live, someone._id)).toMatchObject({ writtenBy: "version 0" });
    // Another process trying the same at the same time is refused (or, once the switch is done,
    // finds nothing to rebuild): never a second generation, never a drop of the first's.
    const second = await upgradeProjections({
      eventStore: events,
      documentStore: docs,
      projections: PROJECTIONS,
      logger,
    });
    expect(["refused", "current"]).toContain(second);

    await eventually(
      async () => ((await activeGenerations(docs)).get("reservations") === 2 ? true : undefined),
      60_000,
      "the rebuilt generation to be active",
    );
    const rebuilt = physicalCollection(RESERVATIONS, 2);
    expect(await docs.findById(rebuilt, someone._id)).not.toHaveProperty("writtenBy");
    expect(await docs.count(rebuilt, {})).toBe(await docs.count(live, {}));
    const checkpoint = await docs.findById<CheckpointDocument>(CHECKPOINTS, checkpointId("reservations", 2));
    expect(checkpoint?.version).toBe(1);
    // The live runtime switched to it; the other projections kept their generation.
    await eventually(
      async () =>
        restarted.status().find((s) => s.name === "reservations")?.generation === 2 ? true : undefined,
      10_000,
      "the live runtime to switch",
    );
    expect([...(await activeGenerations(docs)).keys()]).toEqual(["reservations"]);
    // stop() waits for the rebuild, which drops the replaced generation after its grace period.
    await stop(restarted);
    expect(await docs.count(live, {})).toBe(0);
    expect(await staleProjections(docs, PROJECTIONS)).toEqual([]);
  }, 90_000);
});
