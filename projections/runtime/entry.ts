import { type DocumentStore, DocumentStoreUnavailableError } from "../../document-store/port.js";
import { EventStoreUnavailableError } from "../../event-store/errors.js";
import type { LogMessage, RecordedEvent } from "../../event-store/port.js";
import type { Position } from "../../event-store/position.js";
import { decodeEvent, type StoredDomainEvent } from "../../schemas/event-codec.js";
import { type ProjectionRunState, physicalCollection, readCheckpoint } from "./checkpoints.js";
import type { DecodedEvents } from "./decoded-events.js";
import { isReactor, type Processor } from "./processor.js";

/** What the runtime knows of one processor it runs. */
export interface Entry {
  readonly processor: Processor;
  generation: number;
  position: Position | null;
  state: ProjectionRunState;
  /** Set once the subscription has reported "caught up" and everything before it is stored. */
  caughtUp: boolean;
  /** With leases: the epoch (fencing token) of the lease held, or null while standing by. */
  epoch: number | null;
  error?: string;
  readonly names: Map<string, string>;
  readonly collection: (logical: string) => string;
}

export type Decode = (record: RecordedEvent) => StoredDomainEvent | Error;

/** Decodes each record of a batch once, sharing with the group's other runtime (`shared`). */
export function batchDecoder(shared?: DecodedEvents): Decode {
  const decoded = new Map<RecordedEvent, StoredDomainEvent | Error>();
  return (record) => {
    let result = decoded.get(record) ?? shared?.take(record);
    if (!result) {
      try {
        result = decodeEvent(record);
        shared?.keep(record, result);
      } catch (error) {
        result = error instanceof Error ? error : new Error(String(error));
      }
    }
    decoded.set(record, result);
    return result;
  };
}

export const isOutage = (error: unknown): boolean =>
  error instanceof EventStoreUnavailableError || error instanceof DocumentStoreUnavailableError;

export const positionOf = (message: LogMessage): Position | null =>
  message.kind === "event" ? message.event.position : message.position;

/** "ParkingReserved at 42: reason": how a failure to handle an event is recorded. */
export const failureText = (record: RecordedEvent, error: unknown): string =>
  `${record.type} at ${record.position.commit}: ${error instanceof Error ? error.message : String(error)}`;

/** Prepares one processor at one generation; one that failed before is retried (the fault may be fixed). */
export async function loadEntry(
  processor: Processor,
  generation: number,
  documentStore: DocumentStore,
  /** The lease epoch the entry keeps (a generation switch keeps the lease). */
  epoch: number | null,
  /** Leave the indexes to createIndexes() (a bulk load), only announcing them. */
  deferIndexes = false,
): Promise<Entry> {
  // A reactor's collections are named as they are (one generation), a projection's per generation.
  const names = new Map(
    Object.keys(processor.collections ?? {}).map((l) => [
      l,
      isReactor(processor) ? l : physicalCollection(l, generation),
    ]),
  );
  await ensureIndexes(documentStore, processor, names, deferIndexes);
  return {
    processor,
    generation,
    position: await startingPosition(documentStore, processor, generation),
    state: "running",
    caughtUp: false,
    epoch,
    names,
    collection: (logical) => {
      const name = names.get(logical);
      if (!name) throw new Error(`projection ${processor.name} does not own collection ${logical}`);
      return name;
    },
  };
}

/**
 * Builds the indexes of each of the processor's collections (by its name in `names`), or with
 * `defer` announces them for later (the embedded store then keeps their fields in columns).
 */
export async function ensureIndexes(
  store: DocumentStore,
  processor: Processor,
  names: ReadonlyMap<string, string>,
  defer = false,
): Promise<void> {
  for (const [logical, indexes] of Object.entries(processor.collections ?? {})) {
    const name = names.get(logical) as string;
    await (defer ? store.prepareIndexes(name, indexes) : store.ensureIndexes(name, indexes));
  }
}

/** Where a processor starts (after its checkpoint, or Reactor.resume); null: the log's start. */
export async function startingPosition(
  store: DocumentStore,
  processor: Processor,
  generation: number,
): Promise<Position | null> {
  if (isReactor(processor) && processor.resume) return processor.resume(store);
  return (await readCheckpoint(store, processor.name, generation))?.position ?? null;
}
