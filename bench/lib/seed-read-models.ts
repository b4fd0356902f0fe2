import type { DocumentStore, WriteOp } from "../../document-store/port.js";
import { PROJECTIONS } from "../../projections/read-models/index.js";
import { checkpointOp, physicalCollection } from "../../projections/runtime/checkpoints.js";
import type { StoredDomainEvent } from "../../schemas/event-codec.js";
import type { DomainEvent } from "../../schemas/events.js";
import {
  couponIssued,
  couponRevoked,
  customerId,
  lotId,
  lotRegistered,
  parkingReserved,
  reservationCanceled,
  seededReservationId,
} from "./domain.js";

/**
 * Fills the read models straight through the projections: the same `apply` functions the
 * projector runs, on events as the log would hold them, written with `documentStore.write` in big
 * batches (with the projections' checkpoints, as the projector writes them). Much faster than
 * seeding the log and replaying it, and the documents and indexes are exactly the projector's.
 *
 * Reservation i is in lot `i % 1000 + 1`, belongs to customer `⌊i / 10⌋` (10 reservations each),
 * has its coupon issued, and every 10th one is canceled (coupon revoked).
 */
const LOTS = 1000;
const lotOfReservation = (i: number) => lotId((i % LOTS) + 1);
const customerOfReservation = (i: number) => customerId(Math.floor(i / 10));
/** Global position of reservation i's ParkingReserved (each reservation spans 4 positions). */
const positionOfReservation = (i: number) => LOTS + 1 + 4 * i;

const METADATA = { correlationId: "bench-seed", causationId: "bench-seed", schemaVersion: 1 };
const collection = (logical: string) => physicalCollection(logical, 1);

/** An event as the log holds it, at global position `position` (its stream's `revision`, if one matters). */
export function stored(
  event: DomainEvent,
  position: number,
  at: Date,
  stream: { readonly streamId: string; readonly revision: number } = { streamId: "bench", revision: 0 },
): StoredDomainEvent {
  return {
    event,
    id: `bench-${position}`,
    ...stream,
    position: { commit: position, prepare: position },
    metadata: METADATA,
    createdAt: at,
  };
}

/** Applies `events` with every projection that takes them, and moves the checkpoints to the last. */
export async function writeThroughProjections(
  store: DocumentStore,
  events: readonly StoredDomainEvent[],
): Promise<void> {
  const ops: WriteOp[] = [];
  for (const projection of PROJECTIONS) {
    for (const e of events)
      if (projection.eventTypes.has(e.event.type)) ops.push(...projection.apply(e, collection));
    const last = events[events.length - 1];
    // Recorded with the projection's version, as the runtime does: the service would otherwise
    // take the generation for an older version's and rebuild it from the (empty) log.
    if (last)
      ops.push(
        checkpointOp(projection.name, 1, { position: last.position, state: "running" }, projection.version),
      );
  }
  await store.write(ops);
}

/** Every projection's collections and indexes, as the projector makes them before its first write. */
export async function ensureReadModelIndexes(store: DocumentStore): Promise<void> {
  for (const projection of PROJECTIONS) {
    for (const [logical, indexes] of Object.entries(projection.collections))
      await store.ensureIndexes(collection(logical), indexes);
  }
}

/** The indexes, and the 1,000 lots registered. */
export async function prepareReadModels(store: DocumentStore): Promise<void> {
  await ensureReadModelIndexes(store);
  const at = new Date();
  const now = at.toISOString();
  await writeThroughProjections(
    store,
    Array.from({ length: LOTS }, (_, i) => stored(lotRegistered(lotId(i + 1), 100_000, now), i + 1, at)),
  );
}

/** Adds reservations [from, to) to the read models, `batch` reservations per write. */
export async function seedReservations(
  store: DocumentStore,
  from: number,
  to: number,
  options: { readonly batch?: number; readonly onProgress?: (done: number) => void } = {},
): Promise<void> {
  const batch = options.batch ?? 2000;
  for (let start = from; start < to; start += batch) {
    const at = new Date();
    const now = at.toISOString();
    const events: StoredDomainEvent[] = [];
    for (let i = start; i < Math.min(to, start + batch); i++) {
      const [id, lot, p] = [seededReservationId(i), lotOfReservation(i), positionOfReservation(i)];
      // Ten reservations a customer; every tenth canceled, its coupon revoked.
      const facts = [
        parkingReserved,
        couponIssued,
        ...(i % 10 === 9 ? [reservationCanceled, couponRevoked] : []),
      ];
      for (const [k, fact] of facts.entries()) {
        const event = fact(id, lot, i, now);
        const data = { ...event.data, customerId: customerOfReservation(i) };
        events.push(stored({ ...event, data } as DomainEvent, p + k, at));
      }
    }
    await writeThroughProjections(store, events);
    options.onProgress?.(Math.min(to, start + batch));
  }
}
