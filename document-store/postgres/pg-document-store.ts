/**
 * The document store on PostgreSQL: MongoDB query and update semantics (the embedded store's own
 * code: mingo, update-semantics.ts) over jsonb, for a service whose read models live in the database
 * its team already operates (issue 70).
 *
 * Layout: one table per collection, `c_<collection> (id text COLLATE "C" PRIMARY KEY, doc jsonb)`,
 * registered with its declared indexes in `_docstore_collections` / `_docstore_indexes` (pg-schema.ts);
 * each declared index is a B-tree on three expressions per key (pg-sql.ts: MongoDB's type order, byte
 * order for strings), a geo index a GiST over PostgreSQL's own `point` (no PostGIS). As in the
 * embedded store, conditions on `_id` and indexed fields become SQL, everything else is re-checked
 * with mingo, and what a request's query examines is charged and bounded (bounds.ts): a query asks
 * PostgreSQL for at most one row more than it may examine. A write batch is one transaction, so a
 * projector's effects and its checkpoint land together or not at all (exactly once).
 *
 * jsonb keeps a document's values, not the order of its keys (it sorts them): documents compare
 * equal to what was written, as in MongoDB's queries, but JSON.stringify may list their keys in
 * another order.
 */
import pg from "pg";
import { poolConfig } from "../../platform/postgres/hosts.js";
import { inTransaction } from "../../platform/postgres/transaction.js";
import { WorkBudgetExceededError } from "../../platform/work-budget.js";
import { examined, examinedBound } from "../bounds.js";
import { bulkLoadThrough } from "../bulk-load.js";
import { inOrder } from "../embedded/sqlite-geo.js";
import { compileQuery } from "../embedded/sqlite-reads.js";
import type {
  AnyIndexSpec,
  BulkLoad,
  CountByOptions,
  Document,
  DocumentStore,
  Filter,
  FindOptions,
  Near,
  NearQuery,
  QueryPlan,
  Scalar,
  WriteOp,
} from "../port.js";
import { DocumentStoreError, DocumentStoreUnavailableError } from "../port.js";
import { checkArgs, type NormalizedFindOptions } from "../validation.js";
import { nearIds } from "./pg-geo.js";
import { countValue, interpretPgPlan, pickMatches, scans } from "./pg-reads.js";
import {
  BOOTSTRAP,
  type CollectionState,
  createIndexes,
  createTable,
  dropTable,
  lockSchema,
  PgSchema,
  prepared,
  type Select,
  VERSION,
  withVersion,
} from "./pg-schema.js";
import { buildCount, buildCountBy, buildSelect, quoteIdentifier, type SelectPlan } from "./pg-sql.js";
import { applyBatch } from "./pg-writes.js";

export interface PostgresDocumentStoreOptions {
  /** `postgres://` or `postgresql://` URL (TLS options in it, as libpq's). */
  readonly url: string;
  /** Connections in the pool (default 10). */
  readonly maxConnections?: number;
}

/** What a write sends first when it knows the schema: its transaction's start and the schema's version. */
const OPENING = `BEGIN; SELECT version::text AS version FROM ${VERSION}; SAVEPOINT batch`;

/** A batch that lost a race (two replicas inserting one document, a deadlock) is tried again this often. */
const WRITE_ATTEMPTS = 3;

export class PostgresDocumentStore implements DocumentStore {
  private readonly schema = new PgSchema();
  private closed = false;

  private constructor(private readonly pool: pg.Pool) {}

  /** Connects and creates the store's own tables if missing; fails with DocumentStoreUnavailableError. */
  static async open(options: PostgresDocumentStoreOptions): Promise<PostgresDocumentStore> {
    const pool = new pg.Pool(poolConfig(options.url, { max: options.maxConnections ?? 10 }));
    // An idle connection that breaks is dropped by the pool; the next call reports it.
    pool.on("error", () => undefined);
    const store = new PostgresDocumentStore(pool);
    try {
      await store.transaction(async (client) => {
        for (const sql of BOOTSTRAP) await client.query(sql);
      });
    } catch (error) {
      await pool.end().catch(() => undefined);
      throw new DocumentStoreUnavailableError(
        `cannot open the PostgreSQL document store: ${messageOf(error)}`,
        {
          cause: error,
        },
      );
    }
    return store;
  }

  async ensureIndexes(collection: string, indexes: readonly AnyIndexSpec[]): Promise<void> {
    checkArgs.indexes(collection, indexes);
    await this.schemaChange(async (client) => {
      await createTable(client, collection);
      await createIndexes(client, { ...this.schema.collection(collection), exists: true }, indexes);
    });
  }

