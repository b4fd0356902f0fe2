/**
 * The embedded document store: MongoDB query and update semantics (from mingo) over a SQLite
 * file (better-sqlite3) for durability, atomic batches and indexes.
 *
 * Layout: one table per collection, `c_<collection> (id TEXT PRIMARY KEY, doc TEXT)` holding the
 * document as JSON (with `_id`), created on first write, plus one column `"f:<path>"` per indexed
 * field holding the field's value as the indexes order it (see sql-translation.ts). The store
 * fills those columns from the JavaScript document on every write, so indexes are built on plain
 * columns (no JSON parsing), and an update rewrites only the indexes whose fields it changed.
 * Index specs are kept in `_docstore_indexes` so that any process that opens the file plans with
 * them; the columns are the table's own. Collections whose indexes were created as expression
 * indexes on the JSON (by versions before the columns) keep that layout, and get any new index
 * the same way, until they are dropped (a rebuild writes fresh collections). Every writer of a
 * file must fill the columns: do not write to it with an older version of this store.
 * The file is in WAL mode, so one process can write (a projector) while others read (the query
 * API); every call notices schema changes made by other processes.
 *
 * better-sqlite3 is synchronous: each call runs to completion on the calling thread (a read first
 * yields if the turn has run long: `read`); the promise-returning API is the port's.
 */
import { dirname, resolve } from "node:path";
import type BetterSqlite3 from "better-sqlite3";
import { preparePrivateSqliteFile, restrictSqliteFiles } from "../../platform/private-files.js";
import { Database } from "../../platform/sqlite.js";
import { storageFailureOf, storageFailureText } from "../../platform/storage-failure.js";
import { yieldWhenLong } from "../../platform/turn-slice.js";
import { WorkBudgetExceededError } from "../../platform/work-budget.js";
import { examined } from "../bounds.js";
import { bulkLoadThrough } from "../bulk-load.js";
import {
  type AnyIndexSpec,
  type BulkLoad,
  type CountByOptions,
  type Document,
  type DocumentStore,
  DocumentStoreError,
  DocumentStoreStorageError,
  DocumentStoreUnavailableError,
  type Filter,
  type FindOptions,
  type IndexSpec,
  isGeoIndex,
  keyIndexes,
  type Near,
  type NearQuery,
  type QueryPlan,
  type Scalar,
  type WriteOp,
} from "../port.js";
import { checkArgs } from "../validation.js";
import { interpretSqlitePlan } from "./sql-index-plans.js";
import {
  buildCount,
  buildCountBy,
  buildSelect,
  fromSqlValue,
  indexColumns,
  quoteIdentifier,
  type SqlValue,
} from "./sql-translation.js";
import { SqliteBulkLoad } from "./sqlite-bulk-load.js";
import { BUSY_TIMEOUT_MS, configureConnection, withTempOnDisk } from "./sqlite-connection.js";
import { dropGeoIndexes, ensureGeoIndex, inOrder, nearIds } from "./sqlite-geo.js";
import { chooseIndex, compileQuery, scans, select, selectPlan, valueAt } from "./sqlite-reads.js";
import {
  type Db,
  INDEX_TABLE,
  SqliteSchema,
  specIndexName,
  sqlIndexName,
  TABLE_PREFIX,
} from "./sqlite-schema.js";
import { applyBatch } from "./sqlite-writes.js";
import type { MutableDocument } from "./update-semantics.js";

/** Refresh the planner's statistics (PRAGMA optimize) after this many write batches. */
const OPTIMIZE_EVERY_WRITES = 200;

export interface SqliteDocumentStoreOptions {
  /** Path of the SQLite file; its directory is created if missing. */
  readonly file: string;
}

export class SqliteDocumentStore implements DocumentStore {
  private readonly schema: SqliteSchema;
  private writesSinceOptimize = 0;
  /** Whether this connection changed anything (only then does close() refresh statistics). */
  private wrote = false;
  private closed = false;
  private readonly writeTransaction: BetterSqlite3.Transaction<(ops: readonly WriteOp[]) => void>;

  private constructor(
    private readonly db: Db,
    /** Absolute path of the SQLite file. */
    readonly file: string,
  ) {
    const schema = new SqliteSchema(db);
    this.schema = schema;
    const coalesced = db.transaction((ops: readonly WriteOp[]) => applyBatch(schema, ops));
    const oneByOne = db.transaction((ops: readonly WriteOp[]) => {
      for (const op of ops) applyBatch(schema, [op]);
    });
    this.writeTransaction = db.transaction((ops: readonly WriteOp[]) => {
      // Under the write lock: no other process can add columns from here on, and the columns
      // this batch fills must be the table's.
      schema.checkSchema();
      try {
        coalesced(ops);
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
        // Writing each document's final state once can collide on a unique index where the
        // same ops applied one after the other do not (two documents swapping a value).
        // The savepoint is rolled back: retry op by op before calling it a duplicate key.
        schema.forgetSchema();
        oneByOne(ops);
      }
    });
  }

