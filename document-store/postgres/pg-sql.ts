/**
 * Pure SQL of the PostgreSQL document store: how a MongoDB filter and sort over jsonb documents
 * become conditions and an ORDER BY that expression indexes serve (the embedded store's
 * sql-translation.ts, for PostgreSQL).
 *
 * Every indexed field `f` is indexed as three expressions on the document, {@link keyColumns}:
 *
 *   rank  0 null or missing, 1 a number, 2 a string, 3 false, 4 true   (MongoDB's BSON type order)
 *   num   the number, else 0                                          (jsonb → numeric)
 *   text  the string, else ''  COLLATE "C"                            (byte order, as MongoDB's)
 *
 * so that an index orders the documents as MongoDB does whatever the database's collation, a range
 * stays inside its type bracket (`rank = 1 AND num > 5`), and an equality pins all three columns with
 * `=` (PostgreSQL then knows them constant, and a sort on the index's next key reads it in order).
 * A translation is a candidate set: the store re-checks every candidate with mingo unless `exact`.
 */
import type { Filter, SortSpec } from "../port.js";
import { INDEX_FIELD_PATH, isPlainObject } from "../validation.js";

export const ID = "id";

/** `'{a,b}'` for `a.b`; the path must match INDEX_FIELD_PATH (it is inlined in SQL). */
export function pathLiteral(path: string): string {
  if (!INDEX_FIELD_PATH.test(path)) throw new Error(`unsupported field path ${JSON.stringify(path)}`);
  return `'{${path.split(".").join(",")}}'`;
}

/** The jsonb value at `path` (SQL NULL when missing). */
export const jsonAt = (path: string): string => `(doc #> ${pathLiteral(path)})`;

const rank = (j: string) =>
  `(CASE jsonb_typeof(${j}) WHEN 'number' THEN 1 WHEN 'string' THEN 2 ` +
  `WHEN 'boolean' THEN (CASE WHEN ${j} = 'true'::jsonb THEN 4 ELSE 3 END) ELSE 0 END)`;
const num = (j: string) => `(CASE WHEN jsonb_typeof(${j}) = 'number' THEN (${j})::numeric ELSE 0 END)`;
const text = (path: string, j: string) =>
  `((CASE WHEN jsonb_typeof(${j}) = 'string' THEN (doc #>> ${pathLiteral(path)}) ELSE '' END) COLLATE "C")`;

export interface KeyColumns {
  readonly rank: string;
  readonly num: string;
  readonly text: string;
}

/** The three expressions an index on `path` is built on; queries use the very same text. */
export function keyColumns(path: string): KeyColumns {
  const j = jsonAt(path);
  return { rank: rank(j), num: num(j), text: text(path, j) };
}

/** The terms of an index's key list or of an ORDER BY (`ASC` spelled out for a sort). */
function keyTerms(keys: Readonly<Record<string, 1 | -1>>, asc: string): string {
  return Object.entries(keys)
    .flatMap(([path, direction]) => {
      const dir = direction === -1 ? " DESC" : asc;
      if (path === "_id") return [`${ID}${dir}`];
      const k = keyColumns(path);
      return [`${k.rank}${dir}`, `${k.num}${dir}`, `${k.text}${dir}`];
    })
    .join(", ");
}

/** The key list of `CREATE INDEX … ON table (<here>)`. */
export const indexColumns = (keys: Readonly<Record<string, 1 | -1>>): string => keyTerms(keys, "");

type Scalar = string | number | boolean;
const isScalar = (v: unknown): v is Scalar =>
  typeof v === "string" || typeof v === "boolean" || (typeof v === "number" && Number.isFinite(v));

