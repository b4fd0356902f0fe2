/**
 * Pure helpers of the embedded store's planner: which part of a MongoDB filter and sort can be
 * handed to SQLite so it uses an index, and how to read SQLite's EXPLAIN QUERY PLAN.
 *
 * Every indexed field is stored in SQLite indexes through one expression, {@link fieldExpression}:
 *
 *   CASE json_type(doc,'$.f') WHEN 'true' THEN x'01' WHEN 'false' THEN x'00' ELSE json_extract(doc,'$.f') END
 *
 * or, in a collection that keeps its indexed fields in columns, the column `"f:f"` holding that
 * very value, computed from the JavaScript document on every write ({@link columnValue}), so that
 * neither an index build nor an index update parses the JSON text.
 *
 * For the values the embedded store allows at indexed paths (missing, null, numbers, strings,
 * booleans; see `holdsScalar` in sqlite-writes.ts) this expression orders like MongoDB's BSON order:
 * SQLite orders NULL < numbers < text < blob, MongoDB null/missing < numbers < strings < booleans,
 * and false < true. So an equality, a range or a sort on it means in SQL what it means in MongoDB,
 * provided the ranges are kept inside their type bracket (MongoDB's `$gt: 5` never matches a
 * string): numbers sit below `''` (the smallest text) and strings below `x''` (the smallest blob).
 *
 * The translation is a candidate set: the store always re-checks every candidate with mingo.
 * `exact` says the SQL selects exactly the matching documents, which is when the store may push
 * LIMIT/OFFSET and count(*) into SQL.
 */
import type { Filter, SortSpec } from "../port.js";
import { INDEX_FIELD_PATH, isPlainObject } from "../validation.js";

export type SqlValue = string | number | Buffer | null;

export interface SqlFilter {
  /** Conjuncts of the WHERE clause, empty when nothing could be translated. */
  readonly clauses: readonly string[];
  readonly params: readonly SqlValue[];
  /** The clauses select exactly the documents the filter matches. */
  readonly exact: boolean;
}

export const ID_COLUMN = "id";

const TRUE_BLOB = Buffer.from([1]);
const FALSE_BLOB = Buffer.from([0]);

/** `$.a.b` for `a.b`; the path must match INDEX_FIELD_PATH (it is inlined in SQL). */
export function jsonPath(path: string): string {
  if (!INDEX_FIELD_PATH.test(path)) throw new Error(`unsupported field path ${JSON.stringify(path)}`);
  return `$.${path}`;
}

/** The column that holds the value of `path` in a collection that keeps it in a column. */
export function columnName(path: string): string {
  jsonPath(path); // validates the path
  return quoteIdentifier(`${COLUMN_PREFIX}${path}`);
}

/** Columns named `f:<path>` hold the values of indexed fields. */
export const COLUMN_PREFIX = "f:";

/**
 * The SQL expression an index on `path` is built on; queries must use the very same text to use
 * it: `path`'s column when the collection has one (`columns`), else the expression on the JSON.
 */
export function fieldExpression(path: string, columns?: ReadonlySet<string>): string {
  if (path === "_id") return ID_COLUMN;
  if (columns?.has(path)) return columnName(path);
  return jsonFieldExpression(path);
}

/** The value of `path` from the JSON text, as an index orders it (what a column is filled with). */
export function jsonFieldExpression(path: string): string {
  const p = jsonPath(path);
  return `(CASE json_type(doc,'${p}') WHEN 'true' THEN x'01' WHEN 'false' THEN x'00' ELSE json_extract(doc,'${p}') END)`;
}

/** The key list of `CREATE INDEX … ON table (<here>)`. */
export function indexColumns(keys: Readonly<Record<string, 1 | -1>>, columns?: ReadonlySet<string>): string {
  return Object.entries(keys)
    .map(([path, direction]) => `${fieldExpression(path, columns)}${direction === -1 ? " DESC" : ""}`)
    .join(", ");
}

