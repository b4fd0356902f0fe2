/**
 * CPU per answer of the lot's figures (timeline, quote, lot view with free now and the next hours)
 * at 500 and at 20,000 active bookings, read through the views over the read models the
 * projections build, in the embedded document store the service runs on, each lot's state loaded
 * from its stream in the embedded event store (read-api/views/lots-at.ts: the events after the
 * state kept), the way issue 34 asks: a read's work may grow with its answer, and with a lot's
 * active bookings only logarithmically.
 *
 *   nice -n 10 npx tsx bench/lot-figures.ts
 *
 * Then a lot as of a moment (time travel, read-api/time-travel/) over the embedded event store:
 * CPU per answer at 500 and 20,000 active bookings and at 100,000 events of history (500 active),
 * each answer at a moment not asked before (no kept answer), its checkpoints laid by a first pass.
 * With the lot page's reservations as of a moment (GET /reservations?parkingLotId=&asOf=&limit=50,
 * the first page, and pages of one status). The same for the control center as of a moment (the
 * whole log folded, every lot's state carried):
 *
 *   nice -n 10 npx tsx bench/lot-figures.ts --as-of
 *   nice -n 10 npx tsx bench/lot-figures.ts --control-center-as-of
 *   nice -n 10 npx tsx bench/lot-figures.ts --timeline-as-of   (a lot's first timeline as of a moment)
 *
 * Per size: "warm" is an answer at a position already answered (the lot's state and its occupancy
 * timeline cached: a lookup per step); "new fact" is the first answer after one more booking (the
 * facts since folded in, the windows' step tree updated with them, the timeline made from it), its
 * CPU alone (the booking's write to the read models is the projectors' work, not the read's).
 * Rounds alternate between the sizes.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SqliteDocumentStore } from "../document-store/embedded/sqlite-document-store.js";
import { MemoryDocumentStore } from "../document-store/memory/memory-document-store.js";
import { SqliteEventStore } from "../event-store/embedded/sqlite-event-store.js";
import type { EventToAppend } from "../event-store/port.js";
import { TimeTravel } from "../read-api/time-travel/time-travel.js";
import { readViews, type Views } from "../read-api/views/views.js";
import { systemActor } from "../schemas/actor.js";
import { encodeEvent } from "../schemas/event-codec.js";
import { booksContext, followBooks } from "../test-support/control-center-books.js";
import type { ParkingLotEvent } from "../write-side/parking-lot/decider.js";
import {
  ensureReadModelIndexes,
  stored as storedAt,
  writeThroughProjections,
} from "./lib/seed-read-models.js";

const NOW = Date.parse("2030-05-01T09:00:00.000Z");
const HOUR = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();

interface Lot {
  readonly store: SqliteDocumentStore;
  /** The lot's stream, which the views load its state from (read-api/views/lots-at.ts). */
  readonly events: SqliteEventStore;
  readonly queries: Views;
  revision: number;
}

const CAUSATION = { correlationId: "c", causationId: "c", actor: systemActor("bench") };

/** The lot's event at `revision`, at the global position after it. */
const stored = (event: ParkingLotEvent, revision: number) =>
  storedAt(event, revision + 1, new Date(NOW), { streamId: "parkingLot-bench", revision });

/** A lot of `active` bookings, written through the projections into an embedded document store. */
async function lotWith(dir: string, active: number): Promise<Lot> {
  const store = SqliteDocumentStore.open({ file: join(dir, `read-models-${active}.sqlite`) });
  await ensureReadModelIndexes(store);
  const registered: ParkingLotEvent = {
    type: "ParkingLotRegistered",
    data: {
      parkingLotId: "bench",
      name: "bench",
      capacity: active + 10,
      registeredAt: iso(NOW - HOUR),
      hourlyRate: 1000,
    },
  };
  const events = [stored(registered, 0)];
  for (let i = 0; i < active; i++) events.push(stored(booking(i), i + 1));
  const log = SqliteEventStore.open({ file: join(dir, `events-${active}.sqlite`) });
  for (let from = 0; from < events.length; from += 2_000) {
    const batch = events.slice(from, from + 2_000);
    await writeThroughProjections(store, batch);
    await log.appendToStream(
      "parkingLot-bench",
      batch.map((e) => encodeEvent(e.event, CAUSATION)),
      { expectedRevision: from === 0 ? "no_stream" : from - 1 },
    );
  }
  const queries = readViews(store, { eventStore: log, readYourWritesTimeoutMs: 0, now: () => NOW });
  return { store, events: log, queries, revision: active };
}

