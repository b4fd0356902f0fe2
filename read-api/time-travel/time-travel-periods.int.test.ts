import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SqliteEventStore } from "../../event-store/embedded/sqlite-event-store.js";
import type { EventStore, RecordedEvent } from "../../event-store/port.js";
import { MemoryDataKeys } from "../../platform/data-keys/port.js";
import { controlCenterBooks } from "../../projections/control-center-books/control-center-books.js";
import { BOOKS } from "../../projections/read-models/control-center-books.js";
import type { ParkingLotCommand } from "../../schemas/commands.js";
import { stampMsOfRaw } from "../../schemas/event-stamps.js";
import { usePersonalDataKeys } from "../../schemas/personal-data.js";
import type { ReservationView } from "../../schemas/read-models.js";
import { booksContext, followBooks } from "../../test-support/control-center-books.js";
import { countingReads, type StreamRead } from "../../test-support/counting-event-store.js";
import {
  controlCenterAsOfShows,
  liveAt,
  liveControlCenterAt,
  lotAsOfShows,
  tableAsOfShows,
} from "../../test-support/live-control-center.js";
import { tempDataDir } from "../../test-support/service.js";
import { ParkingLotCommandHandler } from "../../write-side/command-handler.js";
import { lotPeriodOfStream, parkingLotStream } from "../../write-side/parking-lot/periods.js";
import type { Views } from "../views/views.js";
import type { Cut } from "./as-of.js";
import { within } from "./as-of.js";
import { TimeTravel } from "./time-travel.js";

/**
 * Issue 48, item 3, and issue 68 item 2: a lot as of a moment is its state then, from the opening
 * of the period that holds the moment (the one loader, read-api/views/lots-at.ts). A lot's views as
 * of a moment inside period k read no event before period k's opening (but the few openings that
 * locate it), and answer as the same lot without periods answers the same moment.
 */

const T0 = Date.parse("2026-11-02T06:00:00.000Z");
const MINUTE = 60_000;
const iso = (ms: number) => new Date(ms).toISOString();
/** Events per period of lot P: its books close every 40 events. */
const BOUND = 40;