/**
 * The value {@link jsonFieldExpression} gives for `path` (split in `segments`) in the JSON of
 * `doc`, computed from the object itself: NULL when missing or null (or below a scalar), a blob
 * for booleans, else the number or string. Only for documents that passed
 * `holdsScalar` (sqlite-writes.ts) on the path (no arrays or embedded documents there).
 */
export function columnValue(doc: Readonly<Record<string, unknown>>, segments: readonly string[]): SqlValue {
  let current: unknown = doc;
  for (const segment of segments) {
    if (current === null || typeof current !== "object") return null;
    current = (current as Record<string, unknown>)[segment];
  }
  switch (typeof current) {
    case "string":
      return current;
    case "number":
      // JSON has no NaN or infinities: JSON.stringify writes null, which reads back as NULL.
      return Number.isFinite(current) ? current : null;
    case "boolean":
      return current ? TRUE_BLOB : FALSE_BLOB;
    default:
      return null;
  }
}

export type Scalar = string | number | boolean;

export function isTranslatableScalar(value: unknown): value is Scalar {
  return (
    typeof value === "string" ||
    typeof value === "boolean" ||
    (typeof value === "number" && Number.isFinite(value))
  );
}

export function sqlValue(value: Scalar): SqlValue {
  if (typeof value === "boolean") return value ? TRUE_BLOB : FALSE_BLOB;
  return value;
}

class Builder {
  readonly clauses: string[] = [];
  readonly params: SqlValue[] = [];
  exact = true;

  constructor(readonly columns: ReadonlySet<string> | undefined) {}

  add(clause: string, ...params: SqlValue[]): void {
    this.clauses.push(clause);
    this.params.push(...params);
  }
}

/** Up to this many `$in` values are bound one parameter each; more go as one JSON array. */
const MAX_LISTED_IN = 500;

const RANGE_SQL: Readonly<Record<string, string>> = { $gt: ">", $gte: ">=", $lt: "<", $lte: "<=" };

/** Translates `expr IN value`; returns false when it was not translated (mingo decides). */
function translateIn(b: Builder, expr: string, value: unknown, isId: boolean): boolean {
  if (
    !Array.isArray(value) ||
    value.length === 0 ||
    !value.every((v) => (isId ? typeof v === "string" : isTranslatableScalar(v)))
  ) {
    return false;
  }
  if (value.length <= MAX_LISTED_IN) {
    b.add(`${expr} IN (${value.map(() => "?").join(", ")})`, ...value.map((v: Scalar) => sqlValue(v)));
    return true;
  }
  // A long list is one JSON parameter, still one index seek per value (issue 66: past 500 values
  // the read became a scan of the whole collection). Strings and numbers read back from JSON as
  // they are stored; booleans (blobs here) would not.
  if (value.some((v) => typeof v === "boolean")) return false;
  b.add(`${expr} IN (SELECT value FROM json_each(?))`, JSON.stringify(value));
  return true;
}

