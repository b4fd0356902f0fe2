import pg from "pg";
import { applyWrite, holdsScalar } from "../embedded/sqlite-writes.js";
import type { MutableDocument } from "../embedded/update-semantics.js";
import { DocumentStoreError, type WriteOp } from "../port.js";
import { type CollectionState, createTable, lockSchema, type PgSchema } from "./pg-schema.js";
import { buildSelect, quoteIdentifier } from "./pg-sql.js";

/**
 * A write batch in one PostgreSQL transaction, with the embedded store's semantics (the same update
 * code, update-semantics.ts): the documents it touches are read once (`FOR UPDATE`: a conditional
 * op is a compare-and-set against every other writer), the ops applied in memory in order, and each
 * changed document written once: deletes, then updates, then inserts, one statement each per
 * collection. The loads of every collection go in one round trip, the writes in another (statements
 * of literals quoted by pg's escapeLiteral): a batch touches ~8 collections, and a round trip to the
 * server costs more than its statement.
 */
interface Pending {
  doc: MutableDocument | null;
  readonly existed: boolean;
  dirty: boolean;
}

interface Touched {
  readonly state: CollectionState;
  readonly ids: Set<string>;
  readonly pending: Map<string, Pending>;
}

/**
 * Applies the batch in the caller's transaction. With `opening` (statements that start the
 * transaction and read the schema's version, sent with the loads in one round trip), returns false
 * without writing when that version is not the one `schema` knows: the caller rolls back and goes
 * the long way (refresh, then this without `opening`). `closing` (the commit) is sent with the
 * writes; a failing statement stops the round trip before it.
 */
export async function applyBatch(
  client: pg.PoolClient,
  schema: PgSchema,
  ops: readonly WriteOp[],
  opening?: string,
  closing?: string,
): Promise<boolean> {
  const touched = new Map<string, Touched>();
  for (const op of ops) {
    let t = touched.get(op.collection);
    if (t === undefined) {
      t = { state: schema.collection(op.collection), ids: new Set(), pending: new Map() };
      touched.set(op.collection, t);
    }
    if (op.op !== "deleteMany") t.ids.add(op.id);
    else if (t.state.exists) {
      const plan = buildSelect({
        table: t.state.table,
        filter: op.filter,
        indexedFields: t.state.indexedFields,
        columns: "id",
      });
      const { rows } = await client.query<{ id: string }>(plan.sql, [...plan.params]);
      for (const row of rows) t.ids.add(row.id);
    }
  }
  const loads = [...touched.values()].filter((t) => t.state.exists && t.ids.size > 0);
  const selects = loads.map(
    (t) =>
      `SELECT id, doc FROM ${quoteIdentifier(t.state.table)} WHERE id IN (${[...t.ids].map(literal).join(", ")}) FOR UPDATE`,
  );
  const results = await multi(client, [...(opening === undefined ? [] : [opening]), ...selects]);
  if (opening !== undefined) {
    const version = results.find((r) => r.fields[0]?.name === "version")?.rows[0]?.version;
    if (version === undefined || BigInt(version) !== schema.current) return false;
  }
  const loaded = results.slice(results.length - loads.length);
  loads.forEach((t, k) => {
    for (const row of loaded[k]?.rows ?? [])
      t.pending.set(row.id, { doc: row.doc as MutableDocument, existed: true, dirty: false });
  });
  for (const t of touched.values())
    for (const id of t.ids)
      if (!t.pending.has(id)) t.pending.set(id, { doc: null, existed: false, dirty: false });
  for (const op of ops) applyWrite((touched.get(op.collection) as Touched).pending, op);
  const writes: string[] = [];
  for (const t of touched.values()) {
    const statements = writeStatements(t);
    if (statements.creates && !t.state.exists) {
      await lockSchema(client);
      await createTable(client, t.state.name);
    }
    writes.push(...statements.sql);
  }
  await multi(client, closing === undefined ? writes : [...writes, closing]);
  return true;
}

const literal = (value: string): string => pg.escapeLiteral(value);

/** Runs statements in one round trip (a simple query); one result per statement. */
async function multi(client: pg.PoolClient, statements: readonly string[]): Promise<pg.QueryResult[]> {
  if (statements.length === 0) return [];
  const result = (await client.query(statements.join(";\n"))) as pg.QueryResult | pg.QueryResult[];
  return Array.isArray(result) ? result : [result];
}

/** The statements that write one collection's changed documents; `creates` when some are new. */
function writeStatements(t: Touched): { sql: string[]; creates: boolean } {
  const deletes: string[] = [];
  const updates: string[] = [];
  const inserts: string[] = [];
  const paths = [...t.state.indexedFields]
    .filter((path) => path !== "_id")
    .map((path) => ({ path, segments: path.split(".") }));
  for (const [id, p] of t.pending) {
    if (!p.dirty) continue;
    if (p.doc === null) {
      if (p.existed) deletes.push(literal(id));
      continue;
    }
    for (const { path, segments } of paths)
      if (!holdsScalar(p.doc, segments))
        throw new DocumentStoreError(
          `${t.state.name}/${id}: field '${path}' is indexed, and the store indexes only scalar values ` +
            "(no arrays or embedded documents at or above an indexed path)",
        );
    (p.existed ? updates : inserts).push(`(${literal(id)}, ${literal(JSON.stringify(p.doc))}::jsonb)`);
  }
  const table = quoteIdentifier(t.state.table);
  const sql: string[] = [];
  if (deletes.length > 0) sql.push(`DELETE FROM ${table} WHERE id IN (${deletes.join(", ")})`);
  if (updates.length > 0)
    sql.push(
      `UPDATE ${table} AS t SET doc = u.doc FROM (VALUES ${updates.join(", ")}) AS u(id, doc) WHERE t.id = u.id`,
    );
  if (inserts.length > 0) sql.push(`INSERT INTO ${table} (id, doc) VALUES ${inserts.join(", ")}`);
  return { sql, creates: inserts.length > 0 };
}
