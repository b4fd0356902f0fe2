import { createHash } from "node:crypto";
import type { Pool, PoolClient } from "pg";
import type { AnyIndexSpec, IndexSpec } from "../port.js";
import { DocumentStoreError, isGeoIndex } from "../port.js";
import { indexColumns, jsonAt, pathLiteral, quoteIdentifier } from "./pg-sql.js";

/**
 * What the PostgreSQL document store keeps beside the collections: a registry of collections (their
 * tables), of the indexes declared on them (their keys in declaration order, which jsonb would not
 * keep: text), and a schema version every change of either bumps, under one advisory lock, so that
 * every process (replicas of the service) notices another's change on its next call.
 */
export const COLLECTIONS = "_docstore_collections";
export const INDEXES = "_docstore_indexes";
export const VERSION = "_docstore_schema";
/** The advisory lock every schema change of the store takes (an arbitrary constant of this store). */
const SCHEMA_LOCK = 7_046_211_305;

export const BOOTSTRAP = [
  `SELECT pg_advisory_xact_lock(${SCHEMA_LOCK})`,
  `CREATE TABLE IF NOT EXISTS ${COLLECTIONS} (name text COLLATE "C" PRIMARY KEY, tbl text NOT NULL UNIQUE)`,
  `CREATE TABLE IF NOT EXISTS ${INDEXES} (collection text COLLATE "C" NOT NULL, name text NOT NULL,
     keys text, geo text, is_unique boolean NOT NULL, sql_name text NOT NULL UNIQUE, PRIMARY KEY (collection, name))`,
  `CREATE TABLE IF NOT EXISTS ${VERSION} (one int PRIMARY KEY CHECK (one = 1), version bigint NOT NULL)`,
  `INSERT INTO ${VERSION} VALUES (1, 0) ON CONFLICT DO NOTHING`,
];

/** A read's statement: its rows, the schema's version read in the same statement (`read`). */
export type Select = <Row>(sql: string, params: readonly unknown[]) => Promise<Row[]>;

/**
 * `sql` and the schema's version in one statement: `sql`'s rows, each with the version and
 * `found`, or one row of the version alone when `sql` has none, so that even an empty answer says
 * which schema it was read under. Rows stream as `sql` gives them, in its order: joined `ON true`,
 * the only plan is a nested loop over the version's one row (a row the planner knows is one, so
 * that its costs, and JIT's threshold, are `sql`'s), `sql` (an ORDER BY keeps it a subquery) read
 * once inside it.
 */
export const withVersion = (sql: string): string =>
  `SELECT v.version, q.* FROM (SELECT (SELECT version::text FROM ${VERSION}) AS version) AS v ` +
  `LEFT JOIN LATERAL (SELECT true AS found, s.* FROM (${sql}) AS s) AS q ON true`;

/**
 * The name a read's statement is prepared under, once per connection (parsed once, its plan cached
 * as PostgreSQL decides): its text's digest, so that one name is one text. A table dropped or
 * recreated since is looked up again by the server.
 */
export const prepared = (text: string): string => `r_${createHash("sha1").update(text).digest("base64url")}`;

const digest = (...parts: string[]) => createHash("sha256").update(parts.join("\0")).digest("hex");

/** A collection's table: `c_<name>`, or (past PostgreSQL's 63-byte identifiers) a prefix and a digest. */
export const tableOf = (collection: string): string =>
  collection.length <= 60
    ? `c_${collection}`
    : `c_${collection.slice(0, 40)}_${digest(collection).slice(0, 16)}`;
export const indexNameOf = (collection: string, name: string): string =>
  `ix_${digest(collection, name).slice(0, 32)}`;

export interface CollectionState {
  readonly name: string;
  readonly table: string;
  readonly exists: boolean;
  readonly indexes: readonly IndexSpec[];
  readonly indexedFields: ReadonlySet<string>;
  readonly geoFields: ReadonlySet<string>;
}

interface IndexRow {
  collection: string;
  name: string;
  keys: string | null;
  geo: string | null;
  is_unique: boolean;
  sql_name: string;
}

