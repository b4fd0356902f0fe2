import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SqliteDocumentStore } from "../../document-store/embedded/sqlite-document-store.js";
import { SqliteEventStore } from "../../event-store/embedded/sqlite-event-store.js";
import type { EventStore, RecordedEvent } from "../../event-store/port.js";
import type { ParkingLotCommand } from "../../schemas/commands.js";
import { lotCommands } from "../../test-support/lot-commands.js";
import { indexReservationEvents } from "../../test-support/reservation-events-index.js";
import { tempDataDir } from "../../test-support/service.js";
import { ParkingLotCommandHandler } from "../../write-side/command-handler.js";
import { readViews } from "../views/views.js";
import { HistoryService } from "./history-service.js";

/**
 * EventStoreDB reports every event of one append at the append's commit position, told apart only
 * by their prepare positions; the embedded log gives each its own. A drive-up appends three facts
 * at once (admitted, booked, checked in), and concurrent bookings of one lot are appended as one
 * batch (decider-runner.ts). Over a log that reports positions the EventStoreDB way, a lot's and a
 * reservation's history pages must walk every fact once at every page size: a cursor meaning
 * "after this commit" skipped the rest of an append.
 */

const NOW = "2026-11-22T11:00:00.000Z";
const LOT = "T";
/** A lot without a rate, for the batch of open-ended bookings. */
const FREE = "F";
const commands = lotCommands(NOW);

/** `store` read back as EventStoreDB reports it: each event at its append's last position (commit). */
function withTiedCommits(store: SqliteEventStore): EventStore {
  const commitOf = new Map<number, number>();
  const tie = (raw: RecordedEvent): RecordedEvent => {
    const commit = commitOf.get(raw.position.prepare) ?? raw.position.commit;
    return { ...raw, position: { commit, prepare: raw.position.prepare } };
  };
  async function* tied(events: AsyncIterable<RecordedEvent>) {
    for await (const raw of events) yield tie(raw);
  }
  return Object.assign(Object.create(store) as EventStore, {
    appendToStream: async (...args: Parameters<EventStore["appendToStream"]>) => {
      const result = await store.appendToStream(...args);
      const last = result.position.commit;
      for (let p = last - args[1].length + 1; p <= last; p++) commitOf.set(p, last);
      return result;
    },
    readStream: (...args: Parameters<EventStore["readStream"]>) => tied(store.readStream(...args)),
    readAll: (...args: Parameters<EventStore["readAll"]>) => tied(store.readAll(...args)),
  });
}

/** A history service over `events`, with the reservation-events index of its whole log in `docs`. */
async function historyOver(events: EventStore, docs: SqliteDocumentStore): Promise<HistoryService> {
  await indexReservationEvents(events, docs);
  return new HistoryService(
    events,
    readViews(docs, { readYourWritesTimeoutMs: 0, eventStore: events }).context,
  );
}

