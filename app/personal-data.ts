import { join } from "node:path";
import type { DocumentStore } from "../document-store/port.js";
import type { EventStore } from "../event-store/port.js";
import type { Config } from "../platform/config.js";
import { SqliteDataKeys } from "../platform/data-keys/sqlite-data-keys.js";
import { RESERVATIONS } from "../projections/read-models/reservations.js";
import type { QueryService } from "../read-api/query-service.js";
import { usePersonalDataKeys } from "../schemas/personal-data.js";
import type { ForgetAfterErasure, ReservationsOf } from "../write-side/customer-erasure.js";
import { DocumentLotSnapshotStore } from "../write-side/document-snapshot-store.js";

/** The key store's file under DATA_DIR (backed up with the stores: app/backup/). */
export const DATA_KEYS_FILE = join("keys", "data-keys.sqlite");

const opened = new Map<string, SqliteDataKeys>();

/**
 * The data keys of this DATA_DIR, installed as the ones this process's event codec seals and
 * opens personal fields with (schemas/personal-data.ts). Every process and thread that opens the
 * event store installs them (openEventStore), so nothing reads or writes the log without them.
 * One key store per process: the last DATA_DIR opened is the one used. (The key store is embedded
 * with either event store: with EventStoreDB and replicas on several machines, the port's KMS
 * adapter is what they would share, docs/operations.md.)
 */
export function useDataKeysOf(config: Pick<Config, "dataDir">): SqliteDataKeys {
  const file = join(config.dataDir, DATA_KEYS_FILE);
  let keys = opened.get(file);
  if (!keys) {
    keys = SqliteDataKeys.open(file);
    opened.set(file, keys);
  }
  usePersonalDataKeys(keys);
  return keys;
}

/** Most reservations an erasure lists (the event's bound). */
const MOST_LISTED = 100_000;

/** A customer's reservations as the reservations read model has them, every page. */
export function reservationsFromQueries(
  queries: QueryService | undefined,
  eventStore: EventStore,
): ReservationsOf {
  return async (customerId) => {
    // The read model first catches up with the log, so a reservation just made is listed too.
    await queries?.awaitPosition(RESERVATIONS, await eventStore.headPosition());
    const reservationIds: string[] = [];
    const parkingLotIds = new Set<string>();
    let cursor: string | undefined;
    while (queries && reservationIds.length < MOST_LISTED) {
      const page = await queries.reservations({ customerId, limit: 100, ...(cursor ? { cursor } : {}) });
      for (const reservation of page.items) {
        reservationIds.push(reservation.reservationId);
        parkingLotIds.add(reservation.parkingLotId);
      }
      if (!page.nextCursor) break;
      cursor = page.nextCursor;
    }
    return { reservationIds, parkingLotIds: [...parkingLotIds] };
  };
}

/**
 * What an erasure does to the write side's state source: the lots' snapshots dropped and the
 * archived records rewritten (DocumentLotSnapshotStore.forget), then the store compacted. A role without the document store
 * (command-api) leaves it to the processors' next snapshot; docs/operations.md says so.
 */
export function snapshotsForgetting(documentStore: DocumentStore | undefined): ForgetAfterErasure {
  const snapshots = documentStore ? new DocumentLotSnapshotStore(documentStore) : undefined;
  return async (parkingLotIds, reservationIds) => {
    await snapshots?.forget(parkingLotIds, reservationIds);
    // The rewritten snapshots' old page images go from the store's files too.
    await documentStore?.compact?.();
  };
}
