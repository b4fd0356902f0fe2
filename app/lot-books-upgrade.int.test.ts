import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RecordedEvent } from "../event-store/port.js";
import { readViews } from "../read-api/views/views.js";
import { countingReads, lotOrdinal } from "../test-support/counting-reads.js";
import { plainOf } from "../test-support/lot-state.js";
import { readAllEvents, seedDataDir } from "../test-support/seed.js";
import { startTestService, tempDataDir } from "../test-support/service.js";
import { LOT_BOOKS_CLOSED } from "../write-side/lot-books-upgrade.js";
import { parkingLotStream } from "../write-side/parking-lot/periods.js";
import { UPGRADES } from "../write-side/payment/payment-upgrade.js";
import type { RunningService } from "./server.js";

/**
 * Issue 48: every period is bounded, period 0 too. A lot written by a version before periods (its
 * writer closes no books: the seed's command handler) holds more events in its one stream than
 * the bound; today's service closes its books on start, before any command, with the close its
 * command handler makes (LotBooksClosed at the end of period 0, the live state opening period 1),
 * records it done (a later start appends nothing), and the read side then loads the lot from that
 * opening alone, into the write side's very state.
 */

const BOUND = 50;
const LOT = "old-1";

describe("a lot of an older version over the bound, on start (issue 48)", () => {
  const data = tempDataDir("parking-old-books-");
  let service: RunningService | undefined;
  let seededEvents = 0;

  beforeAll(async () => {
    const seeded = await seedDataDir(data.dir, {
      lots: 1,
      capacity: 200,
      reservations: 60,
      cancellations: 10,
      stays: 5,
      lotPrefix: "old-",
      concurrency: 1,
    });
    seededEvents = seeded.lotEvents;
    service = await startTestService(data.dir, { LOT_PERIOD_EVENTS: String(BOUND) });
  }, 60_000);
  afterAll(async () => {
    await service?.shutdown("test done", { drain: false });
    data.remove();
  });

  const running = () => {
    if (!service) throw new Error("the service did not start");
    return service;
  };
  const log = async (): Promise<RecordedEvent[]> => {
    const events = running().services.eventStore;
    if (!events) throw new Error("the service has no event store");
    return readAllEvents(events);
  };

  it("closes its period 0 on start and opens period 1 with its live state", async () => {
    expect(seededEvents).toBeGreaterThan(BOUND);
    const events = await log();
    const period0 = events.filter((e) => e.streamId === parkingLotStream(LOT));
    expect(period0).toHaveLength(seededEvents + 1);
    expect(period0.at(-1)?.type).toBe("LotBooksClosed");
    const period1 = events.filter((e) => e.streamId === parkingLotStream(LOT, 1));
    expect(period1.map((e) => e.type)).toEqual(["LotPeriodOpened"]);
    const marker = await running().services.documentStore?.findById(UPGRADES, LOT_BOOKS_CLOSED);
    expect(marker).toMatchObject({ bound: BOUND, lots: 1, closed: 1 });
  });

  it("reads nothing before the opening on the read side, and finds the write side's very state", async () => {
    const { documentStore: documents, commands, eventStore } = running().services;
    if (!documents || !commands || !eventStore) throw new Error("the service has no stores or commands");
    const written = plainOf(await commands.stateOf(LOT));
    const opening = lotOrdinal({ streamId: parkingLotStream(LOT, 1), revision: 0 });
    // A fresh read side (nothing kept) loads the lot from the event store, through the write side's loader.
    const counting = countingReads(eventStore);
    const views = readViews(documents, { eventStore: counting.events, readYourWritesTimeoutMs: 0 });
    const state = await views.lots.states.state(LOT);
    expect(state && plainOf(state)).toEqual(written);
    expect(counting.read.length).toBeGreaterThan(0);
    expect(counting.read.filter((at) => at < opening)).toEqual([]);
  });

  it("closes nothing again on a later start: the record says it is done", async () => {
    const onLot = async () =>
      (await log()).filter((e) => e.streamId.startsWith(parkingLotStream(LOT))).map((e) => e.id);
    const marker = () => running().services.documentStore?.findById(UPGRADES, LOT_BOOKS_CLOSED);
    const [before, recorded] = [await onLot(), await marker()];
    await running().shutdown("restart", { drain: false });
    service = await startTestService(data.dir, { LOT_PERIOD_EVENTS: String(BOUND) });
    expect(await onLot()).toEqual(before);
    expect(await marker()).toEqual(recorded);
  }, 60_000);
});