/** Translates the conditions on one field; returns false when (part of) it was not translated. */
function translateCondition(b: Builder, path: string, condition: unknown): boolean {
  const isId = path === "_id";
  const expr = fieldExpression(path, b.columns);
  const equality = (value: unknown): boolean => {
    if (isId) {
      // _id is always a string in this project: other types match nothing in MongoDB, leave them to mingo.
      if (typeof value !== "string") return false;
      b.add(`${expr} = ?`, value);
      return true;
    }
    if (value === null) {
      // MongoDB's { f: null } matches null and missing; both are NULL here (arrays are not allowed at indexed paths).
      b.add(`${expr} IS NULL`);
      return true;
    }
    if (!isTranslatableScalar(value)) return false;
    b.add(`${expr} = ?`, sqlValue(value));
    return true;
  };

  if (!isPlainObject(condition)) return equality(condition);
  const operators = Object.keys(condition);
  if (operators.length === 0 || !operators.every((k) => k.startsWith("$"))) {
    // An embedded-document equality ({ f: { a: 1 } }): never true for scalar-only indexed paths, mingo decides.
    return false;
  }
  let complete = true;
  // A range bounded on both sides by values of one type is inside that type's bracket already: the
  // bracket's own bound would then compete with the real one for the index range (SQLite takes one
  // upper and one lower bound), and it is left out.
  const boundedBy = (ops: readonly string[], type: "string" | "number") =>
    ops.some((op) => typeof condition[op] === type && (type === "string" || Number.isFinite(condition[op])));
  const below = (type: "string" | "number") => boundedBy(["$lt", "$lte"], type);
  const above = (type: "string" | "number") => boundedBy(["$gt", "$gte"], type);
  for (const operator of operators) {
    const value = condition[operator];
    if (operator === "$eq") {
      complete = equality(value) && complete;
    } else if (operator in RANGE_SQL) {
      const sqlOp = RANGE_SQL[operator]!;
      if (typeof value === "number" && Number.isFinite(value)) {
        if (isId) {
          complete = false;
          continue;
        }
        b.add(`${expr} ${sqlOp} ?`, value);
        // Numbers sort below every text value: keep the range among numbers.
        if ((sqlOp === ">" || sqlOp === ">=") && !below("number")) b.add(`${expr} < ''`);
      } else if (typeof value === "string") {
        b.add(`${expr} ${sqlOp} ?`, value);
        if (!isId) {
          // Strings sit between numbers and blobs (booleans): keep the range among strings.
          if (sqlOp === "<" || sqlOp === "<=") {
            if (!above("string")) b.add(`${expr} >= ''`);
          } else if (!below("string")) b.add(`${expr} < x''`);
        }
      } else {
        complete = false;
      }
    } else if (operator === "$in") {
      complete = translateIn(b, expr, value, isId) && complete;
    } else {
      complete = false;
    }
  }
  return complete;
}

function translateInto(b: Builder, filter: Filter, indexedFields: ReadonlySet<string>): void {
  for (const [key, condition] of Object.entries(filter)) {
    if (
      key === "$and" &&
      Array.isArray(condition) &&
      condition.length > 0 &&
      condition.every(isPlainObject)
    ) {
      for (const part of condition) translateInto(b, part, indexedFields);
      continue;
    }
    if (key.startsWith("$") || (key !== "_id" && !indexedFields.has(key))) {
      b.exact = false;
      continue;
    }
    if (!translateCondition(b, key, condition)) b.exact = false;
  }
}

/**
 * Translates the conditions of `filter` on `_id` and on indexed fields into SQL conjuncts. The
 * result selects a superset of the matching documents, exactly them when `exact`.
 */
export function translateFilter(
  filter: Filter,
  indexedFields: ReadonlySet<string>,
  columns?: ReadonlySet<string>,
): SqlFilter {
  const b = new Builder(columns);
  translateInto(b, filter, indexedFields);
  return { clauses: b.clauses, params: b.params, exact: b.exact };
}

/** `ORDER BY` terms for `sort` when every sort key is `_id` or an indexed field, else undefined. */
export function translateSort(
  sort: SortSpec | undefined,
  indexedFields: ReadonlySet<string>,
  columns?: ReadonlySet<string>,
): string | undefined {
  if (sort === undefined) return undefined;
  const entries = Object.entries(sort);
  if (entries.length === 0) return undefined;
  if (!entries.every(([path]) => path === "_id" || indexedFields.has(path))) return undefined;
  return entries
    .map(([path, direction]) => `${fieldExpression(path, columns)} ${direction === -1 ? "DESC" : "ASC"}`)
    .join(", ");
}

export interface SelectPlan {
  readonly sql: string;
  readonly params: readonly SqlValue[];
  /** The filter was fully translated: SQL rows are exactly the matches. */
  readonly exact: boolean;
  /** ORDER BY gives the requested sort; otherwise the store sorts in memory. */
  readonly sorted: boolean;
  /** LIMIT/OFFSET are in the SQL: the rows are the final page. */
  readonly paged: boolean;
  /** Some condition on `_id` or an indexed field narrows the rows read (else: the whole table). */
  readonly narrowed: boolean;
}

