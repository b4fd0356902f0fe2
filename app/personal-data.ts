import type { KeyObject } from "node:crypto";
import { join } from "node:path";
import type { DocumentStore } from "../document-store/port.js";
import type { EventStore } from "../event-store/port.js";
import type { Config } from "../platform/config.js";
import type { DataKey, DataKeys } from "../platform/data-keys/port.js";
import type { PostgresDataKeys } from "../platform/data-keys/postgres-data-keys.js";
import { type DataKeysSync, SqliteDataKeys } from "../platform/data-keys/sqlite-data-keys.js";
import { RESERVATIONS } from "../projections/read-models/reservations.js";
import type { Views } from "../read-api/views/views.js";
import { usePersonalDataKeys } from "../schemas/personal-data.js";
import type { ForgetAfterErasure, ReservationsOf } from "../write-side/customer-erasure.js";
import type { ErasureEvictions } from "./erasure-evictions.js";

/** The key store's file under DATA_DIR (backed up with the stores: app/backup/). */
export const DATA_KEYS_FILE = join("keys", "data-keys.sqlite");

/**
 * Every key store this process opened, as one: what the event codec seals and opens with. A
 * service process opens one DATA_DIR (each role, and the processors thread, which is a worker with
 * its own copy of the codec's module and installs the same DATA_DIR's keys), so in production the
 * ring holds one store and is exactly that store. Tests start several services in one process, on
 * several DATA_DIRs: there a module-level "last DATA_DIR wins" made a service seal under another's
 * keys and its erasure delete keys from the wrong store. The ring instead opens a value under
 * whichever store has its key (key ids are random, so one does), erases a subject in every store,
 * and seals under the store opened last (docs/operations.md, "Keys per process").
 */
class ProcessKeyRing implements DataKeys {
  private readonly stores = new Map<string, SqliteDataKeys>();
  /** With DATABASE_URL: the database's keys, by URL (opened by openPostgresDataKeys). */
  readonly postgres = new Map<string, PostgresDataKeys>();
  private current: SqliteDataKeys | PostgresDataKeys | undefined;

  open(file: string, sync: DataKeysSync): SqliteDataKeys {
    let keys = this.stores.get(file);
    if (!keys) {
      keys = SqliteDataKeys.open(file, { sync });
      this.stores.set(file, keys);
    }
    this.current = keys;
    return keys;
  }

  /** The database's keys (opened first by openPostgresDataKeys), sealed under from now on. */
  openPostgres(url: string): PostgresDataKeys {
    const keys = this.postgres.get(url);
    if (!keys) throw new Error("the data keys on PostgreSQL are not open (openPostgresDataKeys)");
    this.current = keys;
    return keys;
  }

  private get newest(): SqliteDataKeys | PostgresDataKeys {
    if (!this.current) throw new Error("no key store is open");
    return this.current;
  }

  keyFor(subject: string): DataKey | undefined {
    return this.newest.keyFor(subject);
  }

  /** The store sealed under's, as `keyFor`'s: the key a booking sealed now would name. */
  existingKeyFor(subject: string): DataKey | undefined {
    return this.newest.existingKeyFor(subject);
  }

  key(id: string): KeyObject | undefined {
    for (const store of this.all()) {
      const found = store.key(id);
      if (found) return found;
    }
    return undefined;
  }

  keysOf(ids: readonly string[]): ReadonlyMap<string, KeyObject> {
    const found = new Map<string, KeyObject>();
    for (const store of this.all()) {
      const missing = ids.filter((id) => !found.has(id));
      if (missing.length === 0) break;
      if ("keysOf" in store) for (const [id, key] of store.keysOf(missing)) found.set(id, key);
      else
        for (const id of missing) {
          const key = store.key(id);
          if (key) found.set(id, key);
        }
    }
    return found;
  }

  erase(subject: string): number | Promise<number> {
    let erased = 0;
    for (const store of this.stores.values()) erased += store.erase(subject);
    if (this.postgres.size === 0) return erased;
    const remote = [...this.postgres.values()].map((store) => store.erase(subject));
    return Promise.all(remote).then((counts) => counts.reduce((a, b) => a + b, erased));
  }

  isErased(subject: string): boolean {
    for (const store of this.all()) if (store.isErased(subject)) return true;
    return false;
  }

  private all(): (SqliteDataKeys | PostgresDataKeys)[] {
    return [...this.stores.values(), ...this.postgres.values()];
  }

  pseudonym(subject: string): string {
    return this.newest.pseudonym(subject);
  }

  /**
   * This thread's log is about to commit appends: the new keys of the turn first, and from then on
   * every store of the ring groups its new keys per turn (SqliteDataKeys.groupNewKeys). A thread
   * whose log never commits here (the processors thread relays its appends to the request thread)
   * keeps committing each key at once, before the event sealed under it leaves the thread.
   */
  beforeLogCommit(): void {
    for (const store of this.stores.values()) {
      store.groupNewKeys();
      store.commitNewKeys();
    }
  }