/** The schema as one process knows it, reloaded when the version moved. */
export class PgSchema {
  private version = -1n;
  private collections = new Map<string, CollectionState>();
  /** SQL index name → `collection.name`, for the duplicate-key error. */
  private sqlNames = new Map<string, string>();

  /** Reloads what another process (or this one) changed since the last call. */
  /** The schema's version in the database now. */
  async peek(client: Pool | PoolClient): Promise<bigint> {
    const { rows } = await client.query<{ version: string }>(`SELECT version::text FROM ${VERSION}`);
    return BigInt(rows[0]?.version ?? "0");
  }

  async refresh(client: Pool | PoolClient): Promise<void> {
    const version = await this.peek(client);
    if (version === this.version) return;
    const [tables, indexes] = await Promise.all([
      client.query<{ name: string; tbl: string }>(`SELECT name, tbl FROM ${COLLECTIONS}`),
      client.query<IndexRow>(`SELECT * FROM ${INDEXES} ORDER BY collection, name`),
    ]);
    const collections = new Map<string, CollectionState>();
    const sqlNames = new Map<string, string>();
    for (const { name, tbl } of tables.rows)
      collections.set(name, {
        name,
        table: tbl,
        exists: true,
        indexes: [],
        indexedFields: new Set(),
        geoFields: new Set(),
      });
    for (const row of indexes.rows) {
      const state = collections.get(row.collection);
      sqlNames.set(row.sql_name, `${row.collection}.${row.name}`);
      if (state === undefined) continue;
      if (row.geo !== null) (state.geoFields as Set<string>).add(row.geo);
      else {
        const keys = Object.fromEntries(JSON.parse(row.keys ?? "[]") as [string, 1 | -1][]);
        (state.indexes as IndexSpec[]).push({ name: row.name, keys, unique: row.is_unique });
        for (const field of Object.keys(keys)) (state.indexedFields as Set<string>).add(field);
      }
    }
    this.collections = collections;
    this.sqlNames = sqlNames;
    this.version = version;
  }

  /** The version this process knows (-1 when it knows none). */
  get current(): bigint {
    return this.version;
  }

  forget(): void {
    this.version = -1n;
  }

  collection(name: string): CollectionState {
    return (
      this.collections.get(name) ?? {
        name,
        table: tableOf(name),
        exists: false,
        indexes: [],
        indexedFields: new Set(),
        geoFields: new Set(),
      }
    );
  }

  names(): string[] {
    return [...this.collections.keys()].sort();
  }

  indexNamed(sqlName: string): string | undefined {
    return this.sqlNames.get(sqlName);
  }
}

/** Takes the schema lock and bumps the version: the start of every schema change (in its transaction). */
export async function lockSchema(client: PoolClient): Promise<void> {
  await client.query(`SELECT pg_advisory_xact_lock(${SCHEMA_LOCK})`);
  await client.query(`UPDATE ${VERSION} SET version = version + 1`);
}