  static open(options: SqliteDocumentStoreOptions): SqliteDocumentStore {
    const file = options.file === ":memory:" ? options.file : resolve(options.file);
    let db: Db | undefined;
    try {
      // 0600 before SQLite creates it (its -wal and -shm then take the same mode); directory 0700.
      if (file !== ":memory:") preparePrivateSqliteFile(file);
      db = new Database(file, { timeout: BUSY_TIMEOUT_MS });
      configureConnection(db);
      db.exec(
        `CREATE TABLE IF NOT EXISTS ${INDEX_TABLE} (
           collection TEXT NOT NULL,
           name TEXT NOT NULL,
           keys TEXT NOT NULL,
           is_unique INTEGER NOT NULL,
           PRIMARY KEY (collection, name)
         )`,
      );
      if (file !== ":memory:") restrictSqliteFiles(file);
      return new SqliteDocumentStore(db, file);
    } catch (error) {
      db?.close();
      throw new DocumentStoreUnavailableError(
        `cannot open the document store file ${file}: ${messageOf(error)}`,
        {
          cause: error,
        },
      );
    }
  }

  async ensureIndexes(collection: string, specs: readonly AnyIndexSpec[]): Promise<void> {
    this.guard(() => {
      checkArgs.indexes(collection, specs);
      const indexes = keyIndexes(specs);
      const create = this.db.transaction(() => {
        this.schema.checkSchema();
        let state = this.schema.prepareColumns(collection, indexes);
        for (const geo of specs.filter(isGeoIndex)) ensureGeoIndex(this.db, collection, state.table, geo);
        const existing = new Map<string, IndexSpec>(state.indexes.map((i) => [i.name, i]));
        for (const spec of indexes) {
          const unique = spec.unique === true;
          const keysJson = JSON.stringify(Object.entries(spec.keys));
          const same = existing.get(spec.name);
          if (same !== undefined) {
            if (JSON.stringify(Object.entries(same.keys)) === keysJson && (same.unique === true) === unique)
              continue;
            throw new DocumentStoreError(
              `index ${spec.name} of ${collection} already exists with different keys or options`,
            );
          }
          for (const other of existing.values()) {
            if (JSON.stringify(Object.entries(other.keys)) === keysJson) {
              throw new DocumentStoreError(
                `index ${spec.name} of ${collection}: an index with the same keys already exists under the name ${other.name}`,
              );
            }
          }
          // Columns hold only what passed holdsScalar (sqlite-writes.ts); an expression index reads the JSON.
          if (state.expressionIndexes)
            this.schema.assertIndexableData(state, Object.keys(spec.keys), spec.name);
          const columns = state.expressionIndexes ? undefined : state.columnFields;
          this.db.exec(
            `CREATE ${unique ? "UNIQUE " : ""}INDEX ${quoteIdentifier(sqlIndexName(collection, spec.name))} ` +
              `ON ${quoteIdentifier(state.table)} (${indexColumns(spec.keys, columns)})`,
          );
          this.db
            .prepare(`INSERT INTO ${INDEX_TABLE} (collection, name, keys, is_unique) VALUES (?, ?, ?, ?)`)
            .run(collection, spec.name, JSON.stringify(spec.keys), unique ? 1 : 0);
          existing.set(spec.name, { name: spec.name, keys: { ...spec.keys }, unique });
          this.schema.forget(collection);
          state = this.schema.collection(collection);
        }
      });
      this.wrote = true;
      try {
        withTempOnDisk(this.db, () => create.immediate());
      } finally {
        this.schema.forgetSchema();
      }
      this.optimize();
    });
  }

  async prepareIndexes(collection: string, indexes: readonly AnyIndexSpec[]): Promise<void> {
    this.guard(() => {
      checkArgs.indexes(collection, indexes);
      const prepare = this.db.transaction(() => {
        this.schema.checkSchema();
        this.schema.prepareColumns(collection, keyIndexes(indexes));
      });
      this.wrote = true;
      try {
        withTempOnDisk(this.db, () => prepare.immediate());
      } finally {
        this.schema.forgetSchema();
      }
    });
  }

  async findById<T extends Document = Document>(collection: string, id: string): Promise<T | null> {
    return this.read(() => {
      checkArgs.findById(collection, id);
      this.schema.checkSchema();
      const state = this.schema.collection(collection);
      if (!state.exists) return null;
      const json = this.schema.statementsOf(state).get.get(id) as string | undefined;
      if (json === undefined) return null;
      examined(collection, {}, () => false).add();
      return JSON.parse(json) as T;
    });
  }

