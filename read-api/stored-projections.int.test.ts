import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SqliteDocumentStore } from "../document-store/embedded/sqlite-document-store.js";
import { SqliteEventStore } from "../event-store/embedded/sqlite-event-store.js";
import { createLogger } from "../platform/logger.js";
import { PROJECTIONS } from "../projections/read-models/index.js";
import { PARKING_LOTS } from "../projections/read-models/parking-lots.js";
import { rebuildProjections } from "../projections/replay.js";
import { seedLotEvents } from "../test-support/seed.js";
import { tempDataDir } from "../test-support/service.js";
import { storedProjections } from "./stored-projections.js";
import { readViews } from "./views/views.js";

/** A rebuild's switch is a signal to the query side of the same process, not something it polls for. */
describe("the projections as the query side sees them", () => {
  const data = tempDataDir("parking-stored-projections-");
  let events: SqliteEventStore;
  let docs: SqliteDocumentStore;

  beforeEach(async () => {
    events = SqliteEventStore.open({ file: join(data.dir, "events.sqlite") });
    docs = SqliteDocumentStore.open({ file: join(data.dir, "read-models.sqlite") });
    await seedLotEvents(events, {
      lots: 2,
      capacity: 100,
      reservations: 50,
      cancellations: 5,
      customers: 10,
    });
  });
  afterEach(async () => {
    await events.close();
    await docs.close();
    data.remove();
  });

  it("tells a listener when a rebuild activates its generations, and the queries then read them", async () => {
    const projections = storedProjections(docs);
    const switched: number[] = [];
    const parkingLots = PROJECTIONS.filter((p) => p.name === "parking-lots");
    const unsubscribe = projections.onGenerationSwitch?.(async () => {
      switched.push((await projections.activeGenerations()).get("parking-lots") ?? 1);
    });
    const { lots } = readViews(docs, { eventStore: events, projections, readYourWritesTimeoutMs: 0 });
    const logger = createLogger("silent");
    await rebuildProjections({
      eventStore: events,
      documentStore: docs,
      projections: parkingLots,
      logger,
      graceMs: 0,
    });
    expect(switched).toEqual([2]);
    expect((await lots.parkingLots({ limit: 10 })).items).toHaveLength(2);
    expect(projections.physicalCollection(PARKING_LOTS, 2)).toBe("parking_lots_g2");
    unsubscribe?.();
  });
});
