import type { DocumentStore, WriteOp } from "../document-store/port.js";
import type { EventStore, RecordedEvent } from "../event-store/port.js";
import {
  RESERVATION_EVENTS,
  reservationEventsProjection,
} from "../projections/read-models/reservation-events.js";
import { checkpointOp, physicalCollection } from "../projections/runtime/checkpoints.js";
import { decodeEvent } from "../schemas/event-codec.js";

/**
 * The reservation-events index (generation 1) of `events`' log up to `commit` (all of it by
 * default), written into `docs` from nothing with its checkpoint: what a reservation's history and
 * time travel find its facts through, without running the projection's runtime.
 */
export async function indexReservationEvents(
  events: EventStore,
  docs: DocumentStore,
  commit = Number.POSITIVE_INFINITY,
): Promise<void> {
  const collection = physicalCollection(RESERVATION_EVENTS, 1);
  await docs.dropCollection(collection);
  await docs.ensureIndexes(collection, reservationEventsProjection.collections[RESERVATION_EVENTS] ?? []);
  const ops: WriteOp[] = [];
  let last: RecordedEvent["position"] | undefined;
  for await (const raw of events.readAll()) {
    if (raw.position.commit > commit) break;
    const stored = decodeEvent(raw);
    if (reservationEventsProjection.eventTypes.has(stored.event.type))
      ops.push(...reservationEventsProjection.apply(stored, (logical) => physicalCollection(logical, 1)));
    last = raw.position;
  }
  if (last)
    ops.push(checkpointOp(reservationEventsProjection.name, 1, { position: last, state: "running" }, 1));
  await docs.write(ops);
}