  /** Creates the collection; its indexes wait for ensureIndexes (built once, after a bulk load). */
  async prepareIndexes(collection: string, indexes: readonly AnyIndexSpec[]): Promise<void> {
    checkArgs.indexes(collection, indexes);
    await this.schemaChange((client) => createTable(client, collection));
  }

  async findById<T extends Document = Document>(collection: string, id: string): Promise<T | null> {
    checkArgs.findById(collection, id);
    return this.call(() =>
      this.read(collection, async (state, query) => {
        if (!state.exists) return null;
        const rows = await query<{ doc: T }>(
          `SELECT doc FROM ${quoteIdentifier(state.table)} WHERE id = $1`,
          [id],
        );
        if (rows[0] === undefined) return null;
        examined(collection, {}, () => false).add();
        return rows[0].doc;
      }),
    );
  }

  async find<T extends Document = Document>(
    collection: string,
    filter: Filter,
    options?: FindOptions,
  ): Promise<T[]> {
    const opts = checkArgs.find(collection, filter, options);
    return this.call(() =>
      this.read(collection, async (state, query) => {
        if (!state.exists) {
          compileQuery(filter); // refused like any other find's when mingo cannot compile it
          return [];
        }
        const request = { table: state.table, filter, indexedFields: state.indexedFields, ...opts };
        const plan = capped(buildSelect(request), (cap) => buildSelect({ ...request, cap }), opts);
        const rows = await query<{ doc: T }>(plan.sql, plan.params);
        const seen = examined(collection, opts, () => scans(plan));
        return pickMatches(
          rows.map((r) => r.doc),
          plan,
          filter,
          opts,
          seen,
        ) as T[];
      }),
    );
  }

  async findNear<T extends Document = Document>(collection: string, query: NearQuery): Promise<Near<T>[]> {
    checkArgs.near(collection, query);
    return this.call(() =>
      this.read(collection, async (state, select) => {
        const ids = await nearIds(select, state, query);
        if (ids.length === 0) return [];
        const rows = await select<{ id: string; doc: T }>(
          `SELECT id, doc FROM ${quoteIdentifier(state.table)} WHERE id = ANY($1::text[])`,
          [ids.map((i) => i.id)],
        );
        examined(collection, query, () => false).add(rows.length);
        return inOrder(ids, new Map(rows.map((r) => [r.id, r.doc]))) as Near<T>[];
      }),
    );
  }

  async count(collection: string, filter: Filter): Promise<number> {
    checkArgs.query(collection, filter);
    return this.call(() =>
      this.read(collection, async (state, select) => {
        if (!state.exists) {
          compileQuery(filter);
          return 0;
        }
        const exact = buildCount(state.table, filter, state.indexedFields);
        if (exact !== undefined) {
          const rows = await select<{ n: number }>(exact.sql, exact.params);
          return rows[0]?.n ?? 0;
        }
        const query = compileQuery(filter);
        const request = { table: state.table, filter, indexedFields: state.indexedFields };
        const plan = capped(buildSelect(request), (cap) => buildSelect({ ...request, cap }), {});
        const rows = await select<{ doc: Document }>(plan.sql, plan.params);
        const seen = examined(collection, {}, () => scans(plan));
        let n = 0;
        for (const { doc } of rows) {
          seen.add();
          if (query.test(doc)) n++;
        }
        return n;
      }),
    );
  }

  async countBy(
    collection: string,
    filter: Filter,
    field: string,
    options?: CountByOptions,
  ): Promise<Map<Scalar, number>> {
    const limit = checkArgs.countBy(collection, filter, field, options);
    return this.call(() =>
      this.read(collection, async (state, select) => {
        const counts = new Map<Scalar, number>();
        if (!state.exists) return counts;
        const add = (value: Scalar, n: number) => counts.set(value, (counts.get(value) ?? 0) + n);
        const grouped = buildCountBy(state.table, filter, state.indexedFields, field, limit);
        if (grouped !== undefined) {
          const rows = await select<{ value: unknown; n: number }>(grouped.sql, grouped.params);
          for (const row of rows) add(countValue(row.value, field), row.n);
          return counts;
        }
        const query = compileQuery(filter);
        const request = { table: state.table, filter, indexedFields: state.indexedFields };
        const plan = capped(buildSelect(request), (cap) => buildSelect({ ...request, cap }), {});
        const rows = await select<{ doc: Document }>(plan.sql, plan.params);
        const seen = examined(collection, {}, () => scans(plan));
        let matched = 0;
        for (const { doc } of rows) {
          seen.add();
          if (!query.test(doc)) continue;
          add(countValue(valueAt(doc, field), field), 1);
          if (limit > 0 && ++matched >= limit) break;
        }
        return counts;
      }),
    );
  }