  async find<T extends Document = Document>(
    collection: string,
    filter: Filter,
    options?: FindOptions,
  ): Promise<T[]> {
    return this.read(() => {
      const opts = checkArgs.find(collection, filter, options);
      this.schema.checkSchema();
      const state = this.schema.collection(collection);
      if (!state.exists) {
        compileQuery(filter); // refused like any other find's when mingo cannot compile it
        return [];
      }
      return select(this.schema, state, filter, opts) as T[];
    });
  }

  async findNear<T extends Document = Document>(collection: string, query: NearQuery): Promise<Near<T>[]> {
    return this.read(() => {
      checkArgs.near(collection, query);
      this.schema.checkSchema();
      const state = this.schema.collection(collection);
      const ids = nearIds(this.db, collection, query);
      if (ids.length === 0 || !state.exists) return [];
      const rows = this.schema.statementsOf(state).getMany.all(JSON.stringify(ids.map((i) => i.id)));
      examined(collection, query, () => false).add(rows.length);
      const docs = new Map(
        (rows as { id: string; doc: string }[]).map((r) => [r.id, JSON.parse(r.doc) as T]),
      );
      return inOrder(ids, docs);
    });
  }

  async count(collection: string, filter: Filter): Promise<number> {
    return this.read(() => {
      checkArgs.query(collection, filter);
      this.schema.checkSchema();
      const state = this.schema.collection(collection);
      if (!state.exists) {
        compileQuery(filter); // refused like any other count's when mingo cannot compile it
        return 0;
      }
      const indexedBy = chooseIndex(this.schema, state, filter, undefined);
      const exact = buildCount(state.table, filter, state.indexedFields, indexedBy, state.columnFields);
      if (exact !== undefined) {
        return this.schema.statement(exact.sql).get(...exact.params) as number;
      }
      const query = compileQuery(filter);
      const plan = buildSelect({
        table: state.table,
        filter,
        indexedFields: state.indexedFields,
        columns: state.columnFields,
        indexedBy,
      });
      let n = 0;
      const seen = examined(collection, {}, () => scans(plan));
      for (const json of this.schema.statement(plan.sql).iterate(...plan.params)) {
        seen.add();
        if (query.test(JSON.parse(json as string) as MutableDocument)) n++;
      }
      return n;
    });
  }

  async countBy(
    collection: string,
    filter: Filter,
    field: string,
    options?: CountByOptions,
  ): Promise<Map<Scalar, number>> {
    return this.read(() => {
      const limit = checkArgs.countBy(collection, filter, field, options);
      this.schema.checkSchema();
      const counts = new Map<Scalar, number>();
      const state = this.schema.collection(collection);
      if (!state.exists) return counts;
      const indexedBy = chooseIndex(this.schema, state, filter, undefined);
      const grouped = buildCountBy(
        state.table,
        filter,
        state.indexedFields,
        field,
        limit,
        indexedBy,
        state.columnFields,
      );
      if (grouped !== undefined) {
        // Its own SQL text, so the cached statement is only ever used raw (rows as [value, n]).
        const statement = this.schema.statement(grouped.sql).raw(true);
        for (const [value, n] of statement.iterate(...grouped.params) as Iterable<[SqlValue, number]>) {
          counts.set(fromSqlValue(value), n);
        }
        return counts;
      }
      const query = compileQuery(filter);
      const plan = buildSelect({ table: state.table, filter, indexedFields: state.indexedFields, indexedBy });
      let seen = 0;
      const examining = examined(collection, {}, () => scans(plan));
      for (const json of this.schema.statement(plan.sql).iterate(...plan.params)) {
        examining.add();
        const doc = JSON.parse(json as string) as MutableDocument;
        if (!query.test(doc)) continue;
        const value = valueAt(doc, field);
        counts.set(value, (counts.get(value) ?? 0) + 1);
        if (limit > 0 && ++seen >= limit) break;
      }
      return counts;
    });
  }

  async write(ops: readonly WriteOp[]): Promise<void> {
    this.guard(() => {
      checkArgs.write(ops);
      if (ops.length === 0) return;
      this.schema.checkSchema();
      this.wrote = true;
      try {
        this.writeTransaction.immediate(ops);
      } catch (error) {
        this.schema.forgetSchema();
        throw error;
      }
      if (++this.writesSinceOptimize >= OPTIMIZE_EVERY_WRITES) this.optimize();
    });
  }

  async explain(collection: string, filter: Filter, options?: FindOptions): Promise<QueryPlan> {
    return this.guard(() => {
      const opts = checkArgs.find(collection, filter, options);
      this.schema.checkSchema();
      const state = this.schema.collection(collection);
      if (!state.exists) return { indexed: false, detail: `collection ${collection} does not exist` };
      const plan = selectPlan(this.schema, state, filter, opts);
      const rows = this.db.prepare(`EXPLAIN QUERY PLAN ${plan.sql}`).all(...plan.params) as {
        detail: string;
      }[];
      const result = interpretSqlitePlan(rows.map((r) => r.detail));
      const notes = [
        plan.exact ? undefined : "filter re-checked in memory",
        plan.sorted ? undefined : "sorted in memory",
      ].filter((n) => n !== undefined);
      return notes.length === 0 ? result : { ...result, detail: `${result.detail}; ${notes.join("; ")}` };
    });
  }

