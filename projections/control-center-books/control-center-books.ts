import type { EventStore } from "../../event-store/port.js";
import type { Position } from "../../event-store/position.js";
import {
  BOOK_EVENTS,
  type Book,
  bookWrites,
  latestBook,
  nextBook,
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
  /** How often it looks whether a book is due (a second by default). */
  readonly everyMs?: number;
  /** The most bytes a book may take (MAX_BOOK_BYTES; tests lower it). */
  readonly maxBytes?: number;
}

/** What one process knows of the books: the last one, and the log counted past it. */
interface Known {
  readonly latest: Book | undefined;
  /** Events of the log after `latest` counted so far (at most `every`), the last at `to`. */
  readonly counted: number;
  readonly to: Position | undefined;
}

/**
 * Issue 48: the control center's books (projections/read-models/control-center-books.ts), closed
 * by a reactor on its clock (a tick: it reacts to no event, so the runtime decodes none for it).
 * Each tick counts the log's events after the last book (raw, from where the last count stopped)
 * and, once `every` follow it, folds the next book from the last one and those events and writes
 * it to the document store: the same book from the same log, so a repeat after a crash, a lease
 * takeover or a second replica writes it again as it is. What it keeps in memory is derived from
 * the books written, read again on a start. A log that already has a history (a service upgraded,
 * read models dropped) gets its books on the first ticks after the reactor caught up, a book at a
 * time, its progress logged every 100 books.
 */
export function controlCenterBooks(options: ControlCenterBooksOptions = {}): Reactor {
  const every = options.every ?? BOOK_EVENTS;
  const known = new WeakMap<EventStore, Known>();
  /** The book too large to keep, by event store: not folded again until a restart. */
  const tooLarge = new WeakMap<EventStore, number>();
  return {
    name: CONTROL_CENTER_BOOKS,
    eventTypes: new Set(),
    async react() {},
    tick: {
      everyMs: options.everyMs ?? 1_000,
      async run(context) {
        const events = context.eventStore;
        let state = known.get(events) ?? {
          latest: await latestBook(context.documentStore),
          counted: 0,
          to: undefined,
        };
        for (;;) {
          state = await counted(events, state, every);
          known.set(events, state);
          const due = (state.latest?.book ?? 0) + 1;
          if (state.counted < every || tooLarge.get(events) === due) return;
          const closed = await close(
            state.latest,
            { every, maxBytes: options.maxBytes ?? MAX_BOOK_BYTES },
            context,
          );
          if (!closed) return;
          if (closed === "too-large") tooLarge.set(events, due);
          else state = { latest: closed, counted: 0, to: undefined };
        }
      },
    },
  };
}

/** `state` with the log counted further past its last book, up to `every` events (raw reads, nothing decoded). */
async function counted(events: EventStore, state: Known, every: number): Promise<Known> {
  let { counted, to } = state;
  const from = to ?? state.latest?.position;
  if (counted >= every) return state;
  for await (const raw of events.readAll({ ...(from ? { from } : {}), maxCount: every - counted })) {
    counted++;
    to = raw.position;
  }
  return { latest: state.latest, counted, to };
}

/** Folds and writes the book after `previous`: the book, or "too-large" when it is not kept. */
async function close(
  previous: Book | undefined,
  { every, maxBytes }: { readonly every: number; readonly maxBytes: number },
  context: ReactorContext,
): Promise<Book | undefined | "too-large"> {
  const started = performance.now();
  const book = await nextBook(context.eventStore, previous, every);
  if (!book) return undefined;
  const writes = bookWrites(book);
  const bytes = Buffer.byteLength(JSON.stringify(writes));
  if (bytes > maxBytes) {
    // The control center as of a later moment is folded from the last book kept (slower, the same answers).
    context.logger.warn(
      { book: book.book, bytes, maxBookBytes: maxBytes },
      "control center's book not kept: larger than the document store's largest document",
    );
    return "too-large";
  }
  await context.documentStore.write(writes);
  const fields = { book: book.book, events: book.events, bytes, ms: Math.round(performance.now() - started) };
  if (book.book % 100 === 0) context.logger.info(fields, "control center's books closed so far");
  else context.logger.debug(fields, "control center's book closed");
  return book;
}
