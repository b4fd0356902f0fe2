import type Database from "better-sqlite3";
import { DocumentStoreError, type IndexSpec } from "../port.js";
import {
  COLUMN_PREFIX,
  columnName,
  jsonFieldExpression,
  jsonPath,
  quoteIdentifier,
  type SqlValue,
} from "./sql-translation.js";

export type Db = Database.Database;
export type Statement = Database.Statement<SqlValue[]>;

export const INDEX_TABLE = "_docstore_indexes";
export const TABLE_PREFIX = "c_";
const STATEMENT_CACHE_SIZE = 256;
export interface CollectionStatements {
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
export interface Column {
  readonly path: string;
  readonly segments: readonly string[];
}

export interface CollectionState {
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

interface IndexRow {
  readonly name: string;
  readonly keys: string;
  readonly is_unique: number;
}

/**
 * What a connection knows of the file's schema: each collection's table, columns and indexes, and
 * the prepared statements over them, forgotten whenever this or another process changes the schema
 * (PRAGMA schema_version).
 */
export class SqliteSchema {
  private readonly collections = new Map<string, CollectionState>();
  private readonly statements = new Map<string, Statement>();
  private knownSchemaVersion = -1;
  private readonly schemaVersionStmt: Database.Statement<[], number>;
  private readonly tableExistsStmt: Database.Statement<[string], number>;
  private readonly indexRowsStmt: Database.Statement<[string], IndexRow>;
  private readonly columnsStmt: Database.Statement<[string], string>;

  constructor(readonly db: Db) {
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
  }

  /** Forgets one collection's state (its indexes or columns changed in this transaction). */
  forget(collection: string): void {
    this.collections.delete(collection);
  }

  /**
   * Creates the collection if missing and a column for every field of `indexes` it does not keep
   * in one yet: a new table gets them before `doc` (an index build reads them without stepping
   * over the JSON); an existing one gets them appended, filled from the JSON of its documents
   * (refused, like an index, if one holds an array or an embedded document there). A collection
   * with expression indexes gets no columns. Inside a write transaction; returns the fresh state.
   */
  prepareColumns(collection: string, indexes: readonly IndexSpec[]): CollectionState {
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
    this.forget(collection);
    return this.collection(collection);
  }

  assertIndexableData(state: CollectionState, paths: readonly string[], indexName: string): void {
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

  /** Drops cached schema knowledge when this or another process changed the schema. */
  checkSchema(): void {
    const version = this.schemaVersionStmt.get() as number;
    if (version !== this.knownSchemaVersion) {
      this.forgetSchema();
      this.knownSchemaVersion = version;
    }
  }

  forgetSchema(): void {
    this.collections.clear();
    this.statements.clear();
    this.knownSchemaVersion = -1;
  }

  collection(name: string): CollectionState {
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

  ensureTable(state: CollectionState): void {
    if (state.exists) return;
    this.db.exec(
      `CREATE TABLE IF NOT EXISTS ${quoteIdentifier(state.table)} (id TEXT PRIMARY KEY, doc TEXT NOT NULL)`,
    );
    state.exists = true;
  }

  statementsOf(state: CollectionState): CollectionStatements {
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
  updateStatement(state: CollectionState, changed: readonly number[]): Statement {
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
  statement(sql: string): Statement {
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
}

export function sqlIndexName(collection: string, name: string): string {
  return `ix_${collection}__${Buffer.from(name, "utf8").toString("hex")}`;
}

/** `collection.name` back from a SQLite index name made by {@link sqlIndexName}. */
export function specIndexName(sqlName: string): string | undefined {
  const match = /^ix_([a-z][a-z0-9_]*)__([0-9a-f]+)$/.exec(sqlName);
  if (match === null) return undefined;
  return `${match[1]}.${Buffer.from(match[2]!, "hex").toString("utf8")}`;
}