/** Conditions and their parameters, numbered `$n` from `offset + 1`. */
export class SqlParams {
  readonly values: unknown[] = [];
  constructor(private readonly offset = 0) {}
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.offset + this.values.length}`;
  }
}

const RANGE_SQL: Readonly<Record<string, string>> = { $gt: ">", $gte: ">=", $lt: "<", $lte: "<=" };

/** `path` equal to a scalar (or null: null or missing), all three columns pinned. */
function equalTo(p: SqlParams, path: string, value: Scalar | null): string {
  const k = keyColumns(path);
  if (value === null) return `${k.rank} = 0 AND ${k.num} = 0 AND ${k.text} = ''`;
  if (typeof value === "boolean") return `${k.rank} = ${value ? 4 : 3} AND ${k.num} = 0 AND ${k.text} = ''`;
  if (typeof value === "number")
    return `${k.rank} = 1 AND ${k.num} = ${p.add(value)}::numeric AND ${k.text} = ''`;
  return `${k.rank} = 2 AND ${k.num} = 0 AND ${k.text} = ${p.add(value)}::text`;
}

function inList(p: SqlParams, path: string, values: readonly Scalar[]): string {
  const k = keyColumns(path);
  const strings = values.filter((v) => typeof v === "string");
  const numbers = values.filter((v) => typeof v === "number");
  const booleans = [...new Set(values.filter((v) => typeof v === "boolean").map((v) => (v ? 4 : 3)))];
  const parts: string[] = [];
  if (strings.length > 0)
    parts.push(`(${k.rank} = 2 AND ${k.num} = 0 AND ${k.text} = ANY(${p.add(strings)}::text[]))`);
  if (numbers.length > 0)
    parts.push(`(${k.rank} = 1 AND ${k.num} = ANY(${p.add(numbers)}::numeric[]) AND ${k.text} = '')`);
  if (booleans.length > 0)
    parts.push(`(${k.rank} IN (${booleans.join(", ")}) AND ${k.num} = 0 AND ${k.text} = '')`);
  return parts.length === 1 ? (parts[0] as string) : `(${parts.join(" OR ")})`;
}

/** Translates the conditions on one field; returns false when (part of) it was not translated. */
function translateCondition(out: string[], p: SqlParams, path: string, condition: unknown): boolean {
  const isId = path === "_id";
  const equality = (value: unknown): boolean => {
    if (isId) {
      if (typeof value !== "string") return false; // _id is a string here: other types match nothing, mingo says so
      out.push(`${ID} = ${p.add(value)}::text`);
      return true;
    }
    if (value !== null && !isScalar(value)) return false;
    out.push(equalTo(p, path, value));
    return true;
  };
  if (!isPlainObject(condition)) return equality(condition);
  const operators = Object.keys(condition);
  if (operators.length === 0 || !operators.every((k) => k.startsWith("$"))) return false;
  let complete = true;
  for (const operator of operators) {
    const value = condition[operator];
    if (operator === "$eq") complete = equality(value) && complete;
    else if (operator in RANGE_SQL) {
      const op = RANGE_SQL[operator] as string;
      if (isId) {
        if (typeof value === "string") out.push(`${ID} ${op} ${p.add(value)}::text`);
        else complete = false;
      } else if (typeof value === "number" && Number.isFinite(value)) {
        const k = keyColumns(path);
        out.push(`${k.rank} = 1 AND ${k.num} ${op} ${p.add(value)}::numeric`);
      } else if (typeof value === "string") {
        const k = keyColumns(path);
        out.push(`${k.rank} = 2 AND ${k.num} = 0 AND ${k.text} ${op} ${p.add(value)}::text`);
      } else complete = false;
    } else if (operator === "$in") {
      if (!Array.isArray(value) || value.length === 0) complete = false;
      else if (isId) {
        if (value.every((v) => typeof v === "string")) out.push(`${ID} = ANY(${p.add(value)}::text[])`);
        else complete = false;
      } else if (value.every(isScalar)) out.push(inList(p, path, value));
      else complete = false;
    } else complete = false;
  }
  return complete;
}

export interface SqlFilter {
  readonly clauses: readonly string[];
  /** The clauses select exactly the documents the filter matches. */
  readonly exact: boolean;
}

/**
 * The conditions of `filter` on `_id` and on indexed fields as SQL conjuncts (parameters added to
 * `p`): a superset of the matching documents, exactly them when `exact`. Conditions on other fields
 * are left to mingo, as in the embedded store: only indexed paths are known to hold scalars.
 */
export function translateFilter(p: SqlParams, filter: Filter, indexedFields: ReadonlySet<string>): SqlFilter {
  const clauses: string[] = [];
  let exact = true;
  const into = (part: Filter): void => {
    for (const [key, condition] of Object.entries(part)) {
      if (
        key === "$and" &&
        Array.isArray(condition) &&
        condition.length > 0 &&
        condition.every(isPlainObject)
      ) {
        for (const sub of condition) into(sub);
        continue;
      }
      if (key.startsWith("$") || (key !== "_id" && !indexedFields.has(key))) {
        exact = false;
        continue;
      }
      if (!translateCondition(clauses, p, key, condition)) exact = false;
    }
  };
  into(filter);
  return { clauses, exact };
}

/** `ORDER BY` terms for `sort` when every key is `_id` or an indexed field, else undefined. */
export function translateSort(
  sort: SortSpec | undefined,
  indexedFields: ReadonlySet<string>,
): string | undefined {
  if (sort === undefined) return undefined;
  const entries = Object.entries(sort);
  if (entries.length === 0 || !entries.every(([path]) => path === "_id" || indexedFields.has(path)))
    return undefined;
  return keyTerms(sort, " ASC");
}

export interface SelectPlan {
  readonly sql: string;
  readonly params: readonly unknown[];
  readonly exact: boolean;
  readonly sorted: boolean;
  readonly paged: boolean;
  readonly narrowed: boolean;
}

export interface SelectRequest {
  readonly table: string;
  readonly filter: Filter;
  readonly indexedFields: ReadonlySet<string>;
  readonly sort?: SortSpec | undefined;
  readonly skip?: number;
  readonly limit?: number;
  /** At most this many rows (a request's bound on what the query may examine, plus one). */
  readonly cap?: number | undefined;
  /** What to select (default: the document). */
  readonly columns?: string;
  /** Appended to the statement (`FOR UPDATE` in a write). */
  readonly suffix?: string;
}

export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** The SELECT of a find (what explain explains too). */
export function buildSelect(request: SelectRequest): SelectPlan {
  const p = new SqlParams();
  const where = translateFilter(p, request.filter, request.indexedFields);
  const orderBy = translateSort(request.sort, request.indexedFields);
  const sorted = request.sort === undefined || orderBy !== undefined;
  const skip = request.skip ?? 0;
  const limit = request.limit ?? 0;
  const paged = where.exact && sorted && (skip > 0 || limit > 0);
  let sql = `SELECT ${request.columns ?? "doc"} FROM ${quoteIdentifier(request.table)}`;
  if (where.clauses.length > 0) sql += ` WHERE ${where.clauses.join(" AND ")}`;
  if (orderBy !== undefined) sql += ` ORDER BY ${orderBy}`;
  if (paged) {
    if (limit > 0) sql += ` LIMIT ${p.add(limit)}`;
    if (skip > 0) sql += ` OFFSET ${p.add(skip)}`;
  } else if (request.cap !== undefined && Number.isFinite(request.cap)) {
    sql += ` LIMIT ${p.add(request.cap)}`;
  }
  if (request.suffix !== undefined) sql += ` ${request.suffix}`;
  return { sql, params: p.values, exact: where.exact, sorted, paged, narrowed: where.clauses.length > 0 };
}

/** count(*) when the filter translates exactly, else undefined (count in memory). */
export function buildCount(
  table: string,
  filter: Filter,
  indexedFields: ReadonlySet<string>,
): { sql: string; params: readonly unknown[] } | undefined {
  const p = new SqlParams();
  const where = translateFilter(p, filter, indexedFields);
  if (!where.exact) return undefined;
  let sql = `SELECT count(*)::int AS n FROM ${quoteIdentifier(table)}`;
  if (where.clauses.length > 0) sql += ` WHERE ${where.clauses.join(" AND ")}`;
  return { sql, params: p.values };
}

/** The grouped count of countBy when the filter translates exactly (at most `limit` matches), else undefined. */
export function buildCountBy(
  table: string,
  filter: Filter,
  indexedFields: ReadonlySet<string>,
  field: string,
  limit: number,
): { sql: string; params: readonly unknown[] } | undefined {
  const p = new SqlParams();
  const where = translateFilter(p, filter, indexedFields);
  if (!where.exact) return undefined;
  const value = field === "_id" ? `to_jsonb(${ID})` : jsonAt(field);
  let inner = `SELECT ${value} AS value FROM ${quoteIdentifier(table)}`;
  if (where.clauses.length > 0) inner += ` WHERE ${where.clauses.join(" AND ")}`;
  if (limit > 0) inner += ` LIMIT ${p.add(limit)}`;
  return {
    sql: `SELECT value, count(*)::int AS n FROM (${inner}) AS matches GROUP BY value`,
    params: p.values,
  };
}
