import { MemoryDocumentStore } from "../document-store/memory/memory-document-store.js";
import type { DocumentStore } from "../document-store/port.js";
import type { EventStore } from "../event-store/port.js";
import { isAfter, type Position } from "../event-store/position.js";
import { createLogger } from "../platform/logger.js";
import { controlCenterBooks } from "../projections/control-center-books/control-center-books.js";
import type { Reactor, ReactorContext } from "../projections/runtime/processor.js";
import { decodeEvent, type StoredDomainEvent } from "../schemas/event-codec.js";
import { EVENT_TYPES } from "../schemas/events.js";

/** A context for the control-center-books reactor run by hand (the event store and where the books go). */
export const booksContext = (
  eventStore: EventStore,
  documentStore: DocumentStore = new MemoryDocumentStore(),
): ReactorContext => ({ eventStore, documentStore, logger: createLogger("silent"), now: () => Date.now() });

/**
 * Runs a control-center-books reactor over the log's events up to the `to`th (all by default), as
 * the runtime would when it starts working on it: it resumes (Reactor.resume), then is handed the
 * events of its types after where it resumed (after the `from`th, its checkpoint, were it a reactor
 * that does not resume), decoded, in batches of `batch`.
 */
export async function followBooks(
  context: ReactorContext,
  reactor: Reactor = controlCenterBooks(),
  options: { readonly batch?: number; readonly from?: number; readonly to?: number } = {},
): Promise<void> {
  const types: ReadonlySet<string> = new Set(EVENT_TYPES);
  const resumed = reactor.resume ? await reactor.resume(context.documentStore) : undefined;
  const handed = (at: number, position: Position) =>
    resumed === undefined ? at >= (options.from ?? 0) : !resumed || isAfter(position, resumed);
  let pending: StoredDomainEvent[] = [];
  let index = 0;
  for await (const raw of context.eventStore.readAll()) {
    if (!types.has(raw.type)) continue;
    const at = index++;
    if (at >= (options.to ?? Number.POSITIVE_INFINITY)) break;
    if (!handed(at, raw.position)) continue;
    pending.push(decodeEvent(raw));
    if (pending.length < (options.batch ?? 500)) continue;
    await reactor.react(pending, context);
    pending = [];
  }
  if (pending.length > 0) await reactor.react(pending, context);
}