/** Booking `i`: a window of 1-3 hours spread over the next day, every tenth open-ended. */
function booking(i: number, reservedAt = NOW - HOUR, from = NOW): ParkingLotEvent {
  const start = from + ((i * 7919) % (22 * 60)) * 60_000;
  const window = i % 10 === 9 ? {} : { startsAt: iso(start), endsAt: iso(start + (1 + (i % 3)) * HOUR) };
  return {
    type: "ParkingReserved",
    data: {
      reservationId: `r-${i}`,
      parkingLotId: "bench",
      customerId: `c-${i % 997}`,
      carNumber: "10더8612",
      amount: 1000,
      reservedAt: iso(reservedAt),
      ...window,
    },
  };
}

/** One more booking, written to the lot's read models as the projectors write it. */
async function book(lot: Lot, i: number): Promise<void> {
  lot.revision++;
  await writeThroughProjections(lot.store, [stored(booking(i), lot.revision)]);
  await lot.events.appendToStream("parkingLot-bench", [encodeEvent(booking(i), CAUSATION)], {
    expectedRevision: lot.revision - 1,
  });
}

const answers = {
  timeline: (q: Views) => q.lots.timeline("bench", { stepMinutes: 15 }),
  quote: (q: Views) => q.lots.availability("bench", NOW + 3 * HOUR, NOW + 5 * HOUR),
  lotView: (q: Views) => q.lots.parkingLotDetail("bench"),
};

async function cpuMs(run: () => Promise<unknown>, times: number): Promise<number> {
  const before = process.cpuUsage();
  for (let i = 0; i < times; i++) await run();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000 / times;
}

async function main() {
  const sizes = [500, 20_000];
  const dir = mkdtempSync(join(tmpdir(), "lot-figures-live-"));
  const lots = new Map<number, Lot>();
  for (const n of sizes) lots.set(n, await lotWith(dir, n));
  const figures = new Map<string, number[]>();
  const note = (key: string, ms: number) => figures.set(key, [...(figures.get(key) ?? []), ms]);
  let next = 1_000_000;
  for (let round = 0; round < 5; round++) {
    for (const n of round % 2 === 0 ? sizes : [...sizes].reverse()) {
      const lot = lots.get(n) as Lot;
      for (const [name, answer] of Object.entries(answers)) {
        await answer(lot.queries); // warm the position
        note(`${name} warm @${n}`, await cpuMs(() => answer(lot.queries), 200));
        // The answer's CPU only: the booking is written (as the projectors write it) before.
        let cpu = 0;
        for (let k = 0; k < 5; k++) {
          await book(lot, next++);
          cpu += await cpuMs(() => answer(lot.queries), 1);
        }
        note(`${name} new fact @${n}`, cpu / 5);
      }
    }
  }
  for (const lot of lots.values()) await lot.store.close();
  rmSync(dir, { recursive: true, force: true });
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  for (const [key, values] of figures)
    console.log(
      `${key.padEnd(28)} ${median(values).toFixed(3)} ms CPU per answer (median of ${values.length} rounds)`,
    );
  for (const name of Object.keys(answers))
    for (const kind of ["warm", "new fact"]) {
      const small = median(figures.get(`${name} ${kind} @500`) ?? [1]);
      const big = median(figures.get(`${name} ${kind} @20000`) ?? [1]);
      console.log(`${`${name} ${kind}`.padEnd(20)} 20,000 / 500 = ${(big / small).toFixed(2)}×`);
    }
}

/**
 * A lot's stream in the embedded event store: registered, `active` bookings that stay, and
 * `churn` more booked and canceled (history that holds nothing now: 500 a day over the days
 * before), the active ones booked in the hour before NOW.
 */
