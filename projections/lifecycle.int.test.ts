import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { SqliteDocumentStore } from "../document-store/embedded/sqlite-document-store.js";
import type { DocumentStore } from "../document-store/port.js";
import { PostgresDocumentStore } from "../document-store/postgres/pg-document-store.js";
import { SqliteEventStore } from "../event-store/embedded/sqlite-event-store.js";
import { createLogger } from "../platform/logger.js";
import { type PostgresCluster, startPostgres } from "../test-support/postgres/cluster.js";
import { seedLotEvents } from "../test-support/seed.js";
import { eventually, tempDataDir } from "../test-support/service.js";
import { staleProjections, upgradeProjections } from "./lifecycle.js";
import { startProcessors } from "./processors.js";
import { PROJECTIONS } from "./read-models/index.js";
import { RESERVATIONS, reservationsProjection } from "./read-models/reservations.js";
import { replayLease } from "./replay.js";
import {
  activeGenerations,
  CHECKPOINTS,
  type CheckpointDocument,
  checkpointId,
  physicalCollection,
  readCheckpoint,
} from "./runtime/checkpoints.js";
import { LEASES } from "./runtime/leases.js";
import type { ProcessorGroup } from "./runtime/processor-group.js";

const logger = createLogger("silent");
const SEED = { lots: 3, capacity: 1000, reservations: 1_500, cancellations: 200, customers: 100 } as const;

/** Where the read models are kept: the embedded file, and a database of its own on a real PostgreSQL server. */
let postgres: PostgresCluster | undefined;
let databases = 0;
const READ_MODEL_STORES = [
  {
    name: "the embedded store",
    everyTest: true,
    setup: async () => undefined,
    open: async (dir: string): Promise<DocumentStore> =>
      SqliteDocumentStore.open({ file: join(dir, "read-models.sqlite") }),
  },
  {
    name: "PostgreSQL",
    everyTest: false,
    setup: async () => {
      postgres = await startPostgres();
    },
    open: async (): Promise<DocumentStore> =>
      PostgresDocumentStore.open({
        url: await (postgres as PostgresCluster).createDatabase(`lifecycle_${++databases}`),
      }),
  },
] as const;

afterAll(async () => {
  await postgres?.stop();
});

/**
 * The projection lifecycle: a projection whose live generation was built by another version of
 * its code is rebuilt blue/green when the projectors start; queries read the live generation until
 * the switch, and only one rebuild runs however many processes try. Its generation switches and
 * each batch's checkpoint are writes of the read models' store: on each store.
 */
