import { MemoryDocumentStore } from "../document-store/memory/memory-document-store.js";
import type { EventStore } from "../event-store/port.js";
import { createLogger } from "../platform/logger.js";
import { lotPeriodView } from "../projections/lot-period-view/lot-period-view.js";
import type { ReactorContext } from "../projections/runtime/processor.js";
import { decodeEvent, type StoredDomainEvent } from "../schemas/event-codec.js";

/** A context for the lot-period-view reactor run by hand in a test (it uses the event store only). */
export const periodViewContext = (eventStore: EventStore, now = () => Date.now()): ReactorContext => ({
  eventStore,
  documentStore: new MemoryDocumentStore(),
  logger: createLogger("silent"),
  now,
});

/** The log's period openings, decoded as the processor runtime hands them to the reactor. */
export async function periodOpenings(events: EventStore): Promise<StoredDomainEvent[]> {
  const out: StoredDomainEvent[] = [];
  for await (const raw of events.readAll()) if (raw.type === "LotPeriodOpened") out.push(decodeEvent(raw));
  return out;
}

/** Runs the lot-period-view reactor over every opening of the log, as the runtime would (one batch). */
export async function recordPeriodViews(events: EventStore): Promise<void> {
  await lotPeriodView.react(await periodOpenings(events), periodViewContext(events));
}
