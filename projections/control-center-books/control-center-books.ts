import { AppendTooLargeError, WrongExpectedRevisionError } from "../../event-store/errors.js";
import { appendBytes, type EventStore } from "../../event-store/port.js";
import type { Position } from "../../event-store/position.js";
import { systemActor } from "../../schemas/actor.js";
import { encodeEvent } from "../../schemas/event-codec.js";
import {
  BOOK_EVENTS,
  type Book,
  bookFrom,
  CONTROL_CENTER_BOOKS_STREAM,
  latestBook,
  nextBook,
} from "../read-models/control-center-books.js";
import type { Reactor, ReactorContext } from "../runtime/processor.js";

export const CONTROL_CENTER_BOOKS = "control-center-books";
/** The reactor closes the books on its own account: its events record it as a system actor. */
const ACTOR = systemActor(CONTROL_CENTER_BOOKS);

export interface ControlCenterBooksOptions {
  /** Events of the log between two books (BOOK_EVENTS; tests shorten it). */
  readonly every?: number;
  /** How often it looks whether a book is due (a second by default). */
  readonly everyMs?: number;
}

/** What one process knows of the books of one event store: the last one, and the log counted past it. */
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
 * and, once `every` follow it, folds the next book from the last one and those events and appends
 * it to `controlCenterBooks` at its revision (book k is event k − 1): a repeat after a crash, a
 * lease takeover or a second replica appends nothing, and the one that lost reads the book the
 * other closed. What it keeps in memory is derived from that stream, read again on a start. A
 * log that already has a history (a service upgraded) gets its books on the first ticks after the
 * reactor caught up, a book at a time, with its progress logged.
 */
export function controlCenterBooks(options: ControlCenterBooksOptions = {}): Reactor {
  const every = options.every ?? BOOK_EVENTS;
  const known = new WeakMap<EventStore, Known>();
  /** The books too large for the store's largest write, by store: not tried again until a restart. */
  const tooLarge = new WeakMap<EventStore, number>();
  return {
    name: CONTROL_CENTER_BOOKS,
    eventTypes: new Set(),
    async react() {},
    tick: {
      everyMs: options.everyMs ?? 1_000,
      async run(context) {
        const events = context.eventStore;
        let state = known.get(events) ?? { latest: await latestBook(events), counted: 0, to: undefined };
        for (;;) {
          state = await counted(events, state, every);
          known.set(events, state);
          const due = (state.latest?.book ?? 0) + 1;
          if (state.counted < every || tooLarge.get(events) === due) return;
          const closed = await close(state.latest, every, context);
          if (closed === "too-large") tooLarge.set(events, due);
          else state = { latest: closed ?? (await latestBook(events)), counted: 0, to: undefined };
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

/**
 * Folds and appends the book after `previous`: the book it closed, undefined when another process
 * closed it first (the caller reads that one), "too-large" when the store cannot take it in one write.
 */
async function close(
  previous: Book | undefined,
  every: number,
  context: ReactorContext,
): Promise<Book | undefined | "too-large"> {
  const events = context.eventStore;
  const started = performance.now();
  const book = await nextBook(events, previous, every);
  if (!book) return undefined;
  const data = { ...book, closedAt: new Date(context.now()).toISOString() };
  const encoded = encodeEvent(
    { type: "ControlCenterBooksClosed", data },
    {
      correlationId: `${CONTROL_CENTER_BOOKS}-${book.book}`,
      causationId: `${CONTROL_CENTER_BOOKS}-${book.book}`,
      actor: ACTOR,
    },
  );
  const max = events.maxAppendBytes;
  if (max !== undefined && appendBytes([encoded]) > max) {
    // Its lots and their coupon counts outgrew EventStoreDB's MaxAppendSize: the control center as
    // of a later moment is folded from the last book written (slower, the same answers).
    context.logger.warn(
      { book: book.book, bytes: appendBytes([encoded]), maxAppendBytes: max },
      "control center's book not closed: larger than the event store's largest write",
    );
    return "too-large";
  }
  try {
    await events.appendToStream(CONTROL_CENTER_BOOKS_STREAM, [encoded], {
      expectedRevision: previous ? previous.book - 1 : "no_stream",
    });
  } catch (error) {
    if (error instanceof AppendTooLargeError) return "too-large";
    // Another replica closed it meanwhile: the same book (the same events folded), kept once.
    if (error instanceof WrongExpectedRevisionError) return undefined;
    throw error;
  }
  const log =
    book.book % 100 === 0
      ? context.logger.info.bind(context.logger)
      : context.logger.debug.bind(context.logger);
  log(
    {
      book: book.book,
      events: book.events,
      documents: book.documents.length,
      ms: Math.round(performance.now() - started),
    },
    "control center's book closed",
  );
  return bookFrom(book);
}
