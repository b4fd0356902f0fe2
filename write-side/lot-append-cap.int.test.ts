import { join } from "node:path";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { SqliteEventStore } from "../event-store/embedded/sqlite-event-store.js";
import type { EventStore, RecordedEvent } from "../event-store/port.js";
import { capped } from "../test-support/capped-event-store.js";
import { lotCommands } from "../test-support/lot-commands.js";
import { tempDataDir } from "../test-support/service.js";
import { ParkingLotCommandHandler } from "./command-handler.js";
import { lotPeriodOfStream, parkingLotStream } from "./parking-lot/periods.js";

/**
 * A lot whose next period's opening is larger than the event store's largest write keeps its books
 * open (its period grows past the bound) and stays usable; with room enough it closes as before.
 */

const NOW = "2026-11-22T11:00:00.000Z";
const clock = () => Date.parse(NOW);
const BOUND = 10;
/** Room for any one booking or close (about 300 bytes), not for an opening carrying ten bookings (about 1,200). */
const SMALL_LIMIT = 800;
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function openStore(): SqliteEventStore {
  const data = tempDataDir("lot-append-cap-");
  const store = SqliteEventStore.open({ file: join(data.dir, "events.sqlite"), pollIntervalMs: 20 });
  cleanups.push(data.remove, () => store.close());
  return store;
}

/** A logger whose warnings are kept. */
function warnings(): { logger: pino.Logger; lines: { msg: string; parkingLotId?: string }[] } {
  const lines: { msg: string; parkingLotId?: string }[] = [];
  const logger = pino({ level: "warn" }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { logger, lines };
}

const handlerOn = (store: EventStore, logger?: pino.Logger) =>
  new ParkingLotCommandHandler(store, {
    retryLimit: 5,
    cacheSize: 10,
    periodEvents: BOUND,
    now: clock,
    ...(logger ? { logger } : {}),
  });

const { context, register, reserve } = lotCommands(NOW);

async function events(store: EventStore, stream: string): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = [];
  for await (const e of store.readStream(stream)) out.push(e);
  return out;
}

async function book(handler: ParkingLotCommandHandler, lot: string, from: number, count: number) {
  for (let i = from; i < from + count; i++)
    expect(await handler.handle(reserve(lot, `r${i}`), context(`${lot}-r${i}`))).toMatchObject({ ok: true });
}

const active = async (store: EventStore, lot: string) => {
  const state = await handlerOn(store).currentState(lot);
  return state.kind === "registered" ? state.activeReservations : -1;
};

const tooLarge = (lines: { msg: string; parkingLotId?: string }[], lot: string) =>
  lines.filter((l) => l.parkingLotId === lot && l.msg.startsWith("lot books not closed: its opening of "));

describe("a lot whose opening is larger than the event store's largest write", () => {
  it("keeps its books open and goes on taking commands, warned once; no close is appended", async () => {
    const inner = openStore();
    const store = capped(inner, SMALL_LIMIT);
    const { logger, lines } = warnings();
    const handler = handlerOn(store, logger);
    expect(await handler.handle(register("A"), context("A-register"))).toMatchObject({ ok: true });
    await book(handler, "A", 0, BOUND + 5);
    await handler.lotSettled("A");
    // A fresh process loads it and decides too.
    await book(handlerOn(store, logger), "A", BOUND + 5, 3);

    const first = await events(inner, parkingLotStream("A"));
    expect(first).toHaveLength(BOUND + 9);
    expect(first.some((e) => e.type === "LotBooksClosed")).toBe(false);
    expect(await events(inner, parkingLotStream("A", 1))).toHaveLength(0);
    expect(store.refused).toBe(0); // measured before, never sent
    expect(await active(store, "A")).toBe(BOUND + 8);
    const warned = tooLarge(lines, "A");
    expect(warned).toHaveLength(1);
    expect(warned[0]?.msg).toMatch(
      /its opening of \d+ bytes exceeds the event store's largest write of 800; raise EVENTSTORE_MAX_APPEND_SIZE/,
    );
  });

  it("closes as before when the limit leaves room for the opening", async () => {
    const inner = openStore();
    const store = capped(inner, 1_048_576);
    const { logger, lines } = warnings();
    const handler = handlerOn(store, logger);
    await handler.handle(register("B"), context("B-register"));
    await book(handler, "B", 0, BOUND + 2);
    await handler.lotSettled("B");

    expect((await events(inner, parkingLotStream("B"))).at(-1)?.type).toBe("LotBooksClosed");
    expect((await events(inner, parkingLotStream("B", 1))).map((e) => e.type)).toEqual([
      "LotPeriodOpened",
      "ParkingReserved",
      "ParkingReserved",
      "ParkingReserved",
    ]);
    expect(tooLarge(lines, "B")).toEqual([]);
    expect(await active(store, "B")).toBe(BOUND + 2);
  });

  it("a close already written whose opening the store refuses (older data, a lowered limit) leaves the lot usable; raised, it closes", async () => {
    const inner = openStore();
    // Written with no limit, the process dying between the close and the opening.
    let failOpening = true;
    const crashing: EventStore = Object.create(inner);
    crashing.appendToStream = (streamId, toAppend, options) => {
      if (failOpening && lotPeriodOfStream(streamId)?.period === 1) {
        failOpening = false;
        return Promise.reject(new Error("the process died here"));
      }
      return inner.appendToStream(streamId, toAppend, options);
    };
    crashing.readStream = (streamId, options) => inner.readStream(streamId, options);
    const old = handlerOn(crashing);
    await old.handle(register("C"), context("C-register"));
    await book(old, "C", 0, BOUND - 1);
    await old.lotSettled("C");
    expect((await events(inner, parkingLotStream("C"))).at(-1)?.type).toBe("LotBooksClosed");

    // Now with a limit the opening exceeds, measured (the limit known) or refused by the server.
    const { logger, lines } = warnings();
    const store = capped(inner, SMALL_LIMIT);
    const lowered = handlerOn(store, logger);
    await book(lowered, "C", BOUND - 1, 3);
    await lowered.lotSettled("C");
    const period0 = await events(inner, parkingLotStream("C"));
    expect(period0.map((e) => e.type).slice(BOUND - 1)).toEqual([
      "ParkingReserved",
      "LotBooksClosed",
      "ParkingReserved",
      "ParkingReserved",
      "ParkingReserved",
    ]);
    // A store whose limit is not known here (EVENTSTORE_MAX_APPEND_SIZE above the server's): the
    // opening is sent and refused; the lot still takes its commands in period 0.
    const unknowing = capped(inner, SMALL_LIMIT) as EventStore & { maxAppendBytes?: number; refused: number };
    unknowing.maxAppendBytes = undefined;
    const misconfigured = handlerOn(unknowing, logger);
    await book(misconfigured, "C", BOUND + 2, 2);
    await misconfigured.lotSettled("C");
    expect(unknowing.refused).toBeGreaterThan(0);
    expect(await events(inner, parkingLotStream("C", 1))).toHaveLength(0);
    expect(tooLarge(lines, "C")).toHaveLength(1);
    expect(await active(store, "C")).toBe(BOUND + 4);

    // The limit raised: the next command's append closes the books again and opens period 1.
    const raised = handlerOn(inner);
    await book(raised, "C", BOUND + 4, 1);
    await raised.lotSettled("C");
    expect((await events(inner, parkingLotStream("C"))).at(-1)?.type).toBe("LotBooksClosed");
    expect((await events(inner, parkingLotStream("C", 1)))[0]?.type).toBe("LotPeriodOpened");
    expect(await active(inner, "C")).toBe(BOUND + 5);
  });
});