  /**
   * One transaction. Writing each document's final state once can collide on a unique index where
   * the ops applied one after the other do not (a value moved between documents, which PostgreSQL
   * checks row by row; or another writer's insert of the same new document, committed meanwhile):
   * the batch is then rolled back to its savepoint and applied op by op, each reading what is
   * committed by then.
   */
  async write(ops: readonly WriteOp[]): Promise<void> {
    checkArgs.write(ops);
    if (ops.length === 0) return;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.call(() => this.writeOnce(ops));
        return;
      } catch (error) {
        // What this transaction saw of the schema may be rolled back.
        this.schema.forget();
        if (attempt >= WRITE_ATTEMPTS || !lostRace(error)) throw error;
      }
    }
  }

  /**
   * With the schema known, the transaction's start, the schema's version and the loads go in one
   * round trip, the writes and the commit in a second; the schema changed, the long way.
   */
  private async writeOnce(ops: readonly WriteOp[]): Promise<void> {
    const client = await this.pool.connect();
    let begun = false;
    let broken = false;
    try {
      try {
        if (this.schema.current >= 0n) {
          begun = true;
          if (await applyBatch(client, this.schema, ops, OPENING, "COMMIT")) return;
          await client.query("ROLLBACK");
          begun = false;
        }
        await client.query("BEGIN");
        begun = true;
        await this.schema.refresh(client);
        await client.query("SAVEPOINT batch");
        await applyBatch(client, this.schema, ops);
      } catch (error) {
        if (!begun || !isUniqueViolation(error)) throw error;
        await client.query("ROLLBACK TO SAVEPOINT batch");
        for (const op of ops) {
          await this.schema.refresh(client);
          await applyBatch(client, this.schema, [op]);
        }
      }
      await client.query("COMMIT");
    } catch (error) {
      if (begun)
        await client.query("ROLLBACK").catch(() => {
          broken = true;
        });
      throw error;
    } finally {
      client.release(broken);
    }
  }

  /**
   * PostgreSQL's plan of the find with sequential scans disabled: whether an index can serve it at
   * all (on a small table the planner rightly prefers a scan, which says nothing of a large one).
   */
  async explain(collection: string, filter: Filter, options?: FindOptions): Promise<QueryPlan> {
    const opts = checkArgs.find(collection, filter, options);
    return this.call(() =>
      this.read(collection, async (state) => {
        if (!state.exists) return { indexed: false, detail: `collection ${collection} does not exist` };
        const plan = buildSelect({ table: state.table, filter, indexedFields: state.indexedFields, ...opts });
        const explained = await this.transaction(async (client) => {
          await client.query("SET LOCAL enable_seqscan = off");
          const { rows } = await client.query<{ "QUERY PLAN": unknown }>(
            `EXPLAIN (FORMAT JSON) ${plan.sql}`,
            [...plan.params],
          );
          return rows[0]?.["QUERY PLAN"];
        });
        const result = interpretPgPlan(explained);
        const notes = [
          plan.exact ? undefined : "filter re-checked in memory",
          plan.sorted ? undefined : "sorted in memory",
        ].filter((n) => n !== undefined);
        return notes.length === 0 ? result : { ...result, detail: `${result.detail}; ${notes.join("; ")}` };
      }),
    );
  }

  async listCollections(): Promise<string[]> {
    return this.call(async () => {
      await this.schema.refresh(this.pool);
      return this.schema.names();
    });
  }

  async dropCollection(collection: string): Promise<void> {
    checkArgs.collection(collection);
    await this.schemaChange((client) => dropTable(client, collection));
  }

  /** The server applies the writes on its own cores: a bulk load writes through this store. */
  async openBulkLoad(): Promise<BulkLoad> {
    return bulkLoadThrough(this);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }

  /**
   * Runs a read with what this process knows of the collection, in one statement: each of the
   * read's statements is wrapped by {@link withVersion} (and prepared), so its answer carries the
   * schema's version it was read under. The answer stands when that is the version known (a collection
   * this process knows missing costs the version's read alone); else, or when the read met a table
   * another process dropped, or failed while the schema moved, the schema is read again and so is
   * the answer.
   */
  private async read<R>(
    collection: string,
    body: (state: CollectionState, select: Select) => Promise<R>,
  ): Promise<R> {
    for (let attempt = 1; ; attempt++) {
      if (this.schema.current < 0n) await this.schema.refresh(this.pool);
      const known = this.schema.current;
      let seen: bigint | undefined;
      const select: Select = async <Row>(sql: string, params: readonly unknown[]) => {
        const text = withVersion(sql);
        const { rows } = await this.pool.query<{ version: string; found: boolean | null }>({
          name: prepared(text),
          text,
          values: [...params],
        });
        const version = BigInt(rows[0]?.version ?? "0");
        if (seen === undefined || version !== known) seen = version;
        return (rows[0]?.found ? rows : []) as Row[];
      };
      let answer: R;
      try {
        answer = await body(this.schema.collection(collection), select);
      } catch (error) {
        // A table gone, or a refusal of this store's own (no such geo index, too much to examine)
        // made with what may be an old schema: read it again and retry.
        const ours = error instanceof DocumentStoreError || error instanceof WorkBudgetExceededError;
        const moved = isUndefinedTable(error) || (ours && (await this.schema.peek(this.pool)) !== known);
        if (!moved || attempt >= 2) throw error;
        this.schema.forget();
        continue;
      }
      seen ??= await this.schema.peek(this.pool);
      if (seen === known || attempt >= 2) return answer;
      this.schema.forget();
    }
  }

  private async schemaChange(change: (client: pg.PoolClient) => Promise<void>): Promise<void> {
    await this.call(async () => {
      try {
        await this.transaction(async (client) => {
          await lockSchema(client);
          await change(client);
        });
      } finally {
        this.schema.forget();
      }
    });
  }

  private transaction<R>(body: (client: pg.PoolClient) => Promise<R>): Promise<R> {
    return inTransaction(this.pool, body);
  }

  /** Runs a call, mapping every failure to the port's errors. */
  private async call<R>(body: () => Promise<R>): Promise<R> {
    if (this.closed) throw new DocumentStoreError("the document store is closed");
    try {
      return await body();
    } catch (error) {
      throw this.mapError(error);
    }
  }

  private mapError(error: unknown): Error {
    if (error instanceof DocumentStoreError || error instanceof WorkBudgetExceededError) return error;
    const code = (error as { code?: unknown }).code;
    if (isUniqueViolation(error)) {
      const constraint = (error as { constraint?: string }).constraint ?? "?";
      const index = this.schema.indexNamed(constraint) ?? (constraint.endsWith("_pkey") ? "_id" : constraint);
      return new DocumentStoreError(`duplicate key: unique index ${index} (${messageOf(error)})`, {
        cause: error,
      });
    }
    if (typeof code === "string" && UNAVAILABLE.test(code))
      return new DocumentStoreUnavailableError(
        `the PostgreSQL document store is unavailable: ${messageOf(error)}`,
        {
          cause: error,
        },
      );
    if (code === undefined && CONNECTION_LOST.test(messageOf(error)))
      return new DocumentStoreUnavailableError(
        `the PostgreSQL document store is unreachable: ${messageOf(error)}`,
        {
          cause: error,
        },
      );
    return new DocumentStoreError(messageOf(error), { cause: error });
  }
}

