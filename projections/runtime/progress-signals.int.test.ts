import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SqliteDocumentStore } from "../../document-store/embedded/sqlite-document-store.js";
import { SqliteEventStore } from "../../event-store/embedded/sqlite-event-store.js";
import { createLogger } from "../../platform/logger.js";
import { seedLotEvents } from "../../test-support/seed.js";
import { eventually, tempDataDir } from "../../test-support/service.js";
import { PROJECTIONS } from "../read-models/index.js";
import { readCheckpoint } from "./checkpoints.js";
import { ProcessorRuntime } from "./processor-runtime.js";
import { advancedTo } from "./progress.js";

const SEED = { lots: 2, capacity: 500, reservations: 300, cancellations: 50, customers: 20 } as const;

/** The runtime says when a processor reached a position: nobody polls for it. */
describe("progress signals of the processor runtime", () => {
  const data = tempDataDir("parking-progress-");
  let events: SqliteEventStore;
  let docs: SqliteDocumentStore;
  let runtime: ProcessorRuntime;

  beforeEach(async () => {
    events = SqliteEventStore.open({ file: join(data.dir, "events.sqlite") });
    docs = SqliteDocumentStore.open({ file: join(data.dir, "read-models.sqlite") });
    runtime = new ProcessorRuntime({
      processors: PROJECTIONS,
      eventStore: events,
      documentStore: docs,
      logger: createLogger("silent"),
      batchSize: 100,
      generation: "active",
    });
  });
  const caughtUp = () =>
    eventually(async () => (runtime.status().every((s) => s.caughtUp) ? true : undefined), 30_000);
  afterEach(async () => {
    await runtime.stop();
    await events.close();
    await docs.close();
    data.remove();
  });

  it("a processor is caught up once it has stored everything the log held", async () => {
    const seeded = await seedLotEvents(events, SEED);
    await runtime.start();
    await caughtUp();
    // Stored, not only seen: the checkpoint is at the head for the projection of every event type.
    const checkpoint = await readCheckpoint(docs, "reservations", 1);
    expect(checkpoint?.position?.commit).toBeGreaterThanOrEqual(seeded.lastPosition.commit);
  });

  it("whenReached resolves when a later append is applied, and at once for one already applied", async () => {
    await runtime.start();
    await caughtUp();
    const later = seedLotEvents(events, { ...SEED, lotPrefix: "later-" });
    const { lastPosition, reservations } = await later;
    const last = reservations.at(-1);
    if (!last) throw new Error("nothing seeded");
    await runtime.whenReached("reservations", lastPosition, AbortSignal.timeout(30_000));
    expect(await docs.findById("reservations_g1", last.reservationId)).not.toBeNull();
    await expect(runtime.whenReached("reservations", last.position)).resolves.toBeUndefined();
  });

  it("advancedTo gives up with the signal's reason when the position never comes", async () => {
    await runtime.start();
    const far = { commit: Number.MAX_SAFE_INTEGER, prepare: 0 };
    await expect(advancedTo(runtime, "reservations", far, AbortSignal.timeout(50))).rejects.toMatchObject({
      name: "TimeoutError",
    });
  });
});
