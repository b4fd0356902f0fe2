import { DocumentStoreError, type Filter, WriteConditionFailedError, type WriteOp } from "../port.js";
import { isPlainObject } from "../validation.js";
import { columnValue, type SqlValue } from "./sql-translation.js";
import { compileQuery, select } from "./sqlite-reads.js";
import type { CollectionState, Column, SqliteSchema } from "./sqlite-schema.js";
import { applyUpdate, type MutableDocument, replacementDocument } from "./update-semantics.js";

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

/** Applies the ops in memory, one load per touched document, then writes each changed document once. */
export function applyBatch(schema: SqliteSchema, ops: readonly WriteOp[]): void {
  const touched = new Map<string, Touched>();
  for (const op of ops) {
    let t = touched.get(op.collection);
    if (t === undefined) {
      t = { state: schema.collection(op.collection), ids: new Set(), pending: new Map() };
      touched.set(op.collection, t);
    }
    if (op.op !== "deleteMany") t.ids.add(op.id);
    // Every stored document the filter matches is loaded; those the batch's earlier ops make match are anyway.
    else if (t.state.exists)
      for (const doc of select(schema, t.state, op.filter, { sort: undefined, skip: 0, limit: 0 }))
        t.ids.add(doc._id);
  }
  for (const t of touched.values()) loadTouched(schema, t);
  for (const op of ops) applyWrite((touched.get(op.collection) as Touched).pending, op);
  for (const { state, pending } of touched.values()) {
    for (const p of pending.values()) if (p.dirty) storeDocument(schema, state, p);
  }
}

/**
 * Whether `doc` matches a write's condition (`if`). A condition of top-level equalities to
 * strings, booleans and numbers, met by the document's scalar fields, is answered field by field:
 * the lease fence every processor's batch carries (`{ owner, epoch }`, projections/runtime/
 * leases.ts) is one, and building mingo's Query for it (its operator tables copied per Query,
 * ~17 µs) was a fifth of an idle batch's write() (issue 50). Anything else (an operator, a dotted
 * path, null, an array or an embedded document on either side, NaN) is mingo's to answer, as before.
 */
export function conditionHolds(filter: Filter, doc: Readonly<Record<string, unknown>>): boolean {
  for (const key in filter) {
    const want = filter[key];
    const have = doc[key];
    const wantScalar =
      typeof want === "string" ||
      typeof want === "boolean" ||
      (typeof want === "number" && !Number.isNaN(want));
    if (
      !wantScalar ||
      key.startsWith("$") ||
      key.includes(".") ||
      (typeof have === "object" && have !== null)
    )
      return compileQuery(filter).test(doc);
  }
  for (const key in filter) if (doc[key] !== filter[key]) return false;
  return true;
}

/** Writes one changed document (or deletes it): its JSON and the columns that changed. */
function storeDocument(schema: SqliteSchema, state: CollectionState, p: Pending): void {
  if (p.doc === null) {
    if (p.existed) schema.statementsOf(state).remove.run(p.id);
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
    schema.ensureTable(state);
    const values: SqlValue[] = [p.id, json];
    for (const column of columns) values.push(columnValue(p.doc, column.segments));
    schema.statementsOf(state).insert.run(...values);
    return;
  }
  if (p.stored === undefined) {
    schema.statementsOf(state).update.run(json, p.id);
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
    schema.statementsOf(state).update.run(json, p.id);
    return;
  }
  values.push(p.id);
  schema.updateStatement(state, changed).run(...values);
}

/**
 * Loads every document of `t.ids` into `t.pending`, with one query for the collection (ids
 * passed as one JSON array) instead of one lookup per document: in a rebuild's fresh
 * collections most lookups find nothing, and each round trip into SQLite costs more than the
 * index probe itself. A batch touching a single document keeps the plain lookup.
 */
function loadTouched(schema: SqliteSchema, t: Touched): void {
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
  const statements = schema.statementsOf(state);
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
 * Whether `doc` holds no array or embedded document at `segments` or above it: what the store
 * indexes. MongoDB indexes arrays element by element (multikey indexes); the embedded store does
 * not. It refuses to store a document whose indexed path holds an array or an embedded document,
 * or goes through an array, rather than answer queries on it wrongly.
 */
export function holdsScalar(doc: Readonly<Record<string, unknown>>, segments: readonly string[]): boolean {
  let current: unknown = doc;
  for (const segment of segments) {
    if (!isPlainObject(current)) return true; // missing, null or a scalar on the way: the field is missing
    current = current[segment];
    if (Array.isArray(current)) return false;
  }
  return !isPlainObject(current);
}

/**
 * One write of a batch applied to the documents it touches, loaded beforehand (`pending`, by id):
 * the store adapters that write batches themselves (embedded, PostgreSQL) share these semantics.
 */
export function applyWrite(
  pending: ReadonlyMap<string, { doc: MutableDocument | null; dirty: boolean }>,
  op: WriteOp,
): void {
  if (op.op === "deleteMany") {
    const query = compileQuery(op.filter);
    for (const p of pending.values())
      if (p.doc !== null && query.test(p.doc)) {
        p.doc = null;
        p.dirty = true;
      }
    return;
  }
  const p = pending.get(op.id) as { doc: MutableDocument | null; dirty: boolean };
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