export interface SelectRequest {
  readonly table: string;
  readonly filter: Filter;
  readonly indexedFields: ReadonlySet<string>;
  /** The fields the collection keeps in columns. */
  readonly columns?: ReadonlySet<string> | undefined;
  readonly sort?: SortSpec | undefined;
  readonly skip?: number;
  /** 0 or undefined: no limit. */
  readonly limit?: number;
  /** Push LIMIT/OFFSET into SQL when that is exact (default true). */
  readonly allowPaging?: boolean;
  /** Force this SQLite index (`INDEXED BY`), chosen by the store when several could serve the filter. */
  readonly indexedBy?: string | undefined;
}

export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** The SELECT the store runs for a find (also what explain explains). */
export function buildSelect(request: SelectRequest): SelectPlan {
  const where = translateFilter(request.filter, request.indexedFields, request.columns);
  const orderBy = translateSort(request.sort, request.indexedFields, request.columns);
  const sorted = request.sort === undefined || orderBy !== undefined;
  const skip = request.skip ?? 0;
  const limit = request.limit ?? 0;
  const paged = (request.allowPaging ?? true) && where.exact && sorted && (skip > 0 || limit > 0);
  let sql = `SELECT doc FROM ${quoteIdentifier(request.table)}`;
  if (request.indexedBy !== undefined) sql += ` INDEXED BY ${quoteIdentifier(request.indexedBy)}`;
  if (where.clauses.length > 0) sql += ` WHERE ${where.clauses.join(" AND ")}`;
  if (orderBy !== undefined) sql += ` ORDER BY ${orderBy}`;
  const params = [...where.params];
  if (paged) {
    sql += " LIMIT ? OFFSET ?";
    params.push(limit > 0 ? limit : -1, skip);
  }
  return { sql, params, exact: where.exact, sorted, paged, narrowed: where.clauses.length > 0 };
}

/** The SELECT count(*) when the filter translates exactly, else undefined (count in memory). */
export function buildCount(
  table: string,
  filter: Filter,
  indexedFields: ReadonlySet<string>,
  indexedBy?: string,
  columns?: ReadonlySet<string>,
): { sql: string; params: readonly SqlValue[] } | undefined {
  const where = translateFilter(filter, indexedFields, columns);
  if (!where.exact) return undefined;
  let sql = `SELECT count(*) FROM ${quoteIdentifier(table)}`;
  if (indexedBy !== undefined) sql += ` INDEXED BY ${quoteIdentifier(indexedBy)}`;
  if (where.clauses.length > 0) sql += ` WHERE ${where.clauses.join(" AND ")}`;
  return { sql, params: where.params };
}

/**
 * The grouped count of countBy when the filter translates exactly, else undefined (count in
 * memory): each match's value of `field` (at most `limit` matches when limit > 0), counted per value.
 */
export function buildCountBy(
  table: string,
  filter: Filter,
  indexedFields: ReadonlySet<string>,
  field: string,
  limit: number,
  indexedBy?: string,
  columns?: ReadonlySet<string>,
): { sql: string; params: readonly SqlValue[] } | undefined {
  const where = translateFilter(filter, indexedFields, columns);
  if (!where.exact) return undefined;
  let inner = `SELECT ${fieldExpression(field, columns)} AS value FROM ${quoteIdentifier(table)}`;
  if (indexedBy !== undefined) inner += ` INDEXED BY ${quoteIdentifier(indexedBy)}`;
  if (where.clauses.length > 0) inner += ` WHERE ${where.clauses.join(" AND ")}`;
  const params = [...where.params];
  if (limit > 0) {
    inner += " LIMIT ?";
    params.push(limit);
  }
  return { sql: `SELECT value, count(*) AS n FROM (${inner}) GROUP BY value`, params };
}

/** A value of an indexed field as SQL returns it, back in the document's terms (booleans are blobs). */
export function fromSqlValue(value: SqlValue): string | number | boolean | null {
  if (Buffer.isBuffer(value)) return value.length === 1 && value[0] === 1;
  return value;
}
