import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import type { DocumentStore } from "../../document-store/port.js";
import type { EventStore } from "../../event-store/port.js";
import { comparePositions, type Position } from "../../event-store/position.js";
import { decodeEvent } from "../../schemas/event-codec.js";
import { stampMsOfRaw, stampOf } from "../../schemas/event-stamps.js";
import { EVENT_TYPES } from "../../schemas/events.js";
import {
  BOOK_EVENTS,
  bookWrites,
  foldedInBooks,
  latestBook,
  OpenBook,
} from "../read-models/control-center-books.js";
import type { Reactor, ReactorContext } from "../runtime/processor.js";

export const CONTROL_CENTER_BOOKS = "control-center-books";

/**
 * The most bytes a book's documents may take: below MongoDB's largest document (16 MiB, "BSON
 * Document Size" in https://www.mongodb.com/docs/manual/reference/limits/), with room for the
 * field names' overhead in BSON. About 150,000 lots.
 */
export const MAX_BOOK_BYTES = 12 * 1024 * 1024;

export interface ControlCenterBooksOptions {
  /** Events of the log between two books (BOOK_EVENTS; tests shorten it). */
  readonly every?: number;
  /** The most bytes a book may take (MAX_BOOK_BYTES; tests lower it). */
  readonly maxBytes?: number;
}

/** Every event type a book counts (the log's events of a type this service defines). */
const COUNTED = { eventTypes: EVENT_TYPES };
/** Events folded between two turns of the event loop given to other work, when catching up. */
const YIELD_EVERY = 200;
/** Whether the event at `position` is in `book` already (at or before the last event it folded). */
const isFolded = (book: OpenBook, position: Position): boolean =>
  book.position !== undefined && comparePositions(position, book.position) <= 0;
const samePosition = (a: Position | undefined, b: Position): boolean =>
  a !== undefined && a.commit === b.commit && a.prepare === b.prepare;

/**
 * Issue 48: the control center's books (projections/read-models/control-center-books.ts), closed
 * by a reactor that follows every event of the log: it counts them into the book being folded (in
 * this process's memory: the last book kept and the events since), folds those of the control
 * center's types (decoded once for every reactor by the runtime), and after every `every` events
 * writes the book to the document store: the same book from the same log, so a repeat after a
 * crash, a lease takeover or a second replica writes it again as it is. Before a batch it checks
 * that the batch follows what it folded (one read of one event); when not (a start, or a lease
 * that came back), it starts again from the last book kept and the log after it, up to the batch.
 * A log that already has a history (a service upgraded, read models dropped) gets its books as the
 * reactor catches up, its progress logged every 100 books.
 */
export function controlCenterBooks(options: ControlCenterBooksOptions = {}): Reactor {
  const limits = { every: options.every ?? BOOK_EVENTS, maxBytes: options.maxBytes ?? MAX_BOOK_BYTES };
  /** The book being folded, by the store its books are kept in (a process has one; tests, several). */
  const open = new WeakMap<DocumentStore, OpenBook>();
  const said = { tooLarge: false };
  return {
    name: CONTROL_CENTER_BOOKS,
    eventTypes: new Set(EVENT_TYPES),
    async react(events, context) {
      const [first, last] = [events[0], events.at(-1)];
      if (!first || !last) return;
      let book = open.get(context.documentStore);
      // Events handed again after a crash (the checkpoint behind the books written): already folded.
      if (book && isFolded(book, last.position)) return;
      if (!book || !(await follows(context.eventStore, book.position, first.position)))
        book = await resume(first.position, context, limits, said);
      for (const stored of events) {
        if (isFolded(book, stored.position)) continue;
        const folded = foldedInBooks(stored.event.type) ? stored : undefined;
        book.add(stored.position, Date.parse(stampOf(stored.event)), folded);
        if (book.added >= limits.every) book = await close(book, context, limits, said);
      }
      open.set(context.documentStore, book);
    },
  };
}

/** Whether the log's next event after `after` (its first, without) is at `next`: one read of one event. */
async function follows(events: EventStore, after: Position | undefined, next: Position): Promise<boolean> {
  for await (const raw of events.readAll({ ...(after ? { from: after } : {}), maxCount: 1, filter: COUNTED }))
    return samePosition(raw.position, next);
  return false;
}

/**
 * The book being folded, from the last book kept and the log after it up to (not including) the
 * event at `until`, closing the books it passes.
 */
async function resume(
  until: Position,
  context: ReactorContext,
  limits: { readonly every: number; readonly maxBytes: number },
  said: { tooLarge: boolean },
): Promise<OpenBook> {
  const latest = await latestBook(context.documentStore);
  let book = new OpenBook(latest);
  let read = 0;
  const from = latest?.position;
  for await (const raw of context.eventStore.readAll({ ...(from ? { from } : {}), filter: COUNTED })) {
    if (comparePositions(raw.position, until) >= 0) break;
    book.add(
      raw.position,
      stampMsOfRaw(raw.type, raw.data),
      foldedInBooks(raw.type) ? decodeEvent(raw) : undefined,
    );
    if (book.added >= limits.every) book = await close(book, context, limits, said);
    if (++read % YIELD_EVERY === 0) await yieldToEventLoop();
  }
  return book;
}

/** Writes the book `open` makes (unless too large: said once) and opens the next one after it. */
async function close(
  open: OpenBook,
  context: ReactorContext,
  { maxBytes }: { readonly maxBytes: number },
  said: { tooLarge: boolean },
): Promise<OpenBook> {
  const book = open.close();
  if (!book) return open;
  const writes = bookWrites(book);
  const bytes = Buffer.byteLength(JSON.stringify(writes));
  if (bytes > maxBytes) {
    // The control center as of a later moment is folded from the last book kept (slower, the same answers).
    if (!said.tooLarge)
      context.logger.warn(
        { book: book.book, bytes, maxBookBytes: maxBytes },
        "control center's book not kept: larger than the document store's largest document",
      );
    said.tooLarge = true;
    return new OpenBook(book);
  }
  await context.documentStore.write(writes);
  const fields = { book: book.book, events: book.events, bytes };
  if (book.book % 100 === 0) context.logger.info(fields, "control center's books closed so far");
  else context.logger.debug(fields, "control center's book closed");
  return new OpenBook(book);
}