  close(): void {}
}

const ring = new ProcessKeyRing();

/** What the embedded log calls before each group commit (app/services.ts): the keys its events are sealed under. */
export const commitKeysBeforeLog = (): void => ring.beforeLogCommit();

/** What the log on PostgreSQL awaits before each commit: the new keys in the database first. */
export const commitKeysBeforePostgresLog = async (): Promise<void> => {
  await Promise.all([...ring.postgres.values()].map((keys) => keys.commitNewKeys()));
};

/**
 * With DATABASE_URL, the data keys are in the database (nothing under DATA_DIR): opened once per
 * process and thread, before its log, then installed by useDataKeysOf like the embedded ones.
 */
export async function openPostgresDataKeys(url: string): Promise<void> {
  if (!ring.postgres.has(url)) {
    const { PostgresDataKeys } = await import("../platform/data-keys/postgres-data-keys.js");
    const keys = await PostgresDataKeys.open(url);
    if (ring.postgres.has(url))
      keys.close(); // opened meanwhile by another caller
    else ring.postgres.set(url, keys);
  }
  ring.openPostgres(url);
  usePersonalDataKeys(ring);
}

/**
 * The data keys of this DATA_DIR, opened into the process's key ring, which the event codec seals
 * and opens personal fields with (schemas/personal-data.ts). Every process and thread that opens
 * the event store calls it (openEventStore), so nothing reads or writes the log without them.
 * Returns this DATA_DIR's own store (its storage health, its file for backups). (The key store is
 * embedded with either event store: with EventStoreDB and replicas on several machines, the port's
 * KMS adapter is what they would share, docs/operations.md.)
 */
export function useDataKeysOf(
  config: Pick<Config, "dataDir"> & Partial<Pick<Config, "eventStoreUrl" | "databaseUrl" | "eventStoreSync">>,
): SqliteDataKeys | PostgresDataKeys {
  const keys =
    config.databaseUrl === undefined
      ? ring.open(join(config.dataDir, DATA_KEYS_FILE), keysSyncOf(config))
      : ring.openPostgres(config.databaseUrl);
  usePersonalDataKeys(ring);
  return keys;
}

/**
 * A new key is as durable as the events sealed under it: synced at once with EventStoreDB or PostgreSQL (which
 * persists every acknowledged append) or EVENTSTORE_SYNC=full, at checkpoints with the embedded
 * log's default `normal`. Without the log's settings (a tool, a test seeding a DATA_DIR): synced.
 */
const keysSyncOf = (
  config: Partial<Pick<Config, "eventStoreUrl" | "databaseUrl" | "eventStoreSync">>,
): DataKeysSync =>
  config.eventStoreUrl === undefined && config.databaseUrl === undefined && config.eventStoreSync === "normal"
    ? "normal"
    : "full";

/** The keys an erasure deletes: the process's ring (every store it opened; one in production). */
export const erasureKeysOf = (
  config: Pick<Config, "dataDir"> & Partial<Pick<Config, "eventStoreUrl" | "databaseUrl" | "eventStoreSync">>,
): DataKeys => {
  useDataKeysOf(config);
  return ring;
};

/** Most reservations an erasure lists (the event's bound). */
const MOST_LISTED = 100_000;
const LISTED_PAGE = 100;

/** A customer's reservations as the reservations read model has them, every page. */
export function reservationsFromQueries(queries: Views | undefined, eventStore: EventStore): ReservationsOf {
  return async (customerId) => {
    // Without the read models (a command-api role) the projectors list them (the fact says so).
    if (!queries) return { reservationIds: [], parkingLotIds: [], unlisted: true };
    // The read model first catches up with the log, so a reservation just made is listed too.
    await queries?.context.awaitPosition(RESERVATIONS, await eventStore.headPosition());
    const reservationIds: string[] = [];
    const parkingLotIds = new Set<string>();
    let cursor: string | undefined;
    // At most MOST_LISTED / LISTED_PAGE pages, however the pages and cursors come.
    for (let pages = 0; pages < MOST_LISTED / LISTED_PAGE; pages++) {
      const page = await queries.reservations.reservations({
        customerId,
        limit: LISTED_PAGE,
        ...(cursor ? { cursor } : {}),
      });
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
 * What an erasure does to this process's copies: the lots' cached states forgotten (the next
 * command loads them from their streams, where the customer reads `erased`), then the document
 * store compacted (the rewritten read models' old page images go from its files too).
 */
export function snapshotsForgetting(
  documentStore: DocumentStore | undefined,
  evictions?: ErasureEvictions,
): ForgetAfterErasure {
  return async (parkingLotIds) => {
    // This process's in-memory copies first: the request is answered only once they are gone.
    evictions?.erased(parkingLotIds);
    await documentStore?.compact?.();
  };
}
