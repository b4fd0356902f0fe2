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
 * better-sqlite3 is synchronous: each call runs to completion on the calling thread; the
 * promise-returning API is the port's.
 */
import { resolve } from "node:path";
import Database from "better-sqlite3";
import { find as mingoFind, Query } from "mingo";
import { preparePrivateSqliteFile, restrictSqliteFiles } from "../../platform/private-files.js";
import { bulkLoadThrough } from "../bulk-load.js";
import type {
  BulkLoad,
  CountByOptions,
  Document,
  DocumentStore,
  Filter,
  FindOptions,
  IndexSpec,
  QueryPlan,
  Scalar,
  SortSpec,
  WriteOp,
} from "../port.js";
import { DocumentStoreError, DocumentStoreUnavailableError, WriteConditionFailedError } from "../port.js";
import {
  assertCollectionName,
  assertFilter,
  isPlainObject,
  type NormalizedFindOptions,
  normalizeFindOptions,
  validateCountBy,
  validateIndexSpecs,
  validateWriteOp,
} from "../validation.js";
import {
  buildCount,
  buildCountBy,
  buildSelect,
  COLUMN_PREFIX,
  columnName,
  columnValue,
  fieldExpression,
  fromSqlValue,
  indexColumns,
  indexPinningAll,
  interpretSqlitePlan,
  jsonFieldExpression,
  jsonPath,
  leadingEqualities,
  quoteIdentifier,
  type SqlValue,
} from "./sql-translation.js";
import { SqliteBulkLoad } from "./sqlite-bulk-load.js";
import { applyUpdate, type MutableDocument, replacementDocument } from "./update-semantics.js";

type Db = Database.Database;
type Statement = Database.Statement<SqlValue[]>;

const INDEX_TABLE = "_docstore_indexes";
const TABLE_PREFIX = "c_";
const STATEMENT_CACHE_SIZE = 256;
/** How many index entries a selectivity probe counts at most. */
const PROBE_LIMIT = 4096;
/** Refresh the planner's statistics (PRAGMA optimize) after this many write batches. */
const OPTIMIZE_EVERY_WRITES = 200;

interface CollectionStatements {
  readonly get: Statement;
  /** Rows (id, doc) of the ids in a JSON array. */
  readonly getMany: Database.Statement<[string]>;
  /** (id, doc, every column's value). */
  readonly insert: Statement;
  /** (doc, id): the columns unchanged. */
  readonly update: Statement;
  /** By the changed columns' positions joined with ",": (doc, their values, id). */
  readonly updateColumns: Map<string, Statement>;
  readonly remove: Statement;
}

/** A field kept in a column. */
interface Column {
  readonly path: string;
  readonly segments: readonly string[];
}

interface CollectionState {
  readonly name: string;
  readonly table: string;
  exists: boolean;
  /** The indexes built (the planner uses only these). */
  readonly indexes: IndexSpec[];
  readonly indexedFields: Set<string>;
  /** The fields kept in columns, in table order. */
  readonly columns: Column[];
  readonly columnFields: Set<string>;
  /** Index fields and column fields: the paths a stored document must hold only scalars at. */
  readonly scalarPaths: readonly Column[];
  /** Built by an older version: indexes on JSON expressions, no columns, and new indexes alike. */
  readonly expressionIndexes: boolean;
  statements: CollectionStatements | undefined;
}

/** What one write batch touches in one collection. */
interface Touched {
  readonly state: CollectionState;
  readonly ids: Set<string>;
  readonly pending: Map<string, Pending>;
}

interface Pending {
  readonly id: string;
  doc: MutableDocument | null;
  readonly existed: boolean;
  /** The column values stored now (when it existed and the collection has columns). */
  readonly stored: readonly SqlValue[] | undefined;
  dirty: boolean;
}

interface IndexRow {
  readonly name: string;
  readonly keys: string;
  readonly is_unique: number;
}

export interface SqliteDocumentStoreOptions {
  /** Path of the SQLite file; its directory is created if missing. */
  readonly file: string;
}

