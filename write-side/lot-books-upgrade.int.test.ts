import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { SqliteDocumentStore } from "../document-store/embedded/sqlite-document-store.js";
import { SqliteEventStore } from "../event-store/embedded/sqlite-event-store.js";
import type { EventStore, RecordedEvent } from "../event-store/port.js";
import { lotCommands } from "../test-support/lot-commands.js";
import { tempDataDir } from "../test-support/service.js";
import { ParkingLotCommandHandler } from "./command-handler.js";
import { closeLotBooks, type LotBooksUpgradeOptions, upgradeLotBooks } from "./lot-books-upgrade.js";
import { parkingLotStream } from "./parking-lot/periods.js";

/**
 * Issue 48: the upgrade that closes the books of the lots an older version left over the bound,
 * with the command handler's own close; a command racing it is kept; a record per bound.
 */

const NOW = "2026-11-22T11:00:00.000Z";
const BOUND = 50;
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function openStores(): { events: SqliteEventStore; documents: SqliteDocumentStore } {
  const data = tempDataDir("lot-books-upgrade-");
  const events = SqliteEventStore.open({ file: join(data.dir, "events.sqlite") });
  const documents = SqliteDocumentStore.open({ file: ":memory:" });
  cleanups.push(
    data.remove,
    () => events.close(),
    () => documents.close(),
  );
  return { events, documents };
}

/** A writer of the version before periods: it closes no books (periodEvents 0). */
const oldWriter = (store: EventStore) =>
  new ParkingLotCommandHandler(store, { retryLimit: 5, cacheSize: 10, periodEvents: 0 });

const { context, reserve } = lotCommands(NOW);

/** Registers `lot` and books `count` reservations on it with `handler`. */
async function lotOf(handler: ParkingLotCommandHandler, lot: string, count: number): Promise<void> {
  const registered = await handler.handle(
    { type: "RegisterParkingLot", parkingLotId: lot, name: lot, capacity: 1000, now: NOW },
    context(`register-${lot}`),
  );
  expect(registered.ok).toBe(true);
  for (let i = 0; i < count; i++)
    expect((await handler.handle(reserve(lot, `${lot}-r${i}`), context(`${lot}-r${i}`))).ok).toBe(true);
}

async function types(store: EventStore, stream: string): Promise<string[]> {
  const out: RecordedEvent[] = [];
  for await (const e of store.readStream(stream)) out.push(e);
  return out.map((e) => e.type);
}

const optionsOf = (events: EventStore, bound = BOUND): LotBooksUpgradeOptions => ({
  eventStore: events,
  bound,
  now: () => new Date(NOW),
});

describe("closing the books of the lots over the bound (issue 48)", () => {
  it("closes the lots at or over the bound, leaves the others, and records it done for the bound", async () => {
    const { events, documents } = openStores();
    const writer = oldWriter(events);
    await lotOf(writer, "big", BOUND + 5);
    await lotOf(writer, "small", 3);
    const result = await upgradeLotBooks(documents, optionsOf(events));
    expect(result).toMatchObject({ lotsTotal: 2, closed: 1, doneBefore: false });
    expect((await types(events, parkingLotStream("big"))).at(-1)).toBe("LotBooksClosed");
    expect(await types(events, parkingLotStream("big", 1))).toEqual(["LotPeriodOpened"]);
    expect(await types(events, parkingLotStream("small", 1))).toEqual([]);
    // Recorded: a later start reads the record alone; a lower bound runs it again.
    expect(await upgradeLotBooks(documents, optionsOf(events))).toMatchObject({
      doneBefore: true,
    });
    const again = await upgradeLotBooks(documents, optionsOf(events, 4));
    expect(again).toMatchObject({ doneBefore: false, lotsTotal: 2, closed: 1 });
    expect(await types(events, parkingLotStream("small", 1))).toEqual(["LotPeriodOpened"]);
  });

  it("keeps a command another process appends between its read and its close, and closes the period once", async () => {
    const { events } = openStores();
    await lotOf(oldWriter(events), "L", BOUND);
    const racer = oldWriter(events);
    let raced = false;
    // The store the upgrade writes through: just before its first close, another process's command lands.
    const racing: EventStore = Object.create(events);
    racing.appendToStream = async (streamId, toAppend, options) => {
      if (!raced && toAppend.some((e) => e.type === "LotBooksClosed")) {
        raced = true;
        expect((await racer.handle(reserve("L", "racer"), context("racer"))).ok).toBe(true);
      }
      return events.appendToStream(streamId, toAppend, options);
    };
    const result = await closeLotBooks(optionsOf(racing));
    expect(raced).toBe(true);
    expect(result).toMatchObject({ lotsTotal: 1, closed: 1 });
    const period0 = await types(events, parkingLotStream("L"));
    expect(period0.slice(-2)).toEqual(["ParkingReserved", "LotBooksClosed"]);
    expect(period0.filter((t) => t === "LotBooksClosed")).toHaveLength(1);
    const state = await new ParkingLotCommandHandler(events, { retryLimit: 5, cacheSize: 10 }).stateOf("L");
    expect(state.kind === "registered" && state.reservations.has("racer")).toBe(true);
  });
});