/**
 * SQLSTATEs that say "not now" rather than "not this": connection exceptions (08), insufficient
 * resources (53: disk full, too many connections), operator intervention (57P01-57P05: shutdown,
 * recovery), a standby's read-only transaction (25006), serialization failures and deadlocks (40);
 * and the socket errors of a server gone.
 */
const UNAVAILABLE =
  /^(08|53|57P0|25006|40001|40P01|E(CONNREFUSED|CONNRESET|PIPE|TIMEDOUT|HOSTUNREACH|NETUNREACH|AI_AGAIN|NOTFOUND))/;
const CONNECTION_LOST =
  /Connection terminated|connection error|timeout exceeded when trying to connect|Client was closed/i;

const isUndefinedTable = (error: unknown): boolean => (error as { code?: unknown })?.code === "42P01";

function isUniqueViolation(error: unknown): boolean {
  return (error as { code?: unknown })?.code === "23505";
}

/** Two writers raced (a deadlock, a schema changed under the batch): trying again decides. */
function lostRace(error: unknown): boolean {
  const cause = error instanceof Error && error.cause !== undefined ? error.cause : error;
  const code = (cause as { code?: unknown })?.code;
  // 42P01: a table dropped by another process since this one read the schema (read again, retried).
  if (code === "40001" || code === "40P01" || code === "42P01") return true;
  return code === "23505" && ((cause as { constraint?: string }).constraint ?? "").endsWith("_pkey");
}

/** Asks for at most one row more than the query may examine, when a request bounds it. */
function capped(
  plan: SelectPlan,
  withCap: (cap: number) => SelectPlan,
  page: Partial<NormalizedFindOptions>,
): SelectPlan {
  if (plan.paged) return plan;
  const { bound } = examinedBound(page, () => scans(plan));
  return Number.isFinite(bound) ? withCap(bound + 1) : plan;
}

function valueAt(doc: Readonly<Record<string, unknown>>, path: string): unknown {
  let current: unknown = doc;
  for (const segment of path.split(".")) {
    if (current === null || typeof current !== "object" || Array.isArray(current)) return null;
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
