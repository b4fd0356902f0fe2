import { randomBytes } from "node:crypto";
import { dirname } from "node:path";
import type BetterSqlite3 from "better-sqlite3";
import { preparePrivateSqliteFile, restrictSqliteFiles } from "../private-files.js";
import { Database } from "../sqlite.js";
import { enterWalMode } from "../sqlite-wal.js";
import { storageFailureOf, storageFailureText } from "../storage-failure.js";
import { type DataKey, type DataKeys, DataKeysStorageError, newDataKey, pseudonymOf } from "./port.js";

/** How a new key is committed: "full" synced to disk at once, "normal" synced at checkpoints. */
export type DataKeysSync = "full" | "normal";

/**
 * The embedded key store: one SQLite file of its own under DATA_DIR (`keys/data-keys.sqlite`),
 * never the log's. A key deleted is overwritten on disk (`secure_delete`), and the write-ahead log
 * that held its page is checkpointed and truncated, so the key's bytes are gone from the files, not
 * only from the table. Every process of the service opens the same file and reads it at each use
 * (no cache), so a key erased by one process is gone for all of them at once.
 *
 * Durability: an erasure is synced to disk before it returns (`synchronous = FULL` for its
 * commit), whatever the store's mode: an acknowledged erasure never comes back after a power loss.
 * A new key is committed with `sync`: "full" syncs it before the command that asked for it goes
 * on, "normal" (write-ahead log synced at checkpoints) keeps it across a process crash, not
 * necessarily across an OS crash or power loss. The service passes the log's own policy
 * (app/personal-data.ts), so a key is as durable as the events sealed under it: syncing every key
 * (one per new customer) when the log does not sync its commits cost 40% of the throughput of
 * bookings by new customers (bench reserve, 2026-11-26), for no guarantee the log kept. (The two
 * files reach the disk at their own checkpoints: after an OS crash an event that survived may have
 * lost its key, and its personal fields then read as erased; docs/operations.md says so.)
 */
export class SqliteDataKeys implements DataKeys {
  private readonly secret: Buffer;
  private readonly listeners: ((failure?: DataKeysStorageError) => void)[] = [];
  private readonly byId: BetterSqlite3.Statement<[string], { key: Buffer }>;
  private readonly bySubject: BetterSqlite3.Statement<[string], { id: string; key: Buffer }>;
  private readonly insert: BetterSqlite3.Statement<[string, string, Buffer]>;
  private readonly deleteSubject: BetterSqlite3.Statement<[string]>;
  private readonly tombstone: BetterSqlite3.Statement<[string]>;
  private readonly erasedRow: BetterSqlite3.Statement<[string], { subject: string }>;
  /** A subject's key made in one immediate transaction (built once: better-sqlite3 wraps it anew on each `transaction()`). */
  private readonly create: (name: string) => DataKey | undefined;

