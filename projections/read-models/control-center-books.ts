import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import { MemoryDocumentStore } from "../../document-store/memory/memory-document-store.js";
import type { WriteOp } from "../../document-store/port.js";
import type { EventStore, RecordedEvent } from "../../event-store/port.js";
import type { Position } from "../../event-store/position.js";
import { decodeEvent } from "../../schemas/event-codec.js";
import { stampMsOfRaw } from "../../schemas/event-stamps.js";
import type { EventOfType } from "../../schemas/events.js";
import { controlCenterProjection } from "./control-center.js";
import { endedBefore, keptInFold, pruneHorizon } from "./folded-documents.js";
import { defineProjection } from "./projection.js";

/**
 * Issue 48: the control center's books, closed every BOOK_EVENTS events of the global log
 * (`ControlCenterBooksClosed`, schemas/control-center-books-events.ts, written by the
 * control-center-books reactor), so that the control center as of a moment is folded from the last
 * book before it, never from the log's first event. A book holds what the control center reads
 * beside the lots' own states (which come from each lot's period: read-api/time-travel/): the
 * control-center projection's documents and the lots registered, folded by the same projections
 * and pruned as every fold is (folded-documents.ts).
 */

export const CONTROL_CENTER_BOOKS_STREAM = "controlCenterBooks";
/** Events of the log between two books: as many as one answer of time travel folds at most. */
export const BOOK_EVENTS = 1_000;

/** The lots registered, one document each (its id the lot's): which lots a book's moment has. */
export const REGISTERED_LOTS = "registered_lots";
export const registeredLotsProjection = defineProjection({
  name: "registered-lots",
  version: 1,
  collections: { [REGISTERED_LOTS]: [] },
  on: {
    ParkingLotRegistered: ({ event }, collection) => [
      { op: "replace", collection: collection(REGISTERED_LOTS), id: event.data.parkingLotId, document: {} },
    ],
  },
});

/** What a book folds: the control center's documents and the lots registered. */
export const BOOK_PROJECTIONS = [controlCenterProjection, registeredLotsProjection] as const;
const FOLDED_TYPES: ReadonlySet<string> = new Set(BOOK_PROJECTIONS.flatMap((p) => [...p.eventTypes]));

type BookData = Omit<EventOfType<"ControlCenterBooksClosed">["data"], "closedAt">;

/** A book as a fold starts from it: its documents as writes to their logical collections. */
export interface Book {
  readonly book: number;
  /** Events of the log folded into it. */
  readonly events: number;
  readonly position: Position;
  readonly stampMs: number;
  readonly documents: readonly WriteOp[];
}

function bookOf(raw: RecordedEvent): Book | undefined {
  return raw.type === "ControlCenterBooksClosed" ? bookFrom(raw.data as BookData) : undefined;
}

/** A book's data as a fold starts from it. */
export function bookFrom({ book, events, position, latestStamp, documents }: BookData): Book {
  return {
    book,
    events,
    position,
    stampMs: Date.parse(latestStamp),
    documents: documents.map(({ collection, _id, ...document }) => ({
      op: "replace",
      collection,
      id: _id,
      document,
    })),
  };
}

async function bookIn(read: AsyncIterable<RecordedEvent>): Promise<Book | undefined> {
  for await (const raw of read) return bookOf(raw);
  return undefined;
}

/** Book `book` (k ≥ 1), if closed: one read of one event. */
export const readBook = (events: EventStore, book: number): Promise<Book | undefined> =>
  bookIn(events.readStream(CONTROL_CENTER_BOOKS_STREAM, { fromRevision: book - 1, maxCount: 1 }));

/** The last book closed, if any: one read. */
export const latestBook = (events: EventStore): Promise<Book | undefined> =>
  bookIn(events.readStream(CONTROL_CENTER_BOOKS_STREAM, { direction: "backwards", maxCount: 1 }));

/**
 * The last book `before` accepts, if any (books are in log order, each stamped with the latest
 * record time so far, so `before` of a moment holds up to some book and fails after it): the last
 * one, then a binary search, one read each: O(log books).
 */
export async function lastBookBefore(
  events: EventStore,
  before: (book: Book) => boolean,
): Promise<Book | undefined> {
  const latest = await latestBook(events);
  if (!latest || before(latest)) return latest;
  let found: Book | undefined;
  let low = 0;
  let high = latest.book;
  while (high - low > 1) {
    const middle = Math.floor((low + high) / 2);
    const book = await readBook(events, middle);
    if (book && before(book)) [low, found] = [middle, book];
    else high = middle;
  }
  return found;
}

/** Events folded between two turns of the event loop given to other work. */
const YIELD_EVERY = 200;
const logical = (name: string) => name;

/**
 * The book after `previous` (the first without one): its documents and the next `every` events of
 * the log folded, what ended before the fold's horizon left out. Undefined while fewer follow it.
 * Bounded by `every` events, whatever the history.
 */
export async function nextBook(
  events: EventStore,
  previous: Book | undefined,
  every = BOOK_EVENTS,
): Promise<BookData | undefined> {
  const store = new MemoryDocumentStore();
  if (previous) store.writeNow(previous.documents);
  let stampMs = previous?.stampMs ?? Number.NEGATIVE_INFINITY;
  let last: Position | undefined;
  let folded = 0;
  for await (const raw of events.readAll({
    ...(previous ? { from: previous.position } : {}),
    maxCount: every,
  })) {
    folded++;
    last = raw.position;
    const stamp = stampMsOfRaw(raw.type, raw.data);
    if (stamp > stampMs) stampMs = stamp;
    if (FOLDED_TYPES.has(raw.type)) {
      const stored = decodeEvent(raw);
      for (const projection of BOOK_PROJECTIONS)
        if (projection.eventTypes.has(stored.event.type))
          store.writeNow(projection.apply(stored, logical).filter((op) => keptInFold(op, logical)));
    }
    if (folded % YIELD_EVERY === 0) await yieldToEventLoop();
  }
  if (folded < every || !last || !Number.isFinite(stampMs)) return undefined;
  const horizon = pruneHorizon(stampMs);
  const documents: BookData["documents"] = [];
  for (const [collection, doc] of store.documents())
    if (!endedBefore(collection, doc, horizon, logical)) documents.push({ collection, ...doc });
  return {
    book: (previous?.book ?? 0) + 1,
    events: (previous?.events ?? 0) + folded,
    position: { commit: last.commit, prepare: last.prepare },
    latestStamp: new Date(stampMs).toISOString(),
    documents,
  };
}
