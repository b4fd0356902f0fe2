import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { SqliteDocumentStore } from "../document-store/embedded/sqlite-document-store.js";
import { SqliteEventStore } from "../event-store/embedded/sqlite-event-store.js";
import type { EventStore } from "../event-store/port.js";
import { localDay, nextDay, startOfLocalDay } from "../platform/local-time.js";
import { createLogger } from "../platform/logger.js";
import type { ReactorContext } from "../projections/runtime/processor.js";
import { SCHEDULE, scheduler } from "../projections/scheduler/scheduler.js";
import type { ParkingLotCommand } from "../schemas/commands.js";
import { decodeEvent, type StoredDomainEvent } from "../schemas/event-codec.js";
import { lotCommands } from "../test-support/lot-commands.js";
import { tempDataDir } from "../test-support/service.js";
import { ParkingLotCommandHandler } from "../write-side/command-handler.js";
import { parkingLotStream } from "../write-side/parking-lot/periods.js";
import { schedulerCommands } from "./scheduler-commands.js";

/**
 * Issue 68: a quiet lot's books close at its local day boundary, sent by the scheduler (one fact
 * per lot): the lot's decider decides when they are due, and the scheduler looks again only then.
 */

const { context, register, reserve } = lotCommands("2026-11-22T11:00:00.000Z");
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function streamEvents(store: EventStore, stream: string): Promise<StoredDomainEvent[]> {
  const out: StoredDomainEvent[] = [];
  for await (const recorded of store.readStream(stream)) out.push(decodeEvent(recorded));
  return out;
}

describe("the scheduler closes a quiet lot's books at its local day boundary (issue 68)", () => {
  it("closes a period of an earlier day with no command on the lot, then waits for the lot's next midnight", async () => {
    const data = tempDataDir("scheduler-books-");
    const events = SqliteEventStore.open({ file: join(data.dir, "events.sqlite") });
    const documents = SqliteDocumentStore.open({ file: ":memory:" });
    cleanups.push(
      data.remove,
      () => events.close(),
      () => documents.close(),
    );
    // By the lot's clock (16:00Z: past Seoul's midnight, 15:00Z) the registration's append closes
    // period 0 and opens period 1 on 2026-11-23, a day long past by the service's clock.
    const handler = new ParkingLotCommandHandler(events, {
      retryLimit: 5,
      cacheSize: 4,
      periodEvents: 1000,
      now: () => Date.parse("2026-11-22T16:00:00.000Z"),
    });
    const registration = { ...register("Q"), timeZone: "Asia/Seoul" } as ParkingLotCommand;
    await handler.handle(registration, context("register"));
    expect((await handler.handle(reserve("Q", "r1"), context("r1"))).ok).toBe(true);
    await handler.lotSettled("Q");

    const send = schedulerCommands(events, {
      logger: createLogger("silent"),
      retryLimit: 5,
      periodEvents: 1000,
    });
    const sent: string[] = [];
    const reactor = scheduler({
      send: async (command, cause) => {
        sent.push(command.type);
        return send(command, cause);
      },
    });
    const reactorContext: ReactorContext = {
      eventStore: events,
      documentStore: documents,
      logger: createLogger("silent"),
      now: Date.now,
    };
    await reactor.react(await streamEvents(events, parkingLotStream("Q")), reactorContext);
    const period1 = await streamEvents(events, parkingLotStream("Q", 1));
    expect(period1[0]?.event.type).toBe("LotPeriodOpened");
    // Period 1 is quiet: the scheduler's fact, put by its opening, closes it.
    await reactor.react(period1, reactorContext);
    await reactor.tick?.run(reactorContext);
    expect(sent).toEqual(["CloseBooks"]);
    expect((await streamEvents(events, parkingLotStream("Q", 1))).map((e) => e.event.type)).toEqual([
      "LotPeriodOpened",
      "ParkingReserved",
      "LotBooksClosed",
    ]);
    const period2 = await streamEvents(events, parkingLotStream("Q", 2));
    const opened = period2[0]?.event;
    expect(opened?.type).toBe("LotPeriodOpened");

    // The opening reschedules the lot's books; the lot says they are due at its next local midnight.
    await reactor.react(period2, reactorContext);
    await reactor.tick?.run(reactorContext);
    await reactor.tick?.run(reactorContext); // not due: the fact is not sent again before then
    expect(sent).toEqual(["CloseBooks", "CloseBooks"]);
    const openedAt = opened?.type === "LotPeriodOpened" ? Date.parse(opened.data.openedAt) : Number.NaN;
    const midnight = startOfLocalDay(nextDay(localDay(openedAt, "Asia/Seoul")), "Asia/Seoul");
    const due = await documents.find(SCHEDULE, {}, {});
    expect(due.map((d) => [d._id, d.dueAt])).toEqual([["books:Q", new Date(midnight).toISOString()]]);
    expect(await streamEvents(events, parkingLotStream("Q", 3))).toEqual([]);
  });
});
