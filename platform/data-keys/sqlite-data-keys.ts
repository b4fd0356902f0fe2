import { type KeyObject, randomBytes } from "node:crypto";
import { dirname } from "node:path";
import type BetterSqlite3 from "better-sqlite3";
import { preparePrivateSqliteFile, restrictSqliteFiles } from "../private-files.js";
import { secretKey } from "../secret-key.js";
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
  private readonly secret: KeyObject;
  private readonly listeners: ((failure?: DataKeysStorageError) => void)[] = [];
  private readonly byId: BetterSqlite3.Statement<[string], { key: Buffer }>;
  private readonly byIds: BetterSqlite3.Statement<[string], [string, Buffer]>;
  /** A subject's keys (`n` their rowid) and, with `n` 0 and no key, its tombstone if it was erased. */
  private readonly bySubject: BetterSqlite3.Statement<
    [string, string],
    { n: number; id: string | null; key: Buffer | null }
  >;
  private readonly insert: BetterSqlite3.Statement<[string, string, Buffer]>;
  private readonly deleteSubject: BetterSqlite3.Statement<[string]>;
  private readonly tombstone: BetterSqlite3.Statement<[string]>;
  private readonly erasedRow: BetterSqlite3.Statement<[string], { subject: string }>;
  /** A subject's key made in one immediate transaction (built once: better-sqlite3 wraps it anew on each `transaction()`). */
  private readonly create: (name: string) => DataKey | undefined;
  private readonly begin: BetterSqlite3.Statement<[]>;
  private readonly commit: BetterSqlite3.Statement<[]>;
  private readonly rollback: BetterSqlite3.Statement<[]>;
  /** New keys wait for commitNewKeys (see groupNewKeys). */
  private grouping = false;
  /** A turn's keys failed to commit at the turn's end: the log's next commit is refused with it. */
  private lostKeys: unknown;

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
    this.secret = secretKey(row.value);
    this.byId = db.prepare("SELECT key FROM data_keys WHERE id = ?");
    this.byIds = db
      .prepare<[string], [string, Buffer]>(
        "SELECT id, key FROM data_keys WHERE id IN (SELECT value FROM json_each(?))",
      )
      .raw();
    // One statement, so one read transaction (a statement outside one opens its own, ~6 µs on
    // this machine: issue 50), and no ORDER BY: SQLite 3.54 (better-sqlite3 13, Node >= 22) spends
    // ~5 µs more on a statement with one even when the index gives the order. The newest key is
    // picked from the (at most a few) rows in `subjectState`.
    this.bySubject = db.prepare(
      "SELECT rowid AS n, id, key FROM data_keys WHERE subject = ? " +
        "UNION ALL SELECT 0, NULL, NULL FROM erased_subjects WHERE subject = ?",
    );
    this.insert = db.prepare("INSERT INTO data_keys (id, subject, key) VALUES (?, ?, ?)");
    this.deleteSubject = db.prepare("DELETE FROM data_keys WHERE subject = ?");
    this.tombstone = db.prepare("INSERT OR IGNORE INTO erased_subjects (subject) VALUES (?)");
    this.erasedRow = db.prepare("SELECT subject FROM erased_subjects WHERE subject = ?");
    const create = db.transaction((name: string): DataKey | undefined => this.createLocked(name));
    this.create = (name) => create.immediate(name);
    this.begin = db.prepare("BEGIN IMMEDIATE");
    this.commit = db.prepare("COMMIT");
    this.rollback = db.prepare("ROLLBACK");
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
    const found = this.subjectState(name);
    if (found !== "none") return found;
    return this.writing(() => (this.grouping ? this.createInTurn(name) : this.create(name)));
  }

  existingKeyFor(subject: string): DataKey | undefined {
    const found = this.subjectState(this.pseudonym(subject));
    return found === "none" ? undefined : found;
  }

  /**
   * From now on the new keys of one event-loop turn are written in one transaction (issue 50: a
   * transaction and its commit per new customer were a tenth of a booking's request thread), which
   * `commitNewKeys` commits, and the turn's end at the latest. Only for a thread whose log calls
   * `commitNewKeys` before each commit of its appends (app/personal-data.ts): then no event reaches
   * the log before the key it is sealed under is in this file, for every reader of the log.
   */
  groupNewKeys(): void {
    this.grouping = true;
  }

  /** A new key in the turn's transaction, begun by the turn's first (a write lock until it commits). */
  private createInTurn(name: string): DataKey | undefined {
    // The turn's later keys were read under the write lock held since its first.
    if (this.db.inTransaction) return this.inserted(name);
    this.begin.run();
    setImmediate(this.commitTurn);
    return this.createLocked(name);
  }

  /** Under the write lock: the key unless another process made it, or erased the subject, since the read outside. */
  private createLocked(name: string): DataKey | undefined {
    const again = this.subjectState(name);
    if (again !== "none") return again;
    return this.inserted(name);
  }

  /**
   * The subject's newest key (by its pseudonym); undefined if it was erased; "none" if it has
   * neither (a key is then made). An erasure deletes the keys with the tombstone's write.
   */
  private subjectState(name: string): DataKey | undefined | "none" {
    let newest: { n: number; id: string; key: Buffer } | undefined;
    let erased = false;
    for (const row of this.bySubject.all(name, name)) {
      if (row.id === null || row.key === null) erased = true;
      else if (!newest || row.n > newest.n) newest = { n: row.n, id: row.id, key: row.key };
    }
    if (newest) return { id: newest.id, key: secretKey(newest.key) };
    return erased ? undefined : "none";
  }

  private inserted(name: string): DataKey {
    const made = newDataKey();
    this.insert.run(made.id, name, made.key);
    return { id: made.id, key: secretKey(made.key) };
  }

  /**
   * Commits the new keys of this turn (grouped): called before the log commits the events sealed
   * under them. Throws if they could not be committed (then nothing sealed under them may commit).
   */
  commitNewKeys(): void {
    const lost = this.lostKeys;
    if (lost !== undefined) {
      this.lostKeys = undefined;
      throw lost;
    }
    this.commitOpen();
  }

  /** The turn's open transaction of new keys committed (rolled back if its commit fails). */
  private commitOpen(): void {
    if (!this.db.inTransaction) return;
    this.writing(() => {
      try {
        this.commit.run();
      } catch (error) {
        if (this.db.inTransaction) this.rollback.run();
        throw error;
      }
    });
  }

  /**
   * The turn's end: its keys committed if the log did not commit first. Had they failed, an event
   * sealed under them may still wait for the log's next commit: that commit is refused (a storage
   * failure refuses the log's appends of a moment anyway).
   */
  private readonly commitTurn = (): void => {
    try {
      this.commitNewKeys();
    } catch (error) {
      this.lostKeys = error;
    }
  };

  /** Who hears how each write went (the service's storage health: /readyz, the metric, the log). */
  onWrite(listener: (failure?: DataKeysStorageError) => void): void {
    this.listeners.push(listener);
  }

  /** A write, its failure for want of disk said as such (answered 503 storage-unavailable). */
  private writing<T>(write: () => T): T {
    try {
      const written = write();
      // Told once it is committed (a turn's new keys: at their commit).
      if (!this.db.inTransaction) for (const listener of this.listeners) listener();
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

  key(id: string): KeyObject | undefined {
    const row = this.byId.get(id);
    return row && secretKey(row.key);
  }

  keysOf(ids: readonly string[]): ReadonlyMap<string, KeyObject> {
    const found = new Map<string, KeyObject>();
    for (const [id, key] of this.byIds.all(JSON.stringify(ids))) found.set(id, secretKey(key));
    return found;
  }

  erase(subject: string): number {
    // The turn's new keys first: an erasure is its own synced transaction.
    this.commitOpen();
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
    try {
      this.commitOpen();
    } finally {
      this.db.close();
    }
  }
}