describe("time travel from the opening of the period holding the moment (issue 48)", () => {
  const data = tempDataDir("parking-tt-periods-");
  let events: SqliteEventStore;
  /** Each lot's events, all its periods', in log order. */
  const lotEvents = new Map<string, RecordedEvent[]>();

  beforeAll(async () => {
    events = SqliteEventStore.open({ file: join(data.dir, "events.sqlite") });
    // The same commands at the same instants on P and R (books closed every BOUND events) and on Q
    // (never closed).
    for (const [lot, periodEvents] of [
      ["P", BOUND],
      ["R", BOUND],
      ["Q", 0],
    ] as const) {
      let clock = T0;
      const handler = new ParkingLotCommandHandler(events, {
        retryLimit: 5,
        cacheSize: 10,
        periodEvents,
        now: () => clock,
      });
      const run = async (command: Record<string, unknown>) => {
        const outcome = await handler.handle({ ...command, now: iso(clock) } as ParkingLotCommand, {
          correlationId: `c-${lot}-${clock}`,
          commandId: `cmd-${lot}-${clock}`,
          actor: { sub: "ops-test", role: "operator" },
        });
        // Open-ended bookings made while the closure is ahead are refused (on both lots alike).
        const refused = outcome.ok ? undefined : outcome.rejection.code;
        expect(refused === undefined || refused === "LotClosed", JSON.stringify(outcome)).toBe(true);
        clock += 7 * MINUTE;
        return outcome.ok;
      };
      const checkedIn = new Set<string>();
      await run({ type: "RegisterParkingLot", parkingLotId: lot, name: "Periods", capacity: 40 });
      for (let k = 0; k < 120; k++) {
        const reservationId = `${lot}-${k}`;
        const ids = { reservationId, parkingLotId: lot };
        const window =
          k % 3 === 2 ? { startsAt: iso(clock + 20 * MINUTE), endsAt: iso(clock + 80 * MINUTE) } : {};
        const booked = await run({
          type: "ReserveParking",
          ...ids,
          customerId: `C${k}`,
          carNumber: "10더8612",
          amount: 1000,
          ...window,
        });
        if (booked && k % 3 === 0) await run({ type: "CancelReservation", ...ids, reason: "changed plans" });
        if (booked && k % 3 === 1 && (await run({ type: "CheckIn", ...ids }))) checkedIn.add(reservationId);
        // The car checked in three bookings before leaves (one in three of them stays on).
        const before = `${lot}-${k - 3}`;
        if (checkedIn.has(before) && (k - 3) % 9 !== 1)
          await run({ type: "CheckOut", reservationId: before, parkingLotId: lot });
        if (k === 60) {
          const [from, until] = [clock + 30 * MINUTE, clock + 90 * MINUTE];
          await run({
            type: "CloseParkingLot",
            closureId: "works",
            parkingLotId: lot,
            from: iso(from),
            until: iso(until),
            reason: "works",
          });
        }
      }
    }
    for (const raw of await collect(events.readAll())) {
      const lot = lotPeriodOfStream(raw.streamId)?.parkingLotId;
      if (lot) lotEvents.set(lot, [...(lotEvents.get(lot) ?? []), raw]);
    }
  }, 120_000);
  afterAll(async () => {
    await events?.close();
    data.remove();
  });

  const openings = () => (lotEvents.get("P") ?? []).filter((e) => e.type === "LotPeriodOpened");
  const timeline = (lot: string) => (views: Views) => views.lots.timeline(lot, { stepMinutes: 15 });
  /** What the lot's table as of a moment asks: a page of 200 (all), or those CHECKED_IN. */
  const tableQuery = (status?: "CHECKED_IN") => ({ limit: 200, ...(status ? { status } : {}) });
  /**
   * The live table's rows over the whole history at the cut (liveAt), those of `ids` (the ones the
   * lot's state holds then), by id, each with what a row as of a moment shows (the state records
   * no booking instant or position, no step's time but a car's check-in while it is in, no payment
   * nor coupon: heldReservations in reservation-view.ts).
   */
  const liveRows = async (lot: string, cut: Cut, ids: ReadonlySet<string>, status?: "CHECKED_IN") => {
    const live = await liveAt(events, cut, (views) =>
      views.reservations.reservations({ parkingLotId: lot, limit: 1_000, ...(status ? { status } : {}) }),
    );
    return tableAsOfShows({ items: (live?.items ?? []).filter((r) => ids.has(r.reservationId)) }).items;
  };
  /** An answer without what names the lot or its log position (P's and Q's differ there). */
  const unnamed = (view: Record<string, unknown> | null) => {
    if (!view) return null;
    const { parkingLotId: _id, asOf, ...rest } = view as { asOf?: { at: string } } & Record<string, unknown>;
    return { ...rest, at: asOf?.at };
  };

  it("P's books closed several times; the moments asked lie in each of its periods", async () => {
    expect(openings().length).toBeGreaterThanOrEqual(5);
    expect((lotEvents.get("Q") ?? []).every((e) => e.streamId === parkingLotStream("Q"))).toBe(true);
  });

  /** Moments in each of P's periods: right after its opening, and well inside it. */
  const cutsInPeriods = () => {
    const cuts: { cut: Cut; period: number }[] = [];
    for (const opening of openings()) {
      const period = lotPeriodOfStream(opening.streamId)?.period ?? 0;
      const openedAt = Date.parse((opening.data as { openedAt: string }).openedAt);
      // Right after the opening (its timeline reaches an hour back, before it), and well inside it.
      cuts.push({ cut: { kind: "instant", ms: openedAt + 1 }, period });
      cuts.push({ cut: { kind: "instant", ms: openedAt + 3 * 60 * MINUTE }, period });
    }
    return cuts;
  };
  /** Whether P's reads were only of period k's stream, but for the openings that locate it (before k's). */
  const readPeriodOnly = (reads: readonly StreamRead[], period: number) => {
    const opening = openings().find((o) => lotPeriodOfStream(o.streamId)?.period === period);
    if (!opening) throw new Error(`no opening of period ${period}`);
    const before = reads.filter((r) => r.commit < opening.position.commit);
    expect(before.every((r) => r.type === "LotPeriodOpened")).toBe(true);
    expect(before.length).toBeLessThanOrEqual(2 * Math.ceil(Math.log2(openings().length + 1)) + 1);
    // Nothing of a later period either: the fold stops at the moment.
    expect(
      reads
        .filter((r) => r.type !== "LotPeriodOpened")
        .every((r) => lotPeriodOfStream(r.streamId)?.period === period),
    ).toBe(true);
  };

  it("a timeline as of a moment inside period k reads no event before k's opening but the openings that locate it, and answers as the lot without periods", async () => {
    const recorded = countingReads(events);
    const travel = new TimeTravel(recorded.store, { maxFold: 100_000 });
    const whole = new TimeTravel(events, { maxFold: 100_000 });
    const cuts = cutsInPeriods();
    const closure = (lotEvents.get("P") ?? []).find((e) => e.type === "ParkingLotClosed");
    const closedIn = lotPeriodOfStream(closure?.streamId ?? "")?.period ?? Number.POSITIVE_INFINITY;
    let closedSlots = 0;
    for (const { cut, period } of cuts) {
      recorded.reads.length = 0;
      const view = await travel.lotView("P", cut, timeline("P"));
      if (period > closedIn) closedSlots += view?.slots.filter((s) => s.closed).length ?? 0;
      readPeriodOnly(recorded.reads, period);
      expect(view?.slots.some((s) => s.held > 0)).toBe(true);
      expect(unnamed(view), JSON.stringify(cut)).toEqual(
        unnamed(await whole.lotView("Q", cut, timeline("Q"))),
      );
      expect(view).toEqual(await liveAt(events, cut, timeline("P")));
    }
    // The closure announced in one period is shown from the lot's document as a later opening holds it.
    expect(closedSlots).toBeGreaterThan(0);
  });

  it("the lot and its reservations table as of a moment inside period k read no event before k's opening but the openings that locate it, and answer as the live views over the whole history (but for what the lot's state keeps not)", async () => {
    const recorded = countingReads(events);
    const travel = new TimeTravel(recorded.store);
    let carriedShown = 0;
    for (const { cut, period } of cutsInPeriods()) {
      // Each view apart: each locates the period by its own probes.
      const counted = async <T>(ask: () => Promise<T>): Promise<T> => {
        recorded.reads.length = 0;
        const answer = await ask();
        readPeriodOnly(recorded.reads, period);
        return answer;
      };
      const lot = await counted(() => travel.parkingLot("P", cut));
      const table = await counted(() => travel.lotReservations("P", cut, tableQuery()));
      const checkedIn = await counted(() => travel.lotReservations("P", cut, tableQuery("CHECKED_IN")));
      // Its registration instant and counters are its state's (the opening's summary carries them):
      // as the live view over the whole history has them, and as Q's, never closed.
      expect(lot?.totalReservations).toBeGreaterThan(0);
      expect(lot?.canceledReservations).toBeGreaterThan(0);
      const live = await liveAt(events, cut, (views) => views.lots.parkingLotDetail("P"));
      expect(lot && lotAsOfShows(lot), JSON.stringify(cut)).toEqual(live && lotAsOfShows(live));
      expect(unnamed(lot)).toEqual(unnamed(await travel.parkingLot("Q", cut)));
      // The reservations the lot's state holds (booked in the period, or carried by its opening),
      // each as the live table over the whole history shows it.
      const ids = new Set(table?.items.map((r) => r.reservationId));
      expect(table?.items).toEqual(await liveRows("P", cut, ids));
      expect(checkedIn?.items).toEqual(await liveRows("P", cut, ids, "CHECKED_IN"));
      expect(table?.nextCursor).toBeNull();
      const opening = openings().find((o) => lotPeriodOfStream(o.streamId)?.period === period);
      const bookedBefore = (lotEvents.get("P") ?? []).filter(
        (e) => e.type === "ParkingReserved" && e.position.commit < (opening?.position.commit ?? 0),
      );
      carriedShown += bookedBefore.filter((e) =>
        ids.has((e.data as { reservationId: string }).reservationId),
      ).length;
    }
    expect(carriedShown).toBeGreaterThan(0);
  });

  it("pages the lot's table as of a moment: each page `limit` rows by id, the cursor where the next goes on", async () => {
    const travel = new TimeTravel(events);
    const cut = cutsInPeriods().at(-1)?.cut;
    if (!cut) throw new Error("no moment");
    const all = await travel.lotReservations("P", cut, { limit: 1_000 });
    const pages: ReservationView[] = [];
    let cursor: string | undefined;
    for (let k = 0; k < 100; k++) {
      const page = await travel.lotReservations("P", cut, { limit: 3, ...(cursor ? { cursor } : {}) });
      pages.push(...(page?.items ?? []));
      if (!page?.nextCursor) break;
      cursor = page.nextCursor;
    }
    expect(all?.items.length).toBeGreaterThan(3);
    expect(pages).toEqual(all?.items);
  });

  it("keeps the lot as of the last moment asked (one loader, issue 68): a later moment of the same period reads only the events between the two", async () => {
    const recorded = countingReads(events);
    const travel = new TimeTravel(recorded.store);
    const opening = openings().at(-1);
    if (!opening) throw new Error("no opening");
    const period = (lotEvents.get("P") ?? []).filter((e) => e.streamId === opening.streamId);
    const [early, late] = [period[3], period[9]];
    if (!early || !late) throw new Error("a short period");
    await travel.lotView("P", { kind: "position", commit: early.position.commit }, timeline("P"));
    recorded.reads.length = 0;
    await travel.lotView("P", { kind: "position", commit: late.position.commit }, timeline("P"));
    // Revisions 4 to 9, and the one beyond that ends the fold; the openings that locate the period aside.
    const folded = recorded.reads.filter(
      (r) => r.streamId === opening.streamId && r.type !== "LotPeriodOpened",
    );
    expect(folded.map((r) => r.commit)).toEqual(period.slice(4, 11).map((e) => e.position.commit));
  });

  it("keeps at most `lotsKept` lots, the least recently asked out first", async () => {
    const recorded = countingReads(events);
    const travel = new TimeTravel(recorded.store, { lotsKept: 1 });
    const opening = openings().at(-1);
    if (!opening) throw new Error("no opening");
    const period = (lotEvents.get("P") ?? []).filter((e) => e.streamId === opening.streamId);
    const at = (k: number): Cut => ({ kind: "position", commit: period[k]?.position.commit ?? 0 });
    await travel.lotView("P", at(3), timeline("P"));
    await travel.lotView("Q", at(3), timeline("Q"));
    recorded.reads.length = 0;
    await travel.lotView("P", at(9), timeline("P"));
    // P was evicted by Q: folded again from its opening.
    const folded = recorded.reads.filter(
      (r) => r.streamId === opening.streamId && r.type !== "LotPeriodOpened",
    );
    expect(folded.map((r) => r.commit)).toEqual(period.slice(1, 11).map((e) => e.position.commit));
  });

  it("a moment in period 0 (or on a lot with periods off) is read from the lot's first event, as the live views over the whole history answer", async () => {
    const first = (lotEvents.get("P") ?? [])[40];
    if (!first) throw new Error("no event");
    const cut: Cut = { kind: "position", commit: first.position.commit };
    const travel = new TimeTravel(events);
    expect(await travel.lotView("P", cut, timeline("P"))).toEqual(await liveAt(events, cut, timeline("P")));
    const q = lotEvents.get("Q")?.at(-1);
    if (!q) throw new Error("no event");
    const last: Cut = { kind: "position", commit: q.position.commit };
    expect(await travel.lotView("Q", last, timeline("Q"))).toEqual(await liveAt(events, last, timeline("Q")));
  });

  it("the control center as of a moment folds the log from the last of its books before the moment and each lot from its period holding it: nothing before either but the openings that locate it, the answers the whole log's", async () => {
    const context = booksContext(events);
    await followBooks(context, controlCenterBooks({ every: BOUND }));
    const heads = await context.documentStore.find(BOOKS, {}, { sort: { _id: 1 } });
    const books = heads as unknown as { position: { commit: number; prepare: number }; stampMs: number }[];
    expect(books.length).toBeGreaterThan(5);
    const recorded = countingReads(events);
    /** Each read of the global log: where it started and what it yielded. */
    const logReads: { from: number | undefined; commits: number[] }[] = [];
    const store: EventStore = {
      ...recorded.store,
      readAll: (options) => {
        const read = { from: options?.from?.commit, commits: [] as number[] };
        logReads.push(read);
        return (async function* () {
          for await (const raw of events.readAll(options)) {
            read.commits.push(raw.position.commit);
            yield raw;
          }
        })();
      },
    };
    const travel = new TimeTravel(store, { maxFold: 100_000, books: context.documentStore });
    const bookPositions = books.map((b): Cut => ({ kind: "position", commit: b.position.commit }));
    for (const cut of [...cutsInPeriods().map((c) => c.cut), ...bookPositions]) {
      recorded.reads.length = 0;
      logReads.length = 0;
      const view = await travel.controlCenter(cut, { limit: 10 });
      expect(controlCenterAsOfShows(view), JSON.stringify(cut)).toEqual(
        await liveControlCenterAt(events, cut, { limit: 10 }),
      );
      // The log: read from the last book before the moment on (or a checkpoint after it), never before it.
      const book = books.filter((b) => within(cut, b.position, b.stampMs)).at(-1);
      if (!book) throw new Error(`no book before ${JSON.stringify(cut)}`);
      expect(logReads.length).toBeGreaterThan(0);
      for (const read of logReads) {
        expect(read.from).toBeGreaterThanOrEqual(book.position.commit);
        expect(read.commits.every((commit) => commit > book.position.commit)).toBe(true);
      }
      // Each lot: nothing before the opening of its period holding the moment, but openings.
      for (const lot of ["P", "R", "Q"]) {
        const opening = (lotEvents.get(lot) ?? [])
          .filter((e) => e.type === "LotPeriodOpened")
          .filter((e) => within(cut, e.position, stampMsOfRaw(e.type, e.data)))
          .at(-1);
        const before = recorded.reads.filter(
          (r) =>
            lotPeriodOfStream(r.streamId)?.parkingLotId === lot && r.commit < (opening?.position.commit ?? 0),
        );
        expect(before.every((r) => r.type === "LotPeriodOpened")).toBe(true);
      }
    }
  });
  it("the control center as of a moment for a member of staff scoped to one lot reads that lot's streams and no other's, and answers as the live one scoped alike", async () => {
    const context = booksContext(events);
    await followBooks(context, controlCenterBooks({ every: BOUND }));
    const recorded = countingReads(events);
    const travel = new TimeTravel(recorded.store, { maxFold: 100_000, books: context.documentStore });
    const within = { every: false, ids: ["R"], prefixes: [] } as const;
    // Moments when all three lots are registered (Q's life comes last in the log).
    const cuts = (lotEvents.get("Q") ?? [])
      .filter((_, k) => k % 40 === 5)
      .map((e): Cut => ({ kind: "position", commit: e.position.commit }));
    expect(cuts.length).toBeGreaterThan(3);
    for (const cut of cuts) {
      recorded.reads.length = 0;
      const view = await travel.controlCenter(cut, { limit: 10, within });
      expect(controlCenterAsOfShows(view), JSON.stringify(cut)).toEqual(
        await liveControlCenterAt(events, cut, { limit: 10, within }),
      );
      expect(view.parkingLots.map((lot) => lot.parkingLotId)).toEqual(["R"]);
      // Its period streams, nothing of P's or Q's.
      const ofR = (streamId: string) => lotPeriodOfStream(streamId)?.parkingLotId === "R";
      expect(recorded.reads.filter((r) => !ofR(r.streamId))).toEqual([]);
      expect(recorded.reads.length).toBeGreaterThan(0);
    }
  });
});

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

