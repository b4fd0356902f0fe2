import type { DocumentStore } from "../../document-store/port.js";
import { comparePositions, type Position } from "../../event-store/position.js";
import { stampOf } from "../../schemas/event-stamps.js";
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

/** Whether the event at `position` is in `book` already (at or before the last event it folded). */
const isFolded = (book: OpenBook, position: Position): boolean =>
  book.position !== undefined && comparePositions(position, book.position) <= 0;

/**
 * The control center's books (read-models/control-center-books.ts), closed by a reactor that
 * follows every event: it folds them into the book being folded, in memory, and writes it every
 * `every` events (the same book from the same log: a repeat after a crash or a takeover rewrites
 * it as it is). It resumes at the last book kept (Reactor.resume), not at its checkpoint.
 */
export function controlCenterBooks(options: ControlCenterBooksOptions = {}): Reactor {
  const limits = { every: options.every ?? BOOK_EVENTS, maxBytes: options.maxBytes ?? MAX_BOOK_BYTES };
  /** The book being folded, by the store its books are kept in (a process has one; tests, several). */
  const open = new WeakMap<DocumentStore, OpenBook>();
  const said = { tooLarge: false };
  return {
    name: CONTROL_CENTER_BOOKS,
    eventTypes: new Set(EVENT_TYPES),
    async resume(documentStore) {
      const latest = await latestBook(documentStore);
      open.set(documentStore, new OpenBook(latest));
      return latest?.position ?? null;
    },
    async react(events, context) {
      let book = open.get(context.documentStore);
      if (!book) throw new Error("the control center's books were handed events before they resumed");
      for (const stored of events) {
        // Handed again after a crash or an outage (the checkpoint behind what it folded): folded already.
        if (isFolded(book, stored.position)) continue;
        const folded = foldedInBooks(stored.event.type) ? stored : undefined;
        book.add(stored.position, Date.parse(stampOf(stored.event)), folded);
        if (book.added >= limits.every) book = await close(book, context, limits, said);
      }
      open.set(context.documentStore, book);
    },
  };
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
