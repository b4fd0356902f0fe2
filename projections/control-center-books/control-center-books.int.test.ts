import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MemoryDocumentStore } from "../../document-store/memory/memory-document-store.js";
import type { DocumentStore } from "../../document-store/port.js";
import { SqliteEventStore } from "../../event-store/embedded/sqlite-event-store.js";
import type { EventStore, RecordedEvent } from "../../event-store/port.js";
import { createLogger } from "../../platform/logger.js";
import { systemActor } from "../../schemas/actor.js";
import { decodeEvent, encodeEvent } from "../../schemas/event-codec.js";
import { stampMsOfRaw } from "../../schemas/event-stamps.js";
import type { DomainEvent } from "../../schemas/events.js";
import { followBooks } from "../../test-support/control-center-books.js";
import { tempDataDir } from "../../test-support/service.js";
import { couponStream } from "../../write-side/coupon/coupon.js";
import { parkingLotStream } from "../../write-side/parking-lot/periods.js";
import { ACTIVITY_PREFIX } from "../read-models/control-center.js";
import {
  BOOK_DOCUMENTS,
  BOOK_PROJECTIONS,
  BOOKS,
  lastBookBefore,
  REGISTERED_LOTS,
} from "../read-models/control-center-books.js";
import { endedBefore, keptInFold, pruneHorizon } from "../read-models/folded-documents.js";
import type { ReactorContext } from "../runtime/processor.js";
import { controlCenterBooks } from "./control-center-books.js";

/**
 * Issue 48: the control center's books. Every EVERY events of the log, one book, the same
 * whatever the repeats and replicas, kept in the document store, holding what a fold of the control center's read models from
 * the log's first event holds there (what ended before the horizon left out): so the control
 * center as of a moment can start at a book (read-api/time-travel/).
 */
const EVERY = 50;
const T0 = Date.parse("2026-11-03T06:00:00.000Z");
const MINUTE = 60_000;
const iso = (ms: number) => new Date(ms).toISOString();
const LOTS = ["b-1", "b-2", "b-3"];

/** Three lots over two days: bookings (windowed and open-ended), cancellations, stays, coupons, a closure. */
function life(): { stream: string; event: DomainEvent }[] {
  const out: { stream: string; event: DomainEvent }[] = [];
  const lot = (event: DomainEvent) =>
    out.push({ stream: parkingLotStream((event.data as { parkingLotId: string }).parkingLotId), event });
  for (const parkingLotId of LOTS)
    lot({
      type: "ParkingLotRegistered",
      data: { parkingLotId, name: parkingLotId, capacity: 30, registeredAt: iso(T0) },
    });
  for (let k = 0; k < 150; k++) {
    const t = T0 + k * 20 * MINUTE;
    const parkingLotId = LOTS[k % 3] as string;
    const ids = { reservationId: `bk-${k}`, parkingLotId, customerId: `CUST-BOOKS-${k}` };
    const window = k % 2 ? { startsAt: iso(t + 30 * MINUTE), endsAt: iso(t + 90 * MINUTE) } : {};
    lot({
      type: "ParkingReserved",
      data: { ...ids, carNumber: "12가3456", amount: 1000, reservedAt: iso(t), ...window },
    });
    const coupon = { couponId: `cp-${k}`, ...ids };
    out.push({
      stream: couponStream(ids.reservationId),
      event: { type: "CouponIssued", data: { ...coupon, issuedAt: iso(t + 1) } },
    });
    if (k % 3 === 0) {
      lot({
        type: "ReservationCanceled",
        data: { ...ids, reason: "plans", canceledAt: iso(t + 5 * MINUTE), ...window },
      });
      out.push({
        stream: couponStream(ids.reservationId),
        event: { type: "CouponRevoked", data: { ...coupon, revokedAt: iso(t + 6 * MINUTE) } },
      });
    } else if (!window.startsAt)
      lot({ type: "ReservationCheckedIn", data: { ...ids, checkedInAt: iso(t + 5 * MINUTE) } });
    if (k === 70)
      lot({
        type: "ParkingLotClosed",
        data: {
          parkingLotId,
          closureId: "works",
          closedAt: iso(t),
          from: iso(t + 60 * MINUTE),
          until: iso(t + 120 * MINUTE),
          reason: "works",
        },
      });
  }
  return out;
}

