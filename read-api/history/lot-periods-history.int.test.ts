import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SqliteDocumentStore } from "../../document-store/embedded/sqlite-document-store.js";
import { SqliteEventStore } from "../../event-store/embedded/sqlite-event-store.js";
import type { RecordedEvent } from "../../event-store/port.js";
import type { ParkingLotCommand } from "../../schemas/commands.js";
import { lotCommands } from "../../test-support/lot-commands.js";
import { indexReservationEvents } from "../../test-support/reservation-events-index.js";
import { tempDataDir } from "../../test-support/service.js";
import { ParkingLotCommandHandler } from "../../write-side/command-handler.js";
import { parkingLotStream } from "../../write-side/parking-lot/periods.js";
import { TimeTravel } from "../time-travel/time-travel.js";
import { readViews } from "../views/views.js";
import { HistoryService } from "./history-service.js";

/**
 * Issue 48: a lot's facts are in the streams of its periods (docs/domain.md, "Periods"). A
 * reservation's history reads every period between its booking and its end, and time travel
 * answers a moment in a later period as before periods.
 */

const NOW = "2026-11-22T11:00:00.000Z";
const BOUND = 5;
const commands = lotCommands(NOW);
const { context, reserve } = commands;
const register = (lot: string) => commands.register(lot, "Periods", 100);

describe("a lot's periods on the read side (issue 48)", () => {
  const data = tempDataDir("parking-period-reads-");
  let events: SqliteEventStore;
  let docs: SqliteDocumentStore;

  /** Each lot's events, all its periods', in log order. */
  const lotEvents = async (lot: string): Promise<RecordedEvent[]> => {
    const out: RecordedEvent[] = [];
    for await (const raw of events.readAll())
      if (raw.streamId.startsWith(parkingLotStream(lot))) out.push(raw);
    return out;
  };
  /** The reservation-events index of the log's events up to `commit` (all by default). */
  const index = async (commit = Number.POSITIVE_INFINITY) => {
    await indexReservationEvents(events, docs, commit);
    return readViews(docs, { readYourWritesTimeoutMs: 0, eventStore: events }).context;
  };

  beforeAll(async () => {
    events = SqliteEventStore.open({ file: join(data.dir, "events.sqlite") });
    docs = SqliteDocumentStore.open({ file: join(data.dir, "read-models.sqlite") });
    const now = () => Date.parse(NOW);
    // The same commands on a lot whose books close every BOUND events, and on one that never closes.
    for (const [lot, periodEvents] of [
      ["P", BOUND],
      ["Q", 0],
    ] as const) {
      const handler = new ParkingLotCommandHandler(events, {
        retryLimit: 5,
        cacheSize: 10,
        periodEvents,
        now,
      });
      expect((await handler.handle(register(lot), context(`${lot}-register`))).ok).toBe(true);
      for (let i = 0; i < 10; i++)
        expect((await handler.handle(reserve(lot, `${lot}${i}`), context(`${lot}${i}`))).ok).toBe(true);
      const cancel: ParkingLotCommand = {
        type: "CancelReservation",
        reservationId: `${lot}0`,
        parkingLotId: lot,
        reason: "changed plans",
        now: NOW,
      };
      expect((await handler.handle(cancel, context(`${lot}-cancel`))).ok).toBe(true);
    }
  }, 60_000);
  afterAll(async () => {
    await events?.close();
    await docs?.close();
    data.remove();
  });

  it("shows the whole history of a reservation booked in period 0 and canceled in period 2, the index behind or not", async () => {
    const all = await lotEvents("P");
    const booking = all.find((e) => e.type === "ParkingReserved");
    const canceled = all.find((e) => e.type === "ReservationCanceled");
    expect(booking?.streamId).toBe(parkingLotStream("P", 0));
    expect(canceled?.streamId).toBe(parkingLotStream("P", 2));
    if (!booking || !canceled) return;
    const where = { parkingLotId: "P", position: booking.position.commit };
    const expected = ["ParkingReserved", "ReservationCanceled"];

    // The index holds the booking, not the cancel: the cancel is read from period 2's stream.
    const behind = new HistoryService(events, await index(canceled.position.commit - 1));
    const found = await behind.reservation("P0", where, { limit: 50 });
    expect(found?.page.items.map((e) => e.type)).toEqual(expected);

    const caughtUp = new HistoryService(events, await index());
    expect((await caughtUp.reservation("P0", where, { limit: 50 }))?.page.items.map((e) => e.type)).toEqual(
      expected,
    );
    // Time travel finds its facts in the periods since the booking through the index too.
    const travel = new TimeTravel(events, { index: await index() });
    const asOf = await travel.reservation(
      "P0",
      { parkingLotId: "P", position: booking.position },
      { kind: "position", commit: canceled.position.commit },
    );
    expect(asOf).toMatchObject({ reservationId: "P0", status: "CANCELED" });
  });

  it("shows a lot's facts from every period in its history, paged across them", async () => {
    const history = new HistoryService(events, await index());
    const types: string[] = [];
    let cursor: number | undefined;
    do {
      const page = await history.lot("P", { limit: 4, ...(cursor === undefined ? {} : { cursor }) });
      types.push(...(page?.items.map((e) => e.type) ?? []));
      cursor = page?.nextCursor === null || page === null ? undefined : Number(page.nextCursor);
    } while (cursor !== undefined);
    expect(types).toEqual((await lotEvents("P")).map((e) => e.type));
    expect(types.filter((t) => t === "ParkingReserved")).toHaveLength(10);
    expect(types.at(-1)).toBe("ReservationCanceled");
  });

  it("answers the lot as of a moment inside period 1 as the lot without periods answers the same moment", async () => {
    const [p, q] = [await lotEvents("P"), await lotEvents("Q")];
    const bookings = (events: RecordedEvent[]) => events.filter((e) => e.type === "ParkingReserved");
    // The 7th booking: in period 1 of P.
    const [inP, inQ] = [bookings(p)[6], bookings(q)[6]];
    expect(inP?.streamId).toBe(parkingLotStream("P", 1));
    if (!inP || !inQ) return;
    const timeTravel = new TimeTravel(events);
    const asOf = async (lot: string, commit: number) => {
      const view = await timeTravel.parkingLot(lot, { kind: "position", commit });
      if (!view) return null;
      const { parkingLotId: _id, asOf: _at, ...rest } = view;
      return rest;
    };
    const inPeriod = await asOf("P", inP.position.commit);
    expect(inPeriod).toEqual(await asOf("Q", inQ.position.commit));
    expect(inPeriod?.freeNow).toBe(100 - 7);
  });
});