async function lotLog(dir: string, name: string, active: number, churn: number) {
  const store = SqliteEventStore.open({ file: join(dir, `${name}.sqlite`) });
  // The churn spread over the days before: 500 bookings (and their cancellations) a day.
  const DAY_MS = 24 * HOUR;
  const firstMs = NOW - HOUR - Math.ceil(churn / 500) * DAY_MS;
  const events: ParkingLotEvent[] = [
    {
      type: "ParkingLotRegistered",
      data: { parkingLotId: "bench", name, capacity: active + 10, registeredAt: iso(firstMs - HOUR) },
    },
  ];
  const total = active + churn;
  for (let i = 0; i < total; i++) {
    const at =
      i < churn
        ? firstMs + Math.floor((i * DAY_MS) / 500)
        : NOW - HOUR + Math.floor(((i - churn) * HOUR) / active);
    // A churned booking's window within the day after it was made; the active ones' in the day after NOW.
    const booked = i < churn ? booking(i, at, at) : booking(i, at);
    events.push(booked);
    // The first `churn` bookings are canceled at once: history that holds nothing now.
    if (i < churn) {
      const { reservationId, customerId, startsAt, endsAt } = booked.data as Record<string, string>;
      events.push({
        type: "ReservationCanceled",
        data: {
          reservationId,
          customerId,
          parkingLotId: "bench",
          reason: "bench",
          canceledAt: iso(at),
          ...(startsAt ? { startsAt, endsAt } : {}),
        },
      } as ParkingLotEvent);
    }
  }
  const causation = { correlationId: "c", causationId: "c", actor: systemActor("bench") };
  let revision: number | "no_stream" = "no_stream";
  const positions: number[] = [];
  for (let from = 0; from < events.length; from += 1_000) {
    const batch: EventToAppend[] = events.slice(from, from + 1_000).map((e) => encodeEvent(e, causation));
    const appended = await store.appendToStream("parkingLot-bench", batch, { expectedRevision: revision });
    revision = appended.nextExpectedRevision;
    positions.push(appended.position.commit);
  }
  return { store, events: events.length, head: positions.at(-1) as number };
}

/**
 * CPU per `asOf` answer on a lot (or of the control center: a page of 10 lots and the totals,
 * folded from its last book and the lot's period), at moments not asked before.
 */