  async listCollections(): Promise<string[]> {
    return this.guard(() => {
      const names = this.db
        .prepare(
          "SELECT name FROM sqlite_master WHERE type = 'table' AND substr(name, 1, 2) = ? ORDER BY name",
        )
        .pluck()
        .all(TABLE_PREFIX) as string[];
      return names.map((n) => n.slice(TABLE_PREFIX.length));
    });
  }

  async dropCollection(collection: string): Promise<void> {
    this.guard(() => {
      checkArgs.collection(collection);
      const drop = this.db.transaction(() => {
        this.db.exec(`DROP TABLE IF EXISTS ${quoteIdentifier(TABLE_PREFIX + collection)}`);
        dropGeoIndexes(this.db, collection);
        this.db.prepare(`DELETE FROM ${INDEX_TABLE} WHERE collection = ?`).run(collection);
      });
      try {
        withTempOnDisk(this.db, () => drop.immediate());
      } finally {
        this.schema.forgetSchema();
      }
    });
  }

  /**
   * A bulk load written by a thread of its own (SqliteBulkLoad) while this thread reads and folds;
   * an in-memory file has no second connection, so its load writes through this store.
   */
  async openBulkLoad(): Promise<BulkLoad> {
    return this.file === ":memory:" ? bulkLoadThrough(this) : SqliteBulkLoad.start(this.file);
  }

  /**
   * Copies the write-ahead log back into the file and empties it, so the page images it still holds
   * from before a rewrite (an erased customer's documents) are gone. A reader in another process
   * holding an old snapshot keeps the log from being reset; the next compaction empties it.
   */
  async compact(): Promise<void> {
    this.guard(() => this.db.pragma("wal_checkpoint(TRUNCATE)"));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (this.wrote) this.optimize();
    this.closed = true;
    this.schema.forgetSchema();
    this.db.close();
  }

  /** Lets SQLite refresh its statistics so it picks the most selective index (cheap with analysis_limit). */
  private optimize(): void {
    this.writesSinceOptimize = 0;
    try {
      this.db.exec("PRAGMA optimize=0x10002");
    } catch {
      // Statistics are an optimisation: a busy database just skips this round.
    }
  }

  /** Runs a synchronous body, mapping every failure to the port's errors. */
  private async read<R>(body: () => R): Promise<R> {
    await yieldWhenLong();
    return this.guard(body);
  }

  private guard<R>(body: () => R): R {
    if (this.closed) throw new DocumentStoreError("the document store is closed");
    try {
      return body();
    } catch (error) {
      throw this.mapError(error);
    }
  }

  private mapError(error: unknown): DocumentStoreError | WorkBudgetExceededError {
    // A request past its work budget ends as such (platform/work-budget.ts), not as a store fault.
    if (error instanceof DocumentStoreError || error instanceof WorkBudgetExceededError) return error;
    if (error instanceof Database.SqliteError) {
      if (error.code.startsWith("SQLITE_BUSY") || error.code.startsWith("SQLITE_LOCKED")) {
        return new DocumentStoreUnavailableError(`the document store file is locked: ${error.message}`, {
          cause: error,
        });
      }
      // A full or read-only disk: the write's transaction rolled back; retryable once there is room.
      const storage = this.file === ":memory:" ? undefined : storageFailureOf(error, dirname(this.file));
      if (storage !== undefined) {
        return new DocumentStoreStorageError(
          `the document store cannot write: ${storageFailureText(storage, dirname(this.file))} (${error.message})`,
          storage,
          { cause: error },
        );
      }
      if (/^SQLITE_(IOERR|FULL|READONLY)/.test(error.code)) {
        return new DocumentStoreUnavailableError(`the document store file failed: ${error.message}`, {
          cause: error,
        });
      }
      if (isUniqueViolation(error)) {
        const sqlName = /index '([^']+)'/.exec(error.message)?.[1];
        const index = sqlName === undefined ? undefined : specIndexName(sqlName);
        return new DocumentStoreError(
          `duplicate key: unique index ${index ?? sqlName ?? "?"} (${error.message})`,
          {
            cause: error,
          },
        );
      }
    }
    return new DocumentStoreError(messageOf(error), { cause: error });
  }
}

function isUniqueViolation(error: unknown): boolean {
  return error instanceof Database.SqliteError && error.code === "SQLITE_CONSTRAINT_UNIQUE";
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
