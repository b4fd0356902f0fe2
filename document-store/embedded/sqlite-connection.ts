import type BetterSqlite3 from "better-sqlite3";
import { enterWalMode } from "../../platform/sqlite-wal.js";

/** How long a statement (and the opening's switch to WAL) waits for another process's lock. */
export const BUSY_TIMEOUT_MS = 10_000;

/**
 * The settings of a connection to the read models' file: WAL (one writer, readers alongside),
 * synced at checkpoints only (a power cut may lose the last batches; their processors' checkpoints,
 * in the same file, go back with them, so the log replays them), erased values' old bytes
 * overwritten, 64 MiB of page cache.
 *
 * Temporary files in memory (issue 50). A write batch is one transaction of many statements, and
 * SQLite journals the pages each statement changes so that it can undo that statement alone; once
 * one statement changed more than 16 pages (an insert splitting pages of several indexes), the
 * journal spilled to a temporary file and every later statement of the batch wrote through it: a
 * pwrite per page changed, ~11% of the read models' write() CPU (bench/read-model-writes.ts).
 * Temporary tables and the transient indexes of a DISTINCT or of a sort without an index stay in
 * memory too: the store's reads are bounded by their answers. What touches a whole collection
 * runs with them on disk (`withTempOnDisk`).
 */
export function configureConnection(db: BetterSqlite3.Database): void {
  enterWalMode(db, BUSY_TIMEOUT_MS);
  db.pragma("synchronous = NORMAL");
  // Deleted and overwritten content is zeroed in the file (an erased plate's old bytes, issue 36).
  db.pragma("secure_delete = ON");
  db.pragma("cache_size = -65536");
  db.pragma("temp_store = MEMORY");
  db.pragma("analysis_limit = 1000");
}

/**
 * `work` with SQLite's temporary files on disk: what touches a whole collection (a column filled,
 * an index built, a collection dropped) journals or sorts all of it, which temp_store MEMORY would
 * hold in memory (an index of 400,000 rows grew the process by 32 MB; on disk by 1 MB). The
 * setting changes only outside a transaction; the store has no temporary tables for it to drop.
 */
export function withTempOnDisk<T>(db: BetterSqlite3.Database, work: () => T): T {
  db.pragma("temp_store = FILE");
  try {
    return work();
  } finally {
    db.pragma("temp_store = MEMORY");
  }
}