describe("a carried booking of an erased customer, as of a moment of a later period (issues 36, 48)", () => {
  it("the opening names no customer nor plate in clear; the table reads them from its sealed records, `erased` once the key is gone", async () => {
    const keys = new MemoryDataKeys();
    usePersonalDataKeys(keys);
    const data = tempDataDir("parking-tt-erased-");
    const store = SqliteEventStore.open({ file: join(data.dir, "events.sqlite") });
    try {
      let clock = T0;
      const handler = new ParkingLotCommandHandler(store, {
        retryLimit: 5,
        cacheSize: 10,
        periodEvents: 10,
        now: () => clock,
      });
      const run = async (command: Record<string, unknown>) => {
        const outcome = await handler.handle({ ...command, now: iso(clock) } as ParkingLotCommand, {
          correlationId: `c-${clock}`,
          commandId: `cmd-${clock}`,
          actor: { sub: "ops-test", role: "operator" },
        });
        expect(outcome.ok, JSON.stringify(outcome)).toBe(true);
        clock += MINUTE;
      };
      await run({ type: "RegisterParkingLot", parkingLotId: "E", name: "Erased", capacity: 40 });
      const booking = { parkingLotId: "E", amount: 1000 };
      await run({
        type: "ReserveParking",
        ...booking,
        reservationId: "mine",
        customerId: "C-gone",
        carNumber: "34나5678",
      });
      for (let k = 0; k < 12; k++)
        await run({
          type: "ReserveParking",
          ...booking,
          reservationId: `E-${k}`,
          customerId: `C${k}`,
          carNumber: "10더8612",
        });
      const [opening] = await collect(store.readStream(parkingLotStream("E", 1), { maxCount: 1 }));
      if (!opening) throw new Error("E's books did not close");
      const written = JSON.stringify(opening.data);
      for (const plain of ["C-gone", "34나5678", "10더8612"]) expect(written).not.toContain(plain);
      const cut: Cut = {
        kind: "instant",
        ms: Date.parse((opening.data as { openedAt: string }).openedAt) + 1,
      };
      const mine = async () =>
        (await new TimeTravel(store).lotReservations("E", cut, { limit: 50 }))?.items.find(
          (r) => r.reservationId === "mine",
        );
      expect(await mine()).toMatchObject({ customerId: "C-gone", carNumber: "34나5678", status: "RESERVED" });
      keys.erase("C-gone");
      expect(await mine()).toMatchObject({ customerId: "erased", carNumber: "erased", status: "RESERVED" });
    } finally {
      usePersonalDataKeys(undefined);
      await store.close();
      data.remove();
    }
  });
});