async function asOfFigures(of: "lot" | "control center") {
  const dir = mkdtempSync(join(tmpdir(), "lot-figures-"));
  try {
    for (const [label, active, churn] of [
      ["500 active", 500, 0],
      ["20,000 active", 20_000, 0],
      ["100,000 events, ~500 active", 500, 49_750],
    ] as const) {
      const { store, events, head } = await lotLog(dir, label.replace(/\W/g, ""), active, churn);
      // The control center's books closed over the log, as the reactor does (issue 48).
      const books = new MemoryDocumentStore();
      const closing = process.cpuUsage();
      if (of === "control center") await followBooks(booksContext(store, books));
      const closed = process.cpuUsage(closing);
      const travel = new TimeTravel(store, { books });
      const ask = async (commit: number, listing?: Listing) => {
        const cut = { kind: "position", commit } as const;
        if (listing) return await travel.lotReservations("bench", cut, listing);
        return of === "lot"
          ? await travel.parkingLot("bench", cut)
          : await travel.controlCenter(cut, { limit: 10 });
      };
      // A first answer at the head (the lot's state loaded), then answers at new moments near it.
      const prepare = process.cpuUsage();
      await ask(head);
      const prepared = process.cpuUsage(prepare);
      const perAnswer: number[] = [];
      for (let k = 0; k < 5; k++) perAnswer.push(await cpuMs(async () => ask(head - 300 - k * 37), 1));
      perAnswer.sort((a, b) => a - b);
      console.log(
        `${of === "lot" ? "asOf" : "control center asOf"} @${label.padEnd(28)} ${events.toLocaleString("en-US")} events: ` +
          `${(perAnswer[2] as number).toFixed(1)} ms CPU per answer (median of 5, ${(perAnswer[0] as number).toFixed(1)}–${(perAnswer[4] as number).toFixed(1)}); ` +
          `first answer at the head ${((prepared.user + prepared.system) / 1000).toFixed(0)} ms CPU` +
          (of === "control center"
            ? `; its books closed in ${((closed.user + closed.system) / 1000).toFixed(0)} ms CPU`
            : ""),
      );
      if (of === "lot") await listingFigures(label, head, ask);
      await store.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** What the lot page's table as of a moment asks (GET /reservations?parkingLotId=&asOf=). */
type Listing = Parameters<TimeTravel["lotReservations"]>[2];

/** The lot page's table as of a moment: a page of 50, all and by status, at new moments (the lot's state then each). */
async function listingFigures(
  label: string,
  head: number,
  ask: (commit: number, listing: Listing) => Promise<unknown>,
) {
  for (const status of [undefined, "RESERVED", "CHECKED_IN"] as const) {
    const listing: Listing = { limit: 50, ...(status ? { status } : {}) };
    const prepare = process.cpuUsage();
    await ask(head, listing); // the page's fold laid to the head (its own source: lot-page)
    const used = process.cpuUsage(prepare);
    const prepared = (used.user + used.system) / 1000;
    const perAnswer: number[] = [];
    for (let k = 0; k < 5; k++) perAnswer.push(await cpuMs(async () => ask(head - 300 - k * 37, listing), 1));
    perAnswer.sort((a, b) => a - b);
    // At a checkpoint's own position: nothing folded, the answer is the page (median of 9).
    const at = Math.floor(head / 250) * 250;
    const pages: number[] = [];
    for (let k = 0; k < 9; k++) pages.push(await cpuMs(async () => ask(at, listing), 1));
    const paged = pages.sort((a, b) => a - b)[4] as number;
    console.log(
      `asOf reservations page of 50${status ? ` status=${status}` : ""} @${label}: ` +
        `${(perAnswer[2] as number).toFixed(1)} ms CPU per answer (median of 5, ${(perAnswer[0] as number).toFixed(1)}–${(perAnswer[4] as number).toFixed(1)}); ` +
        `at a checkpoint (no fold) ${paged.toFixed(1)} ms; first ask ${prepared.toFixed(0)} ms`,
    );
  }
}

/**
 * The first `asOf` timeline of a lot of 20,000 bookings (GET /parking-lots/{id}/timeline?asOf=),
 * cold: a new TimeTravel per answer (nothing kept), at 5 moments near the head; then the next
 * moment after each, warm (what the first answer kept). Wall-clock and CPU, medians of 5.
 */
async function timelineAsOfFigures() {
  const dir = mkdtempSync(join(tmpdir(), "lot-figures-tl-"));
  try {
    const { store, events, head } = await lotLog(dir, "tl", 20_000, 0);
    const timeline = (q: Views) => q.lots.timeline("bench", { stepMinutes: 15 });
    const cold: number[] = [];
    const coldWall: number[] = [];
    const warm: number[] = [];
    for (let k = 0; k < 5; k++) {
      const travel = new TimeTravel(store, { maxFold: 1_000_000 });
      const at = (commit: number) => travel.lotView("bench", { kind: "position", commit }, timeline);
      const started = performance.now();
      cold.push(await cpuMs(() => at(head - 300 - k * 37), 1));
      coldWall.push(performance.now() - started);
      warm.push(await cpuMs(() => at(head - 290 - k * 37), 1));
    }
    const median = (xs: number[]) => (xs.sort((a, b) => a - b)[2] as number).toFixed(1);
    console.log(
      `timeline asOf, first answer on a lot of ${events.toLocaleString("en-US")} events: ` +
        `${median(cold)} ms CPU, ${median(coldWall)} ms wall (medians of 5); the next moment: ${median(warm)} ms CPU`,
    );
    await store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// `--timeline-as-of`: only the first timeline as of a moment (issue 68's loader).
if (process.argv.includes("--timeline-as-of")) {
  await timelineAsOfFigures();
  process.exit(0);
}
// `--as-of`: only a lot's time-travel figures; `--control-center-as-of`: only the control center's.
const controlCenterOnly = process.argv.includes("--control-center-as-of");
if (!process.argv.includes("--as-of") && !controlCenterOnly) await main();
if (!controlCenterOnly) await asOfFigures("lot");
if (controlCenterOnly || !process.argv.includes("--as-of")) await asOfFigures("control center");