describe("history pages over facts appended together (one commit position, several events)", () => {
  const data = tempDataDir("parking-tied-history-");
  let sqlite: SqliteEventStore;
  let events: EventStore;
  let docs: SqliteDocumentStore;
  let history: HistoryService;
  const tiedHistory = () => history;
  /** The same log as the embedded store reports it (a position each), with its own index. */
  let embedded: HistoryService;
  let embeddedDocs: SqliteDocumentStore;

  beforeAll(async () => {
    sqlite = SqliteEventStore.open({ file: join(data.dir, "events.sqlite") });
    events = withTiedCommits(sqlite);
    docs = SqliteDocumentStore.open({ file: join(data.dir, "read-models.sqlite") });
    const handler = new ParkingLotCommandHandler(events, {
      retryLimit: 5,
      cacheSize: 10,
      now: () => Date.parse(NOW),
    });
    const ok = async (command: ParkingLotCommand, i: string) =>
      expect(await handler.handle(command, commands.context(i))).toMatchObject({ ok: true });
    // A rate: a drive-up stays at the lot's rate.
    await ok({ ...commands.register(LOT, "Tied", 100), hourlyRate: 3000 } as ParkingLotCommand, "register");
    for (const i of [1, 2, 3]) {
      await ok(
        {
          type: "AdmitDriveUp",
          reservationId: `D${i}`,
          parkingLotId: LOT,
          carNumber: `12가34${i}0`,
          gateId: "g",
          now: NOW,
        },
        `drive-${i}`,
      );
    }
    // Bookings sent together: decided as one batch, appended at once.
    await ok(commands.register(FREE, "Free", 100), "register-free");
    const together = await Promise.all(
      [1, 2, 3, 4].map((i) => handler.handle(commands.reserve(FREE, `R${i}`), commands.context(`r${i}`))),
    );
    expect(together.every((r) => r.ok)).toBe(true);

    history = await historyOver(events, docs);
    embeddedDocs = SqliteDocumentStore.open({ file: ":memory:" });
    embedded = await historyOver(sqlite, embeddedDocs);
  }, 60_000);
  afterAll(async () => {
    await sqlite?.close();
    await docs?.close();
    await embeddedDocs?.close();
    data.remove();
  });

  const walk = async (
    page: (
      cursor?: number,
    ) => Promise<{ items: { type: string; position: string }[]; nextCursor: string | null } | null>,
  ) => {
    const seen: string[] = [];
    let cursor: number | undefined;
    for (let n = 0; n < 100; n++) {
      const answer = await page(cursor);
      seen.push(...(answer?.items.map((e) => `${e.type}@${e.position}`) ?? []));
      if (!answer || answer.nextCursor === null) return seen;
      cursor = Number(answer.nextCursor);
    }
    throw new Error("more than 100 pages");
  };

  /** How many facts share each commit of `lot`'s stream. */
  const ties = async (lot: string) => {
    const commits = new Map<number, number>();
    for await (const raw of events.readStream(`parkingLot-${lot}`))
      commits.set(raw.position.commit, (commits.get(raw.position.commit) ?? 0) + 1);
    return [...commits.values()];
  };

  it("the log really ties facts: a drive-up's three, and bookings sent together", async () => {
    expect((await ties(LOT)).filter((n) => n === 3)).toHaveLength(3);
    expect(Math.max(...(await ties(FREE)))).toBeGreaterThan(1);
  });

  it.each([1, 2, 3, 5])("a lot's history at %i a page: every fact once, in log order", async (limit) => {
    for (const lot of [LOT, FREE]) {
      const all: string[] = [];
      for await (const raw of events.readStream(`parkingLot-${lot}`))
        all.push(`${raw.type}@${raw.position.commit}`);
      expect(
        await walk((cursor) => history.lot(lot, { limit, ...(cursor === undefined ? {} : { cursor }) })),
      ).toEqual(all);
    }
  });

  it.each([
    [1, "tied"],
    [2, "tied"],
    [1, "embedded"],
    [50, "embedded"],
  ] as const)(
    "a drive-up's history at %i a page (%s positions): admitted, booked and checked in, each once (it was a 404: its first fact is no booking)",
    async (limit, positions) => {
      const history = positions === "tied" ? tiedHistory() : embedded;
      let booked: RecordedEvent | undefined;
      for await (const raw of events.readStream(`parkingLot-${LOT}`))
        if (raw.type === "ParkingReserved") booked ??= raw;
      if (!booked) throw new Error("no booking");
      const where = { parkingLotId: LOT, position: booked.position.commit };
      const seen = await walk(
        async (cursor) =>
          (await history.reservation("D1", where, { limit, ...(cursor === undefined ? {} : { cursor }) }))
            ?.page ?? null,
      );
      expect(seen.map((s) => s.split("@")[0])).toEqual([
        "DriveUpAdmitted",
        "ParkingReserved",
        "ReservationCheckedIn",
      ]);
    },
  );
});