describe.each(READ_MODEL_STORES)("version-triggered rebuild on $name", (readModels) => {
  const data = tempDataDir("parking-lifecycle-");
  let events: SqliteEventStore;
  let docs: DocumentStore;
  beforeAll(() => readModels.setup(), 60_000);
  /** On PostgreSQL, the rebuild and the race of two rebuilds only (its tests' time is bounded: README). */
  const embeddedOnly: typeof it = readModels.everyTest ? it : ((() => undefined) as unknown as typeof it);
  const running: ProcessorGroup[] = [];

  const start = async () => {
    const runtime = await startProcessors({
      eventStore: events,
      documentStore: docs,
      logger,
      batchSize: 500,
      settings: {},
      lease: { ttlMs: 2000, renewMs: 500 },
    });
    running.push(runtime);
    return runtime;
  };
  const stop = async (runtime: ProcessorGroup) => {
    running.splice(running.indexOf(runtime), 1);
    await runtime.stop();
  };
  const allCaughtUp = (runtime: ProcessorGroup) =>
    eventually(
      async () => (runtime.status().every((s) => s.caughtUp) ? true : undefined),
      30_000,
      "caught up",
    );

  beforeEach(async () => {
    events = SqliteEventStore.open({ file: join(data.dir, "events.sqlite") });
    docs = await readModels.open(data.dir);
    await seedLotEvents(events, SEED);
  });
  afterEach(async () => {
    for (const runtime of running.splice(0)) await runtime.stop();
    await events.close();
    await docs.close();
    data.remove();
  });

  embeddedOnly(
    "records the version that built each generation and rebuilds nothing while it matches",
    async () => {
      const first = await start();
      await allCaughtUp(first);
      const checkpoint = await readCheckpoint(docs, "reservations", 1);
      expect(checkpoint?.version).toBe(reservationsProjection.version);
      await stop(first);
      expect(await staleProjections(docs, PROJECTIONS)).toEqual([]);
      const again = await start();
      await stop(again);
      expect(await activeGenerations(docs)).toEqual(new Map());
    },
  );

  /**
   * Projects the log once, then makes the reservations' live generation look built by version 0
   * of its code (the code is at version 1), with a document that version wrote differently.
   */
  async function builtByAnOlderVersion() {
    const first = await start();
    await allCaughtUp(first);
    await stop(first);
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
    return { live, id: someone._id };
  }

  const activeIs = (generation: number) =>
    eventually(
      async () => ((await activeGenerations(docs)).get("reservations") === generation ? true : undefined),
      60_000,
      `generation ${generation} to be active`,
    );

  it("rebuilds at start-up a projection whose live generation another version built, beside it", async () => {
    const { live, id } = await builtByAnOlderVersion();
    const restarted = await start();
    // Queries still read the live generation, untouched, while the rebuild runs beside it.
    expect((await activeGenerations(docs)).get("reservations")).toBeUndefined();
    expect(await docs.findById(live, id)).toMatchObject({ writtenBy: "version 0" });

    await activeIs(2);
    const rebuilt = physicalCollection(RESERVATIONS, 2);
    expect(await docs.findById(rebuilt, id)).not.toHaveProperty("writtenBy");
    expect(await docs.count(rebuilt, {})).toBe(await docs.count(live, {}));
    const checkpoint = await docs.findById<CheckpointDocument>(CHECKPOINTS, checkpointId("reservations", 2));
    expect(checkpoint?.version).toBe(reservationsProjection.version);
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
    expect((await activeGenerations(docs)).get("reservations")).toBe(2);
  }, 90_000);

  embeddedOnly(
    "resumes a version rebuild whose process died mid-way, its replay lease left to expire",
    async () => {
      const { live, id } = await builtByAnOlderVersion();
      // The process that started the rebuild was killed part way: a half-built generation 2, and its
      // replay lease, held by a process that is gone (another host), for 3 more seconds.
      const halfBuilt = physicalCollection(RESERVATIONS, 2);
      await docs.write([
        { op: "replace", collection: halfBuilt, id: "half", document: { writtenBy: "the dead rebuild" } },
        {
          op: "update",
          collection: LEASES,
          id: replayLease("reservations"),
          upsert: true,
          update: {
            $set: {
              owner: "another-host/4242/deadbeef",
              epoch: 1,
              expiresAt: Date.now() + 3000,
              renewedAt: new Date().toISOString(),
            },
          },
        },
      ]);
      // Restarted before the lease expired (before: refused once and never tried again, the version
      // 0 generation kept live and maintained by version 1's code).
      const restarted = await start();
      await activeIs(2);
      expect(await docs.findById(halfBuilt, "half")).toBeNull();
      expect(await docs.findById(halfBuilt, id)).not.toHaveProperty("writtenBy");
      expect(await docs.count(halfBuilt, {})).toBe(await docs.count(live, {}));
      await stop(restarted);
      expect(await staleProjections(docs, PROJECTIONS)).toEqual([]);
    },
    90_000,
  );

  embeddedOnly(
    "stops at once while waiting for another process's rebuild",
    async () => {
      await builtByAnOlderVersion();
      await docs.write([
        {
          op: "update",
          collection: LEASES,
          id: replayLease("reservations"),
          upsert: true,
          update: { $set: { owner: "another-host/4242/deadbeef", epoch: 1, expiresAt: Date.now() + 60_000 } },
        },
      ]);
      const restarted = await start();
      const stopping = Date.now();
      await stop(restarted);
      expect(Date.now() - stopping).toBeLessThan(10_000);
      expect((await activeGenerations(docs)).get("reservations")).toBeUndefined();
    },
    30_000,
  );

  it("lets one of two processes rebuild for the new version; the other is refused and drops nothing", async () => {
    const { live, id } = await builtByAnOlderVersion();
    const options = {
      eventStore: events,
      documentStore: docs,
      projections: PROJECTIONS,
      logger,
      graceMs: 1000,
    };
    const outcomes = await Promise.all([upgradeProjections(options), upgradeProjections(options)]);
    expect([...outcomes].sort()).toEqual(["rebuilt", "refused"]);
    // One rebuild: generation 2, built from the log, the replaced one dropped after the grace.
    expect((await activeGenerations(docs)).get("reservations")).toBe(2);
    expect(await docs.findById(physicalCollection(RESERVATIONS, 2), id)).not.toHaveProperty("writtenBy");
    expect(await docs.count(live, {})).toBe(0);
    // Once over, the version is current: a later start rebuilds nothing.
    expect(await upgradeProjections(options)).toBe("current");
  }, 90_000);
});