export class SqliteDocumentStore implements DocumentStore {
  private readonly collections = new Map<string, CollectionState>();
  private readonly statements = new Map<string, Statement>();
  private knownSchemaVersion = -1;
  private writesSinceOptimize = 0;
  /** Whether this connection changed anything (only then does close() refresh statistics). */
  private wrote = false;
  private closed = false;
  private readonly schemaVersionStmt: Database.Statement<[], number>;
  private readonly tableExistsStmt: Database.Statement<[string], number>;
  private readonly indexRowsStmt: Database.Statement<[string], IndexRow>;
  private readonly columnsStmt: Database.Statement<[string], string>;
  private readonly writeTransaction: Database.Transaction<(ops: readonly WriteOp[]) => void>;

  private constructor(
    private readonly db: Db,
    /** Absolute path of the SQLite file. */
    readonly file: string,
  ) {
    this.schemaVersionStmt = db.prepare<[], number>("PRAGMA schema_version").pluck();
    this.tableExistsStmt = db
      .prepare<[string], number>("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?")
      .pluck();
    this.indexRowsStmt = db.prepare<[string], IndexRow>(
      `SELECT name, keys, is_unique FROM ${INDEX_TABLE} WHERE collection = ? ORDER BY rowid`,
    );
    this.columnsStmt = db
      .prepare<[string], string>("SELECT name FROM pragma_table_info(?) ORDER BY cid")
      .pluck();
    const coalesced = db.transaction((ops: readonly WriteOp[]) => this.applyBatch(ops));
    const oneByOne = db.transaction((ops: readonly WriteOp[]) => {
      for (const op of ops) this.applyBatch([op]);
    });
    this.writeTransaction = db.transaction((ops: readonly WriteOp[]) => {
      // Under the write lock: no other process can add columns from here on, and the columns
      // this batch fills must be the table's.
      this.checkSchema();
      try {
        coalesced(ops);
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
        // Writing each document's final state once can collide on a unique index where the
        // same ops applied one after the other do not (two documents swapping a value).
        // The savepoint is rolled back: retry op by op before calling it a duplicate key.
        this.forgetSchema();
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
      db = new Database(file, { timeout: 10_000 });
      db.pragma("journal_mode = WAL");
      db.pragma("synchronous = NORMAL");
      db.pragma("cache_size = -65536");
      db.pragma("analysis_limit = 1000");
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

  async ensureIndexes(collection: string, indexes: readonly IndexSpec[]): Promise<void> {
    this.guard(() => {
      validateIndexSpecs(collection, indexes);
      const create = this.db.transaction(() => {
        this.checkSchema();
        let state = this.prepareColumns(collection, indexes);
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
          // Columns hold only what passed findUnindexableValue; an expression index reads the JSON.
          if (state.expressionIndexes) this.assertIndexableData(state, Object.keys(spec.keys), spec.name);
          const columns = state.expressionIndexes ? undefined : state.columnFields;
          this.db.exec(
            `CREATE ${unique ? "UNIQUE " : ""}INDEX ${quoteIdentifier(sqlIndexName(collection, spec.name))} ` +
              `ON ${quoteIdentifier(state.table)} (${indexColumns(spec.keys, columns)})`,
          );
          this.db
            .prepare(`INSERT INTO ${INDEX_TABLE} (collection, name, keys, is_unique) VALUES (?, ?, ?, ?)`)
            .run(collection, spec.name, JSON.stringify(spec.keys), unique ? 1 : 0);
          existing.set(spec.name, { name: spec.name, keys: { ...spec.keys }, unique });
          this.collections.delete(collection);
          state = this.collection(collection);
        }
      });
      this.wrote = true;
      try {
        create.immediate();
      } finally {
        this.forgetSchema();
      }
      this.optimize();
    });
  }

  async prepareIndexes(collection: string, indexes: readonly IndexSpec[]): Promise<void> {
    this.guard(() => {
      validateIndexSpecs(collection, indexes);
      const prepare = this.db.transaction(() => {
        this.checkSchema();
        this.prepareColumns(collection, indexes);
      });
      this.wrote = true;
      try {
        prepare.immediate();
      } finally {
        this.forgetSchema();
      }
    });
  }

  async findById<T extends Document = Document>(collection: string, id: string): Promise<T | null> {
    return this.guard(() => {
      assertCollectionName(collection);
      if (typeof id !== "string") throw new DocumentStoreError("id must be a string");
      this.checkSchema();
      const state = this.collection(collection);
      if (!state.exists) return null;
      const json = this.statementsOf(state).get.get(id) as string | undefined;
      return json === undefined ? null : (JSON.parse(json) as T);
    });
  }

  async find<T extends Document = Document>(
    collection: string,
    filter: Filter,
    options?: FindOptions,
  ): Promise<T[]> {
    return this.guard(() => {
      assertCollectionName(collection);
      assertFilter(filter);
      const opts = normalizeFindOptions(options);
      const query = compileQuery(filter);
      this.checkSchema();
      const state = this.collection(collection);
      if (!state.exists) return [];
      return this.select(state, filter, query, opts, true) as T[];
    });
  }

  async count(collection: string, filter: Filter): Promise<number> {
    return this.guard(() => {
      assertCollectionName(collection);
      assertFilter(filter);
      const query = compileQuery(filter);
      this.checkSchema();
      const state = this.collection(collection);
      if (!state.exists) return 0;
      const indexedBy = this.chooseIndex(state, filter, undefined);
      const exact = buildCount(state.table, filter, state.indexedFields, indexedBy, state.columnFields);
      if (exact !== undefined) {
        return this.statement(exact.sql).get(...exact.params) as number;
      }
      const plan = buildSelect({
        table: state.table,
        filter,
        indexedFields: state.indexedFields,
        columns: state.columnFields,
        indexedBy,
      });
      let n = 0;
      for (const json of this.statement(plan.sql).iterate(...plan.params)) {
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
    return this.guard(() => {
      assertCollectionName(collection);
      assertFilter(filter);
      const limit = validateCountBy(field, options);
      this.checkSchema();
      const counts = new Map<Scalar, number>();
      const state = this.collection(collection);
      if (!state.exists) return counts;
      const indexedBy = this.chooseIndex(state, filter, undefined);
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
        const statement = this.statement(grouped.sql).raw(true);
        for (const [value, n] of statement.iterate(...grouped.params) as Iterable<[SqlValue, number]>) {
          counts.set(fromSqlValue(value), n);
        }
        return counts;
      }
      const query = compileQuery(filter);
      const plan = buildSelect({ table: state.table, filter, indexedFields: state.indexedFields, indexedBy });
      let seen = 0;
      for (const json of this.statement(plan.sql).iterate(...plan.params)) {
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
      if (!Array.isArray(ops)) throw new DocumentStoreError("write expects an array of ops");
      if (ops.length === 0) return;
      for (const op of ops) validateWriteOp(op);
      this.checkSchema();
      this.wrote = true;
      try {
        this.writeTransaction.immediate(ops);
      } catch (error) {
        this.forgetSchema();
        throw error;
      }
      if (++this.writesSinceOptimize >= OPTIMIZE_EVERY_WRITES) this.optimize();
    });
  }

  async explain(collection: string, filter: Filter, options?: FindOptions): Promise<QueryPlan> {
    return this.guard(() => {
      assertCollectionName(collection);
      assertFilter(filter);
      const opts = normalizeFindOptions(options);
      this.checkSchema();
      const state = this.collection(collection);
      if (!state.exists) return { indexed: false, detail: `collection ${collection} does not exist` };
      const plan = buildSelect({
        table: state.table,
        filter,
        indexedFields: state.indexedFields,
        columns: state.columnFields,
        sort: opts.sort,
        skip: opts.skip,
        limit: opts.limit,
        indexedBy: this.chooseIndex(state, filter, opts.sort),
      });
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
      assertCollectionName(collection);
      const drop = this.db.transaction(() => {
        this.db.exec(`DROP TABLE IF EXISTS ${quoteIdentifier(TABLE_PREFIX + collection)}`);
        this.db.prepare(`DELETE FROM ${INDEX_TABLE} WHERE collection = ?`).run(collection);
      });
      try {
        drop.immediate();
      } finally {
        this.forgetSchema();
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

  async close(): Promise<void> {
    if (this.closed) return;
    if (this.wrote) this.optimize();
    this.closed = true;
    this.forgetSchema();
    this.db.close();
  }

  // ---- reads ----

  private select(
    state: CollectionState,
    filter: Filter,
    query: Query,
    opts: NormalizedFindOptions,
    allowPaging: boolean,
  ): MutableDocument[] {
    const plan = buildSelect({
      table: state.table,
      filter,
      indexedFields: state.indexedFields,
      columns: state.columnFields,
      sort: opts.sort,
      skip: opts.skip,
      limit: opts.limit,
      allowPaging,
      indexedBy: this.chooseIndex(state, filter, opts.sort),
    });
    const statement = this.statement(plan.sql);
    if (plan.paged) {
      const docs = (statement.all(...plan.params) as string[]).map(
        (json) => JSON.parse(json) as MutableDocument,
      );
      // The translation is exact, so this always holds; if it ever did not, page in memory instead.
      if (docs.every((d) => query.test(d))) return docs;
      return this.select(state, filter, query, opts, false);
    }
    if (plan.sorted) {
      // Candidates arrive in the requested order: filter, skip and stop at the limit while streaming.
      const out: MutableDocument[] = [];
      let skipped = 0;
      for (const json of statement.iterate(...plan.params)) {
        const doc = JSON.parse(json as string) as MutableDocument;
        if (!query.test(doc)) continue;
        if (skipped < opts.skip) {
          skipped++;
          continue;
        }
        out.push(doc);
        if (opts.limit > 0 && out.length >= opts.limit) break;
      }
      return out;
    }
    const matches: MutableDocument[] = [];
    for (const json of statement.iterate(...plan.params)) {
      const doc = JSON.parse(json as string) as MutableDocument;
      if (query.test(doc)) matches.push(doc);
    }
    let cursor = mingoFind<MutableDocument>(matches, {}).sort(opts.sort ?? {});
    if (opts.skip > 0) cursor = cursor.skip(opts.skip);
    if (opts.limit > 0) cursor = cursor.limit(opts.limit);
    return cursor.all();
  }

  /**
   * When equalities lead two or more indexes (say `{ parkingLotId, status }` with indexes on
   * `{ parkingLotId, seq }` and `{ status, seq }`), counts each value's index entries (capped,
   * index-only) and forces the index of the rarest, as MongoDB's planner would find by racing
   * plans. SQLite's sampled statistics cannot tell a lot with 50 reservations from a status
   * with 500,000. Before that, an index whose leading keys pin every field the filter pins is
   * forced (indexPinningAll): it reads a slice of any of theirs. Otherwise SQLite chooses.
   */
  private chooseIndex(
    state: CollectionState,
    filter: Filter,
    sort: SortSpec | undefined,
  ): string | undefined {
    const pinning = indexPinningAll(filter, state.indexes, sort);
    if (pinning !== undefined) return sqlIndexName(state.name, pinning.name);
    const candidates = leadingEqualities(filter, state.indexes, sort);
    let best: { name: string; entries: number } | undefined;
    for (const candidate of candidates) {
      const index = candidate.indexes[0];
      if (index === undefined) continue;
      const name = sqlIndexName(state.name, index.name);
      // No need to count past the best so far: probing costs at most twice the rarest value's entries.
      const limit = best === undefined ? PROBE_LIMIT : best.entries + 1;
      const probe =
        `SELECT count(*) FROM (SELECT 1 FROM ${quoteIdentifier(state.table)} INDEXED BY ${quoteIdentifier(name)} ` +
        `WHERE ${fieldExpression(candidate.field, state.columnFields)} = ? LIMIT ?)`;
      const entries = this.statement(probe).get(candidate.value, limit) as number;
      if (best === undefined || entries < best.entries) best = { name, entries };
    }
    return best?.name;
  }

  // ---- writes ----

  /** Applies the ops in memory, one load per touched document, then writes each changed document once. */
  private applyBatch(ops: readonly WriteOp[]): void {
    const touched = new Map<string, Touched>();
    for (const op of ops) {
      let t = touched.get(op.collection);
      if (t === undefined) {
        t = { state: this.collection(op.collection), ids: new Set(), pending: new Map() };
        touched.set(op.collection, t);
      }
      t.ids.add(op.id);
    }
    for (const t of touched.values()) this.loadTouched(t);
    for (const op of ops) {
      const t = touched.get(op.collection) as Touched;
      const p = t.pending.get(op.id) as Pending;
      switch (op.op) {
        case "update": {
          if (op.if !== undefined) {
            const matches = p.doc === null ? op.upsert === true : compileQuery(op.if).test(p.doc);
            if (!matches) throw new WriteConditionFailedError(op.collection, op.id);
          }
          const outcome = applyUpdate(p.doc, op.id, op.update, op.upsert === true);
          p.doc = outcome.doc;
          if (outcome.changed) p.dirty = true;
          break;
        }
        case "replace":
          p.doc = replacementDocument(op.id, op.document);
          p.dirty = true;
          break;
        case "delete":
          if (p.doc !== null) {
            p.doc = null;
            p.dirty = true;
          }
          break;
      }
    }
    for (const { state, pending } of touched.values()) {
      for (const p of pending.values()) if (p.dirty) this.store(state, p);
    }
  }

  /** Writes one changed document (or deletes it): its JSON and the columns that changed. */
  private store(state: CollectionState, p: Pending): void {
    if (p.doc === null) {
      if (p.existed) this.statementsOf(state).remove.run(p.id);
      return;
    }
    for (const field of state.scalarPaths) {
      if (!holdsScalar(p.doc, field.segments)) {
        throw new DocumentStoreError(
          `${state.name}/${p.id}: field '${field.path}' is indexed, and the embedded store indexes only ` +
            "scalar values (no arrays or embedded documents at or above an indexed path)",
        );
      }
    }
    const json = JSON.stringify(p.doc);
    const { columns } = state;
    if (!p.existed) {
      this.ensureTable(state);
      const values: SqlValue[] = [p.id, json];
      for (const column of columns) values.push(columnValue(p.doc, column.segments));
      this.statementsOf(state).insert.run(...values);
      return;
    }
    if (p.stored === undefined) {
      this.statementsOf(state).update.run(json, p.id);
      return;
    }
    // Only the columns that changed: SQLite then leaves the indexes of the others alone.
    let changed: number[] | undefined;
    const values: SqlValue[] = [json];
    for (let i = 0; i < columns.length; i++) {
      const value = columnValue(p.doc, (columns[i] as Column).segments);
      if (value !== p.stored[i]) {
        changed ??= [];
        changed.push(i);
        values.push(value);
      }
    }
    if (changed === undefined) {
      this.statementsOf(state).update.run(json, p.id);
      return;
    }
    values.push(p.id);
    this.updateStatement(state, changed).run(...values);
  }

  /**
   * Loads every document of `t.ids` into `t.pending`, with one query for the collection (ids
   * passed as one JSON array) instead of one lookup per document: in a rebuild's fresh
   * collections most lookups find nothing, and each round trip into SQLite costs more than the
   * index probe itself. A batch touching a single document keeps the plain lookup.
   */
  private loadTouched(t: Touched): void {
    const { state, ids, pending } = t;
    const add = (id: string, json: string | undefined) => {
      const doc = json === undefined ? null : (JSON.parse(json) as MutableDocument);
      const stored =
        doc === null || state.columns.length === 0
          ? undefined
          : state.columns.map((c) => columnValue(doc, c.segments));
      pending.set(id, { id, doc, existed: doc !== null, stored, dirty: false });
    };
    if (!state.exists) {
      for (const id of ids) add(id, undefined);
      return;
    }
    const statements = this.statementsOf(state);
    if (ids.size === 1) {
      const [id] = ids as Set<string> & [string];
      add(id, statements.get.get(id) as string | undefined);
      return;
    }
    for (const row of statements.getMany.iterate(JSON.stringify([...ids])) as Iterable<{
      id: string;
      doc: string;
    }>) {
      add(row.id, row.doc);
    }
    for (const id of ids) if (!pending.has(id)) add(id, undefined);
  }

  /**
   * Creates the collection if missing and a column for every field of `indexes` it does not keep
   * in one yet: a new table gets them before `doc` (an index build reads them without stepping
   * over the JSON); an existing one gets them appended, filled from the JSON of its documents
   * (refused, like an index, if one holds an array or an embedded document there). A collection
   * with expression indexes gets no columns. Inside a write transaction; returns the fresh state.
   */
  private prepareColumns(collection: string, indexes: readonly IndexSpec[]): CollectionState {
    const state = this.collection(collection);
    if (state.expressionIndexes) {
      this.ensureTable(state);
      return state;
    }
    const missing = new Map<string, string>(); // path → the first index that needs it
    for (const spec of indexes)
      for (const path of Object.keys(spec.keys))
        if (path !== "_id" && !state.columnFields.has(path) && !missing.has(path))
          missing.set(path, spec.name);
    if (missing.size === 0) {
      this.ensureTable(state);
      return state;
    }
    const table = quoteIdentifier(state.table);
    if (!state.exists) {
      const columns = [...missing.keys()].map((path) => `${columnName(path)}, `).join("");
      this.db.exec(`CREATE TABLE ${table} (id TEXT PRIMARY KEY, ${columns}doc TEXT NOT NULL)`);
    } else {
      for (const [path, indexName] of missing) {
        this.assertIndexableData(state, [path], indexName);
        this.db.exec(`ALTER TABLE ${table} ADD COLUMN ${columnName(path)}`);
      }
      const fill = [...missing.keys()].map((path) => `${columnName(path)} = ${jsonFieldExpression(path)}`);
      this.db.exec(`UPDATE ${table} SET ${fill.join(", ")}`);
    }
    this.collections.delete(collection);
    return this.collection(collection);
  }

  private assertIndexableData(state: CollectionState, paths: readonly string[], indexName: string): void {
    const conditions: string[] = [];
    for (const path of paths) {
      if (path === "_id") continue;
      const segments = path.split(".");
      for (let i = 1; i < segments.length; i++) {
        conditions.push(`json_type(doc, '${jsonPath(segments.slice(0, i).join("."))}') = 'array'`);
      }
      conditions.push(`json_type(doc, '${jsonPath(path)}') IN ('array', 'object')`);
    }
    if (conditions.length === 0) return;
    const offending = this.db
      .prepare(`SELECT id FROM ${quoteIdentifier(state.table)} WHERE ${conditions.join(" OR ")} LIMIT 1`)
      .pluck()
      .get() as string | undefined;
    if (offending !== undefined) {
      throw new DocumentStoreError(
        `cannot create index ${indexName} on ${state.name}: document ${offending} holds an array or an embedded ` +
          "document at an indexed path (the embedded store indexes only scalar values)",
      );
    }
  }

  // ---- schema and statements ----

  /** Drops cached schema knowledge when this or another process changed the schema. */
  private checkSchema(): void {
    const version = this.schemaVersionStmt.get() as number;
    if (version !== this.knownSchemaVersion) {
      this.forgetSchema();
      this.knownSchemaVersion = version;
    }
  }

  private forgetSchema(): void {
    this.collections.clear();
    this.statements.clear();
    this.knownSchemaVersion = -1;
  }

  private collection(name: string): CollectionState {
    const cached = this.collections.get(name);
    if (cached !== undefined) return cached;
    const table = TABLE_PREFIX + name;
    const indexes: IndexSpec[] = [];
    const indexedFields = new Set<string>();
    for (const row of this.indexRowsStmt.all(name)) {
      const keys = JSON.parse(row.keys) as Record<string, 1 | -1>;
      indexes.push({ name: row.name, keys, unique: row.is_unique === 1 });
      for (const field of Object.keys(keys)) indexedFields.add(field);
    }
    const columns: Column[] = [];
    for (const column of this.columnsStmt.all(table)) {
      if (!column.startsWith(COLUMN_PREFIX)) continue;
      const path = column.slice(COLUMN_PREFIX.length);
      columns.push({ path, segments: path.split(".") });
    }
    const columnFields = new Set(columns.map((c) => c.path));
    const state: CollectionState = {
      name,
      table,
      exists: this.tableExistsStmt.get(table) !== undefined,
      indexes,
      indexedFields,
      columns,
      columnFields,
      scalarPaths: [...new Set([...indexedFields, ...columnFields])]
        .filter((path) => path !== "_id")
        .map((path) => ({ path, segments: path.split(".") })),
      expressionIndexes: [...indexedFields].some((field) => field !== "_id" && !columnFields.has(field)),
      statements: undefined,
    };
    this.collections.set(name, state);
    return state;
  }

  private ensureTable(state: CollectionState): void {
    if (state.exists) return;
    this.db.exec(
      `CREATE TABLE IF NOT EXISTS ${quoteIdentifier(state.table)} (id TEXT PRIMARY KEY, doc TEXT NOT NULL)`,
    );
    state.exists = true;
  }

  private statementsOf(state: CollectionState): CollectionStatements {
    if (state.statements === undefined) {
      const t = quoteIdentifier(state.table);
      state.statements = {
        get: this.db.prepare<SqlValue[]>(`SELECT doc FROM ${t} WHERE id = ?`).pluck(),
        getMany: this.db.prepare<[string]>(
          `SELECT id, doc FROM ${t} WHERE id IN (SELECT value FROM json_each(?))`,
        ),
        insert: this.db.prepare<SqlValue[]>(
          `INSERT INTO ${t} (id, doc${state.columns.map((c) => `, ${columnName(c.path)}`).join("")}) ` +
            `VALUES (?, ?${", ?".repeat(state.columns.length)})`,
        ),
        update: this.db.prepare<SqlValue[]>(`UPDATE ${t} SET doc = ? WHERE id = ?`),
        updateColumns: new Map(),
        remove: this.db.prepare<SqlValue[]>(`DELETE FROM ${t} WHERE id = ?`),
      };
    }
    return state.statements;
  }

  /** The UPDATE of `doc` and of the columns at `changed` (positions in state.columns). */
  private updateStatement(state: CollectionState, changed: readonly number[]): Statement {
    const statements = this.statementsOf(state);
    const key = changed.join(",");
    let statement = statements.updateColumns.get(key);
    if (statement === undefined) {
      const set = changed.map((i) => `, ${columnName((state.columns[i] as Column).path)} = ?`).join("");
      statement = this.db.prepare<SqlValue[]>(
        `UPDATE ${quoteIdentifier(state.table)} SET doc = ?${set} WHERE id = ?`,
      );
      statements.updateColumns.set(key, statement);
    }
    return statement;
  }

  /** Prepared statements by SQL text (plucking the single column), least recently used evicted. */
  private statement(sql: string): Statement {
    let statement = this.statements.get(sql);
    if (statement !== undefined) {
      this.statements.delete(sql);
    } else {
      statement = this.db.prepare<SqlValue[]>(sql).pluck();
      if (this.statements.size >= STATEMENT_CACHE_SIZE) {
        const oldest = this.statements.keys().next().value;
        if (oldest !== undefined) this.statements.delete(oldest);
      }
    }
    this.statements.set(sql, statement);
    return statement;
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
  private guard<R>(body: () => R): R {
    if (this.closed) throw new DocumentStoreError("the document store is closed");
    try {
      return body();
    } catch (error) {
      throw this.mapError(error);
    }
  }

  private mapError(error: unknown): DocumentStoreError {
    if (error instanceof DocumentStoreError) return error;
    if (error instanceof Database.SqliteError) {
      if (error.code.startsWith("SQLITE_BUSY") || error.code.startsWith("SQLITE_LOCKED")) {
        return new DocumentStoreUnavailableError(`the document store file is locked: ${error.message}`, {
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

/**
 * Whether `doc` holds no array or embedded document at `segments` or above it (what the store
 * indexes; see findUnindexableValue, which this is with the path split once).
 */
function holdsScalar(doc: Readonly<Record<string, unknown>>, segments: readonly string[]): boolean {
  let current: unknown = doc;
  for (const segment of segments) {
    if (!isPlainObject(current)) return true; // missing, null or a scalar on the way: the field is missing
    current = current[segment];
    if (Array.isArray(current)) return false;
  }
  return !isPlainObject(current);
}

/** The scalar at a dotted path of a document (null when missing; objects and arrays are not grouped by). */
function valueAt(doc: Readonly<Record<string, unknown>>, path: string): Scalar {
  let current: unknown = doc;
  for (const segment of path.split(".")) {
    if (current === null || typeof current !== "object" || Array.isArray(current)) return null;
    current = (current as Record<string, unknown>)[segment];
  }
  if (typeof current === "string" || typeof current === "number" || typeof current === "boolean")
    return current;
  if (current === null || current === undefined) return null;
  throw new DocumentStoreError(`countBy: ${path} holds an array or an embedded document, not a scalar`);
}

function compileQuery(filter: Filter): Query {
  assertFilter(filter);
  try {
    return new Query(filter, { scriptEnabled: false });
  } catch (error) {
    throw new DocumentStoreError(`invalid filter: ${messageOf(error)}`, { cause: error });
  }
}

function sqlIndexName(collection: string, name: string): string {
  return `ix_${collection}__${Buffer.from(name, "utf8").toString("hex")}`;
}

/** `collection.name` back from a SQLite index name made by {@link sqlIndexName}. */
function specIndexName(sqlName: string): string | undefined {
  const match = /^ix_([a-z][a-z0-9_]*)__([0-9a-f]+)$/.exec(sqlName);
  if (match === null) return undefined;
  return `${match[1]}.${Buffer.from(match[2]!, "hex").toString("utf8")}`;
}

function isUniqueViolation(error: unknown): boolean {
  return error instanceof Database.SqliteError && error.code === "SQLITE_CONSTRAINT_UNIQUE";
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
