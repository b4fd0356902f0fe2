import type { PoolClient } from "pg";
import { compileQuery } from "../embedded/sqlite-reads.js";
import { conditionHolds, holdsScalar } from "../embedded/sqlite-writes.js";
import { applyUpdate, type MutableDocument, replacementDocument } from "../embedded/update-semantics.js";
import { DocumentStoreError, WriteConditionFailedError, type WriteOp } from "../port.js";
import { type CollectionState, createTable, lockSchema, type PgSchema } from "./pg-schema.js";
import { buildSelect, quoteIdentifier } from "./pg-sql.js";

/**
 * A write batch in one PostgreSQL transaction, with the embedded store's semantics (the same update
 * code, update-semantics.ts): the documents it touches are read once (`FOR UPDATE`: a conditional
 * op is a compare-and-set against every other writer), the ops applied in memory in order, and each
 * changed document written once: deletes, then updates, then inserts, one statement each per
 * collection.
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

export async function applyBatch(
  client: PoolClient,
  schema: PgSchema,
  ops: readonly WriteOp[],
): Promise<void> {
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
  for (const t of touched.values()) await load(client, t);
  for (const op of ops) apply(touched.get(op.collection) as Touched, op);
  for (const t of touched.values()) await store(client, t);
}

async function load(client: PoolClient, t: Touched): Promise<void> {
  if (t.state.exists && t.ids.size > 0) {
    const { rows } = await client.query<{ id: string; doc: MutableDocument }>(
      `SELECT id, doc FROM ${quoteIdentifier(t.state.table)} WHERE id = ANY($1::text[]) FOR UPDATE`,
      [[...t.ids]],
    );
    for (const row of rows) t.pending.set(row.id, { doc: row.doc, existed: true, dirty: false });
  }
  for (const id of t.ids)
    if (!t.pending.has(id)) t.pending.set(id, { doc: null, existed: false, dirty: false });
}

function apply(t: Touched, op: WriteOp): void {
  if (op.op === "deleteMany") {
    const query = compileQuery(op.filter);
    for (const p of t.pending.values())
      if (p.doc !== null && query.test(p.doc)) {
        p.doc = null;
        p.dirty = true;
      }
    return;
  }
  const p = t.pending.get(op.id) as Pending;
  switch (op.op) {
    case "update": {
      if (op.if !== undefined) {
        const matches = p.doc === null ? op.upsert === true : conditionHolds(op.if, p.doc);
        if (!matches) throw new WriteConditionFailedError(op.collection, op.id);
      }
      const outcome = applyUpdate(p.doc, op.id, op.update, op.upsert === true);
      p.doc = outcome.doc;
      if (outcome.changed) p.dirty = true;
      return;
    }
    case "replace":
      p.doc = replacementDocument(op.id, op.document);
      p.dirty = true;
      return;
    case "delete":
      if (p.doc !== null) {
        p.doc = null;
        p.dirty = true;
      }
  }
}

async function store(client: PoolClient, t: Touched): Promise<void> {
  const deletes: string[] = [];
  const updates: [string[], string[]] = [[], []];
  const inserts: [string[], string[]] = [[], []];
  const paths = [...t.state.indexedFields]
    .filter((path) => path !== "_id")
    .map((path) => ({ path, segments: path.split(".") }));
  for (const [id, p] of t.pending) {
    if (!p.dirty) continue;
    if (p.doc === null) {
      if (p.existed) deletes.push(id);
      continue;
    }
    for (const { path, segments } of paths)
      if (!holdsScalar(p.doc, segments))
        throw new DocumentStoreError(
          `${t.state.name}/${id}: field '${path}' is indexed, and the store indexes only scalar values ` +
            "(no arrays or embedded documents at or above an indexed path)",
        );
    const target = p.existed ? updates : inserts;
    target[0].push(id);
    target[1].push(JSON.stringify(p.doc));
  }
  const table = quoteIdentifier(t.state.table);
  if (deletes.length > 0) await client.query(`DELETE FROM ${table} WHERE id = ANY($1::text[])`, [deletes]);
  if (updates[0].length > 0)
    await client.query(
      `UPDATE ${table} AS t SET doc = u.doc::jsonb FROM unnest($1::text[], $2::text[]) AS u(id, doc) WHERE t.id = u.id`,
      updates,
    );
  if (inserts[0].length > 0) {
    if (!t.state.exists) {
      await lockSchema(client);
      await createTable(client, t.state.name);
    }
    await client.query(
      `INSERT INTO ${table} (id, doc) SELECT id, doc::jsonb FROM unnest($1::text[], $2::text[]) AS u(id, doc)`,
      inserts,
    );
  }
}