/** Creates the collection's table if missing (the schema locked by the caller's transaction). */
export async function createTable(client: PoolClient, collection: string): Promise<void> {
  const table = tableOf(collection);
  const { rowCount } = await client.query(
    `INSERT INTO ${COLLECTIONS} (name, tbl) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
    [collection, table],
  );
  if (rowCount === 0) return;
  await client.query(`DROP TABLE IF EXISTS ${quoteIdentifier(table)}`);
  await client.query(
    `CREATE TABLE ${quoteIdentifier(table)} (id text COLLATE "C" PRIMARY KEY, doc jsonb NOT NULL)`,
  );
}

/**
 * The point of a GeoJSON `{ type: "Point", coordinates: [lng, lat] }` at `field`, NULL unless valid:
 * what a geo index (GiST over PostgreSQL's own `point`, no PostGIS) holds.
 */
export function geoExpression(field: string): string {
  const lng = `(doc #> ${pathLiteral(`${field}.coordinates`)} -> 0)`;
  const lat = `(doc #> ${pathLiteral(`${field}.coordinates`)} -> 1)`;
  return (
    `(CASE WHEN (doc #>> ${pathLiteral(`${field}.type`)}) = 'Point' AND jsonb_typeof(${lng}) = 'number' ` +
    `AND jsonb_typeof(${lat}) = 'number' AND (${lng})::float8 BETWEEN -180 AND 180 ` +
    `AND (${lat})::float8 BETWEEN -90 AND 90 THEN point((${lng})::float8, (${lat})::float8) END)`
  );
}

/**
 * Refuses an index over data it cannot order as MongoDB does: an array or an embedded document at
 * (or an array above) an indexed path (as the embedded store, which indexes scalars only).
 */
async function assertIndexable(client: PoolClient, state: CollectionState, spec: IndexSpec): Promise<void> {
  const conditions: string[] = [];
  for (const path of Object.keys(spec.keys)) {
    if (path === "_id") continue;
    const segments = path.split(".");
    for (let i = 1; i < segments.length; i++)
      conditions.push(`jsonb_typeof(${jsonAt(segments.slice(0, i).join("."))}) = 'array'`);
    conditions.push(`jsonb_typeof(${jsonAt(path)}) IN ('array', 'object')`);
  }
  if (conditions.length === 0) return;
  const { rows } = await client.query<{ id: string }>(
    `SELECT id FROM ${quoteIdentifier(state.table)} WHERE ${conditions.join(" OR ")} LIMIT 1`,
  );
  if (rows[0] !== undefined)
    throw new DocumentStoreError(
      `cannot create index ${spec.name} on ${state.name}: document ${rows[0].id} holds an array or an embedded ` +
        "document at an indexed path (the store indexes only scalar values)",
    );
}

/** Creates the indexes of `specs` missing on the collection (which exists, the schema locked). */
export async function createIndexes(
  client: PoolClient,
  state: CollectionState,
  specs: readonly AnyIndexSpec[],
): Promise<void> {
  const { rows } = await client.query<IndexRow>(`SELECT * FROM ${INDEXES} WHERE collection = $1`, [
    state.name,
  ]);
  const existing = new Map(rows.map((r) => [r.name, r]));
  for (const spec of specs) {
    const geo = isGeoIndex(spec) ? spec.geo : null;
    const keys = isGeoIndex(spec) ? null : JSON.stringify(Object.entries(spec.keys));
    const unique = !isGeoIndex(spec) && spec.unique === true;
    const same = existing.get(spec.name);
    if (same !== undefined) {
      if (same.keys === keys && same.geo === geo && same.is_unique === unique) continue;
      throw new DocumentStoreError(
        `index ${spec.name} of ${state.name} already exists with different keys or options`,
      );
    }
    for (const other of existing.values())
      if (other.keys === keys && other.geo === geo)
        throw new DocumentStoreError(
          `index ${spec.name} of ${state.name}: an index with the same keys already exists under the name ${other.name}`,
        );
    const sqlName = indexNameOf(state.name, spec.name);
    const table = quoteIdentifier(state.table);
    if (isGeoIndex(spec)) {
      await client.query(
        `CREATE INDEX ${quoteIdentifier(sqlName)} ON ${table} USING gist ((${geoExpression(spec.geo)}))`,
      );
    } else {
      await assertIndexable(client, state, spec);
      await client.query(
        `CREATE ${unique ? "UNIQUE " : ""}INDEX ${quoteIdentifier(sqlName)} ON ${table} (${indexColumns(spec.keys)})`,
      );
    }
    const row: IndexRow = {
      collection: state.name,
      name: spec.name,
      keys,
      geo,
      is_unique: unique,
      sql_name: sqlName,
    };
    await client.query(
      `INSERT INTO ${INDEXES} (collection, name, keys, geo, is_unique, sql_name) VALUES ($1, $2, $3, $4, $5, $6)`,
      [row.collection, row.name, row.keys, row.geo, row.is_unique, row.sql_name],
    );
    existing.set(spec.name, row);
  }
}

/** Drops the collection's table and forgets its indexes (the schema locked). */
export async function dropTable(client: PoolClient, collection: string): Promise<void> {
  const { rows } = await client.query<{ tbl: string }>(
    `DELETE FROM ${COLLECTIONS} WHERE name = $1 RETURNING tbl`,
    [collection],
  );
  await client.query(`DELETE FROM ${INDEXES} WHERE collection = $1`, [collection]);
  for (const { tbl } of rows) await client.query(`DROP TABLE IF EXISTS ${quoteIdentifier(tbl)}`);
}
