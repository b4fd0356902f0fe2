import { MemoryDocumentStore } from "../../document-store/memory/memory-document-store.js";
import type { Document, DocumentStore, WriteOp } from "../../document-store/port.js";
import type { Position } from "../../event-store/position.js";
import type { StoredDomainEvent } from "../../schemas/event-codec.js";
import { controlCenterProjection } from "./control-center.js";
import { endedBefore, keptInFold, pruneHorizon } from "./folded-documents.js";
import { defineProjection } from "./projection.js";

/**
 * The control center's books, closed every BOOK_EVENTS events of the log, so that the control
 * center as of a moment is folded from the last book before it, never from the log's start. A book
 * holds what it reads beside the lots' own states: the control-center projection's documents and
 * the lots registered, pruned as every fold is (folded-documents.ts).
 */

/** Events of the log between two books: as many as a lot's period holds at most (LOT_PERIOD_EVENTS). */
export const BOOK_EVENTS = 4_000;

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

/** A book as a fold starts from it: its documents as writes to their logical collections. */
export interface Book extends BookHead {
  readonly documents: readonly Replace[];
}

/** A document written whole to its logical collection: what a book keeps of each. */
type Replace = Extract<WriteOp, { op: "replace" }>;

/** What a book's head holds: which book, how many events of the log it folded, the last one's position, the latest stamp. */
export interface BookHead {
  readonly book: number;
  readonly events: number;
  readonly position: Position;
  readonly stampMs: number;
}

/**
 * The books are kept in the document store (on the log every follower would read them), each in
 * two documents: its head in BOOKS (what the binary search reads) and its documents in
 * BOOK_DOCUMENTS, under its zero-padded number.
 */
export const BOOKS = "control_center_books";
export const BOOK_DOCUMENTS = "control_center_book_documents";
const bookId = (book: number): string => String(book).padStart(12, "0");

/** The writes that keep a book (the same for the same book: a repeat or a second replica rewrites it as it is). */
export function bookWrites(book: Book): WriteOp[] {
  const id = bookId(book.book);
  const documents = book.documents.map((op) => ({ collection: op.collection, _id: op.id, ...op.document }));
  const { book: number, events, position, stampMs } = book;
  return [
    { op: "replace", collection: BOOK_DOCUMENTS, id, document: { documents } },
    { op: "replace", collection: BOOKS, id, document: { book: number, events, position, stampMs } },
  ];
}

const headOf = (doc: Document | null): BookHead | undefined =>
  doc
    ? {
        book: Number(doc.book),
        events: Number(doc.events),
        position: doc.position as Position,
        stampMs: Number(doc.stampMs),
      }
    : undefined;

/** The last book closed, if any: one read of its head, one of its documents. */
export const latestBook = (store: DocumentStore): Promise<Book | undefined> =>
  lastBookBefore(store, () => true);

/** The book of `head` with its documents (one read by id). */
async function withDocuments(store: DocumentStore, head: BookHead): Promise<Book | undefined> {
  const doc = await store.findById(BOOK_DOCUMENTS, bookId(head.book));
  if (!doc) return undefined;
  const documents = (doc.documents as ({ collection: string; _id: string } & Document)[]).map(
    ({ collection, _id, ...document }): Replace => ({ op: "replace", collection, id: _id, document }),
  );
  return { ...head, documents };
}

/**
 * The last book `before` accepts, if any (books are in log order, so `before` of a moment holds up
 * to some book): a binary search of the heads, one small read each, then its documents.
 */
export async function lastBookBefore(
  store: DocumentStore,
  before: (book: BookHead) => boolean,
): Promise<Book | undefined> {
  const [last] = await store.find(BOOKS, {}, { sort: { _id: -1 }, limit: 1 });
  const latest = headOf(last ?? null);
  if (!latest) return undefined;
  if (before(latest)) return withDocuments(store, latest);
  // The last head accepted so far (none: book 0, the log's start) and the first refused.
  let found: BookHead | undefined;
  let high = latest.book;
  while (high - (found?.book ?? 0) > 1) {
    const middle = Math.floor(((found?.book ?? 0) + high) / 2);
    const head = headOf(await store.findById(BOOKS, bookId(middle)));
    if (head && before(head)) found = head;
    else high = middle;
  }
  return found && withDocuments(store, found);
}

const logical = (name: string) => name;

/** The book being folded after `previous`: its documents, then the events `add`ed; `close` gives the book (pure). */
export class OpenBook {
  private readonly store = new MemoryDocumentStore();
  /** Events of the log added since the previous book. */
  added = 0;
  /** The last event added (or the previous book's), if any. */
  position: Position | undefined;
  private stampMs: number;

  constructor(readonly previous: Book | undefined) {
    if (previous) this.store.writeNow(previous.documents);
    this.position = previous?.position;
    this.stampMs = previous?.stampMs ?? Number.NEGATIVE_INFINITY;
  }

  /** One more event of the log: its position, its record time (NaN: none) and, if a book folds its type, itself. */
  add(position: Position, stampMs: number, stored: StoredDomainEvent | undefined): void {
    this.added++;
    this.position = position;
    if (stampMs > this.stampMs) this.stampMs = stampMs;
    if (!stored) return;
    for (const projection of BOOK_PROJECTIONS)
      if (projection.eventTypes.has(stored.event.type))
        this.store.writeNow(projection.apply(stored, logical).filter((op) => keptInFold(op, logical)));
  }

  /** The book the events added make (undefined before any). */
  close(): Book | undefined {
    const { previous, added, position: last, stampMs } = this;
    if (!last || added === 0 || !Number.isFinite(stampMs)) return undefined;
    const horizon = pruneHorizon(stampMs);
    const documents: Replace[] = [];
    for (const [collection, { _id, ...document }] of this.store.documents())
      if (!endedBefore(collection, { _id, ...document }, horizon, logical))
        documents.push({ op: "replace", collection, id: _id, document });
    return {
      book: (previous?.book ?? 0) + 1,
      events: (previous?.events ?? 0) + added,
      position: { commit: last.commit, prepare: last.prepare },
      stampMs,
      documents,
    };
  }
}

/** Whether a book folds events of this type (others are only counted): decode only those. */
export const foldedInBooks = (type: string): boolean => FOLDED_TYPES.has(type);