const contextOf = (
  eventStore: EventStore,
  documentStore: DocumentStore,
  warnings: string[] = [],
): ReactorContext => {
  const logger = createLogger("silent");
  logger.warn = ((...args: unknown[]) => warnings.push(String(args.at(-1)))) as typeof logger.warn;
  return { eventStore, documentStore, logger, now: () => T0 + 3 * 24 * 60 * MINUTE };
};

async function collect(read: AsyncIterable<RecordedEvent>): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = [];
  for await (const raw of read) out.push(raw);
  return out;
}

/** Every book kept: its head and its documents, in book order. */
async function booksIn(store: DocumentStore) {
  const heads = await store.find(BOOKS, {}, { sort: { _id: 1 } });
  const documents = await store.find(BOOK_DOCUMENTS, {}, { sort: { _id: 1 } });
  expect(documents.map((d) => d._id)).toEqual(heads.map((h) => h._id));
  return heads.map((head, i) => ({
    ...(head as unknown as { book: number; events: number; position: { commit: number } }),
    documents: (documents[i]?.documents ?? []) as {
      collection: string;
      _id: string;
      couponsIssued?: number;
    }[],
  }));
}

/** The books' documents folded from the log's first event to its `count`th, pruned as a fold is: the reference. */
function foldedFromStart(log: readonly RecordedEvent[], count: number): unknown[] {
  const store = new MemoryDocumentStore();
  let stampMs = Number.NEGATIVE_INFINITY;
  for (const raw of log.slice(0, count)) {
    const stamp = stampMsOfRaw(raw.type, raw.data);
    if (stamp > stampMs) stampMs = stamp;
    if (!BOOK_PROJECTIONS.some((p) => p.eventTypes.has(raw.type as never))) continue;
    const stored = decodeEvent(raw);
    for (const p of BOOK_PROJECTIONS)
      store.writeNow(p.apply(stored, (name) => name).filter((op) => keptInFold(op, (name) => name)));
  }
  const horizon = pruneHorizon(stampMs);
  return [...store.documents()]
    .filter(([collection, doc]) => !endedBefore(collection, doc, horizon, (name) => name))
    .map(([collection, doc]) => ({ collection, ...doc }))
    .sort((a, b) => (`${a.collection}/${a._id}` < `${b.collection}/${b._id}` ? -1 : 1));
}