  private constructor(
    private readonly db: BetterSqlite3.Database,
    private readonly file: string,
    /** How its new keys are committed (see the class). */
    readonly sync: DataKeysSync,
  ) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value BLOB NOT NULL) STRICT;
      CREATE TABLE IF NOT EXISTS data_keys (
        id TEXT PRIMARY KEY, subject TEXT NOT NULL, key BLOB NOT NULL) STRICT;
      CREATE INDEX IF NOT EXISTS data_keys_by_subject ON data_keys (subject);
      CREATE TABLE IF NOT EXISTS erased_subjects (subject TEXT PRIMARY KEY) STRICT;
    `);
    db.prepare("INSERT OR IGNORE INTO meta (name, value) VALUES ('pseudonym-secret', ?)").run(
      randomBytes(32),
    );
    const row = db.prepare("SELECT value FROM meta WHERE name = 'pseudonym-secret'").get() as {
      value: Buffer;
    };
    this.secret = row.value;
    this.byId = db.prepare("SELECT key FROM data_keys WHERE id = ?");
    this.bySubject = db.prepare(
      "SELECT id, key FROM data_keys WHERE subject = ? ORDER BY rowid DESC LIMIT 1",
    );
    this.insert = db.prepare("INSERT INTO data_keys (id, subject, key) VALUES (?, ?, ?)");
    this.deleteSubject = db.prepare("DELETE FROM data_keys WHERE subject = ?");
    this.tombstone = db.prepare("INSERT OR IGNORE INTO erased_subjects (subject) VALUES (?)");
    this.erasedRow = db.prepare("SELECT subject FROM erased_subjects WHERE subject = ?");
    const create = db.transaction((name: string): DataKey | undefined => {
      // Another process may have made it, or erased the subject, since the read outside.
      const again = this.bySubject.get(name);
      if (again) return again;
      if (this.erasedRow.get(name)) return undefined;
      const created = newDataKey();
      this.insert.run(created.id, name, created.key);
      return created;
    });
    this.create = (name) => create.immediate(name);
  }

  static open(file: string, options: { sync?: DataKeysSync; busyTimeoutMs?: number } = {}): SqliteDataKeys {
    const { sync = "full", busyTimeoutMs = 5000 } = options;
    preparePrivateSqliteFile(file);
    const db = new Database(file, { timeout: busyTimeoutMs });
    try {
      enterWalMode(db, busyTimeoutMs);
      db.pragma("secure_delete = ON");
      db.pragma(`synchronous = ${sync === "full" ? "FULL" : "NORMAL"}`);
      const store = new SqliteDataKeys(db, file, sync);
      restrictSqliteFiles(file);
      return store;
    } catch (error) {
      db.close();
      throw error;
    }
  }

  keyFor(subject: string): DataKey | undefined {
    const name = this.pseudonym(subject);
    const found = this.bySubject.get(name);
    if (found) return found;
    if (this.erasedRow.get(name)) return undefined;
    return this.writing(() => this.create(name));
  }

  /** Who hears how each write went (the service's storage health: /readyz, the metric, the log). */
  onWrite(listener: (failure?: DataKeysStorageError) => void): void {
    this.listeners.push(listener);
  }

  /** A write, its failure for want of disk said as such (answered 503 storage-unavailable). */
  private writing<T>(write: () => T): T {
    try {
      const written = write();
      for (const listener of this.listeners) listener();
      return written;
    } catch (error) {
      const failure = storageFailureOf(error, dirname(this.file));
      if (!failure) throw error;
      const refused = new DataKeysStorageError(
        `the key store cannot write: ${storageFailureText(failure, dirname(this.file))}`,
        failure,
        { cause: error },
      );
      for (const listener of this.listeners) listener(refused);
      throw refused;
    }
  }

  key(id: string): Buffer | undefined {
    return this.byId.get(id)?.key;
  }

  erase(subject: string): number {
    const name = this.pseudonym(subject);
    // Synced whatever the store's mode (see the class): set for this commit only.
    if (this.sync !== "full") this.db.pragma("synchronous = FULL");
    let erased: number;
    try {
      erased = this.writing(() =>
        this.db
          .transaction(() => {
            this.tombstone.run(name);
            return this.deleteSubject.run(name).changes;
          })
          .immediate(),
      );
    } finally {
      if (this.sync !== "full") this.db.pragma("synchronous = NORMAL");
    }
    // The deleted rows' old pages may still be in the WAL: copy it back and empty it. (A reader
    // holding an old snapshot keeps the WAL from being reset; the next erasure, or the next
    // checkpoint once it has let go, empties it.)
    this.db.pragma("wal_checkpoint(TRUNCATE)");
    return erased;
  }

  isErased(subject: string): boolean {
    return this.erasedRow.get(this.pseudonym(subject)) !== undefined;
  }

  pseudonym(subject: string): string {
    return pseudonymOf(this.secret, subject);
  }

  /** Where the keys are (the backup carries this file). */
  get path(): string {
    return this.file;
  }

  close(): void {
    this.db.close();
  }
}
