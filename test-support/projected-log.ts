import type { DocumentStore, WriteOp } from "../document-store/port.js";
import type { EventStore, ReadAllOptions, RecordedEvent } from "../event-store/port.js";
import type { Position } from "../event-store/position.js";
import { PROJECTIONS } from "../projections/read-models/index.js";
import type { Projection } from "../projections/read-models/projection.js";
import { checkpointOp, physicalCollection } from "../projections/runtime/checkpoints.js";
import type { StoredDomainEvent } from "../schemas/event-codec.js";
import { CURRENT_SCHEMA_VERSION, type DomainEvent } from "../schemas/events.js";
import { foldedLots } from "./folded-lots.js";

/** Creates the first generation's collections and indexes of every projection. */
export async function withProjectionIndexes(store: DocumentStore): Promise<void> {
  for (const projection of PROJECTIONS)
    for (const [logical, indexes] of Object.entries(projection.collections))
      await store.ensureIndexes(physicalCollection(logical, 1), indexes);
}

/**
 * A log with no event store: each event gets the next position, and `apply` writes what the
 * projections make of them and their checkpoints into the first generation, as a projector that
 * caught up would leave the read models (or only some projections: one that lags behind the others),
 * and each lot's state as the event store would load it (`lots`).
 */
export function projectedLog(createdAt: Date) {
  let position = 0;
  const folded = foldedLots();
  /** The events folded into the lots: recorded here, or projected from elsewhere. */
  const seen = new WeakSet<StoredDomainEvent>();
  /** Each lot event's lot and position, as the log holds them (what `events` reads back). */
  const lotEvents: { readonly lot: string; readonly position: Position }[] = [];
  const note = (e: StoredDomainEvent) => {
    seen.add(e);
    folded.add(e.event);
    const lot = (e.event.data as { parkingLotId?: unknown }).parkingLotId;
    if (typeof lot === "string") lotEvents.push({ lot, position: e.position });
  };
  /**
   * The log as the views read it besides the lots (ReadOptions.eventStore): its head, and the lots'
   * streams' events after a position (which lots changed: every-lot-figures.ts), no more.
   */
  const events = {
    async headPosition() {
      return position > 0 ? { commit: position, prepare: position } : null;
    },
    async *readAll(options: ReadAllOptions = {}) {
      for (const { lot, position: at } of lotEvents)
        if (!options.from || at.commit > options.from.commit)
          yield { streamId: `parkingLot-${lot}`, position: at } as RecordedEvent;
    },
  } as unknown as EventStore;
  return {
    events,
    /** Each lot's state folded from every event recorded (projected or not), as the views read it (ReadOptions.lots). */
    lots: folded.lots,
    get position(): Position {
      return { commit: position, prepare: position };
    },
    /** The events, each at the next position (in log order, as the lots' own revisions are). */
    record(events: readonly DomainEvent[]): StoredDomainEvent[] {
      return events.map((event) => {
        position++;
        const stored: StoredDomainEvent = {
          event,
          id: `e${position}`,
          streamId: "s",
          revision: position - 1,
          position: { commit: position, prepare: position },
          metadata: { correlationId: "c", causationId: "c", schemaVersion: CURRENT_SCHEMA_VERSION },
          createdAt,
        };
        note(stored);
        return stored;
      });
    },
    /** Writes what `projections` make of these recorded events, and their checkpoints, in one write. */
    async project(
      store: DocumentStore,
      stored: readonly StoredDomainEvent[],
      projections: readonly Projection[] = PROJECTIONS,
    ): Promise<void> {
      const ops: WriteOp[] = [];
      for (const e of stored) if (!seen.has(e)) note(e);
      const collection = (logical: string) => physicalCollection(logical, 1);
      for (const projection of projections) {
        for (const e of stored)
          if (projection.eventTypes.has(e.event.type)) ops.push(...projection.apply(e, collection));
        const last = stored.at(-1);
        if (last)
          ops.push(
            checkpointOp(
              projection.name,
              1,
              { position: last.position, state: "running" },
              projection.version,
            ),
          );
      }
      await store.write(ops);
    },
    /** Records these events and projects them through every projection. */
    async apply(store: DocumentStore, events: readonly DomainEvent[]): Promise<void> {
      await this.project(store, this.record(events));
    },
  };
}