describe("the control center's books (issue 48)", () => {
  const data = tempDataDir("parking-cc-books-");
  let events: SqliteEventStore;
  /** Where the books are kept (the read models' store). */
  const docs = new MemoryDocumentStore();

  beforeAll(async () => {
    events = SqliteEventStore.open({ file: join(data.dir, "events.sqlite") });
    const revisions = new Map<string, number>();
    for (const { stream, event } of life()) {
      const causation = { correlationId: "c", causationId: "c", actor: systemActor("test") };
      const appended = await events.appendToStream(stream, [encodeEvent(event, causation)], {
        expectedRevision: revisions.get(stream) ?? "no_stream",
      });
      revisions.set(stream, appended.nextExpectedRevision);
    }
  });
  afterAll(async () => {
    await events?.close();
    data.remove();
  });

  it("closes nothing before EVERY events, then a book per EVERY events of the log, each what a fold from the log's start holds there", async () => {
    await followBooks(contextOf(events, docs), controlCenterBooks({ every: 10_000 }));
    expect(await booksIn(docs)).toEqual([]);

    await followBooks(contextOf(events, docs), controlCenterBooks({ every: EVERY }), { batch: 7 });
    const log = await collect(events.readAll());
    const books = await booksIn(docs);
    // Kept beside the read models: the log is not written.
    expect(books.length).toBe(Math.floor(log.length / EVERY));
    expect(books.length).toBeGreaterThan(5);
    let pruned = 0;
    for (const [i, book] of books.entries()) {
      expect(book.book).toBe(i + 1);
      expect(book.events).toBe(EVERY * (i + 1));
      expect(book.position.commit).toBe(log[EVERY * (i + 1) - 1]?.position.commit);
      const reference = foldedFromStart(log, book.events);
      const sorted = [...book.documents].sort((a, b) =>
        `${a.collection}/${a._id}` < `${b.collection}/${b._id}` ? -1 : 1,
      );
      expect(sorted, `book ${book.book}`).toEqual(reference);
      pruned += reference.length < book.events ? 1 : 0;
    }
    const last = books.at(-1);
    if (!last) throw new Error("no book");
    // Every lot registered, the coupons counted, the activity of the day before the horizon left out.
    expect(last.documents.filter((d) => d.collection === REGISTERED_LOTS).map((d) => d._id)).toEqual(LOTS);
    const issued = log.slice(0, last.events).filter((e) => e.type === "CouponIssued").length;
    expect(issued).toBeGreaterThan(100);
    expect(last.documents.find((d) => d._id === "totals")?.couponsIssued).toBe(issued);
    const minutes = last.documents.filter((d) => d._id.startsWith(ACTIVITY_PREFIX));
    expect(minutes.length).toBeGreaterThan(0);
    expect(minutes.length).toBeLessThan(150);
    expect(pruned).toBeGreaterThan(0);
    // Counts and lot ids only: no customer, no plate.
    expect(JSON.stringify(books)).not.toMatch(/CUST-BOOKS|12가3456/);
  });

  it("a repeat, a restart, a lease that comes back or a second replica writes each book again as it is", async () => {
    const before = await booksIn(docs);
    const log = await collect(events.readAll());
    // A restart: the runtime resumes it at the last book kept, not at its checkpoint (3·EVERY+11).
    await followBooks(contextOf(events, docs), controlCenterBooks({ every: EVERY }), {
      from: 3 * EVERY + 11,
    });
    expect(await booksIn(docs)).toEqual(before);
    expect(await collect(events.readAll())).toHaveLength(log.length);
    // Two replicas at once, from none, in batches of different sizes: each book once, the same.
    const fresh = new MemoryDocumentStore();
    const [one, other] = [controlCenterBooks({ every: EVERY }), controlCenterBooks({ every: EVERY })];
    await Promise.all([
      followBooks(contextOf(events, fresh), one, { batch: 13 }),
      followBooks(contextOf(events, fresh), other, { batch: 64 }),
    ]);
    expect(await booksIn(fresh)).toEqual(before);
    // A lease that comes back: `one` folded the log up to its 2·EVERY+5th event; another replica
    // went on; `one` takes the lease again: it starts again from the last book kept.
    const back = new MemoryDocumentStore();
    await followBooks(contextOf(events, back), one, { to: 2 * EVERY + 5 });
    await followBooks(contextOf(events, back), other, { from: 2 * EVERY + 5, to: log.length - 20 });
    await followBooks(contextOf(events, back), one, { from: log.length - 20 });
    expect(await booksIn(back)).toEqual(before);
    // The last book before a moment, found by a binary search of the heads.
    const middle = Math.floor(before.length / 2);
    const at = (log[EVERY * middle - 1] as RecordedEvent).position.commit;
    expect((await lastBookBefore(fresh, (b) => b.position.commit <= at))?.book).toBe(middle);
    expect((await lastBookBefore(fresh, (b) => b.position.commit < at))?.book).toBe(middle - 1);
    expect((await lastBookBefore(fresh, () => true))?.book).toBe(before.length);
    expect(await lastBookBefore(fresh, () => false)).toBeUndefined();
  });

  it("a book larger than the largest document kept is not written, and said once", async () => {
    const store = new MemoryDocumentStore();
    const warnings: string[] = [];
    await followBooks(
      contextOf(events, store, warnings),
      controlCenterBooks({ every: EVERY, maxBytes: 600 }),
    );
    expect(await booksIn(store)).toEqual([]);
    expect(warnings).toEqual([
      "control center's book not kept: larger than the document store's largest document",
    ]);
  });
});
