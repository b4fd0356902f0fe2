import { find as mingoFind, Query } from "mingo";
import { examined } from "../bounds.js";
import { DocumentStoreError, type Filter, type Scalar, type SortSpec } from "../port.js";
import { assertFilter, type NormalizedFindOptions } from "../validation.js";
import { indexPinningAll, leadingEqualities } from "./sql-index-plans.js";
import { buildSelect, fieldExpression, quoteIdentifier } from "./sql-translation.js";
import { type CollectionState, type SqliteSchema, sqlIndexName } from "./sqlite-schema.js";
import type { MutableDocument } from "./update-semantics.js";

/** How many index entries a selectivity probe counts at most. */
const PROBE_LIMIT = 4096;

/** The SELECT a find runs (and explain explains), with the index the planner picks. */
export function selectPlan(
  schema: SqliteSchema,
  state: CollectionState,
  filter: Filter,
  opts: NormalizedFindOptions,
) {
  return buildSelect({
    table: state.table,
    filter,
    indexedFields: state.indexedFields,
    columns: state.columnFields,
    sort: opts.sort,
    skip: opts.skip,
    limit: opts.limit,
    indexedBy: chooseIndex(schema, state, filter, opts.sort),
  });
}

/** Every row: what an exact translation's rows are tested with. */
const MATCHES_ALL: Pick<Query, "test"> = { test: () => true };

/**
 * The documents of `state` matching `filter`, sorted, skipped and limited. The rows of an exact
 * translation are the matches (what paging, count and countBy in SQL rest on too), so mingo
 * compiles the filter and tests the rows only when the SQL selects a superset: that compile cost
 * as much as the rest of a small find, such as the read side's refresh of a lot's facts (issue 50).
 */
export function select(
  schema: SqliteSchema,
  state: CollectionState,
  filter: Filter,
  opts: NormalizedFindOptions,
): MutableDocument[] {
  const plan = selectPlan(schema, state, filter, opts);
  const statement = schema.statement(plan.sql);
  const seen = examined(state.name, opts, () => scans(plan));
  if (plan.paged) {
    const rows = statement.all(...plan.params) as string[];
    seen.add(rows.length);
    return rows.map((json) => JSON.parse(json));
  }
  const query = plan.exact ? MATCHES_ALL : compileQuery(filter);
  if (plan.sorted) {
    // Candidates arrive in the requested order: filter, skip and stop at the limit while streaming.
    const out: MutableDocument[] = [];
    let skipped = 0;
    for (const json of statement.iterate(...plan.params)) {
      seen.add();
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
    seen.add();
    const doc = JSON.parse(json as string) as MutableDocument;
    if (query.test(doc)) matches.push(doc);
  }
  let cursor = mingoFind<MutableDocument>(matches, {}).sort(opts.sort ?? {});
  if (opts.skip > 0) cursor = cursor.skip(opts.skip);
  if (opts.limit > 0) cursor = cursor.limit(opts.limit);
  return cursor.all();
}

/**
 * Whether a SELECT reads its table whole (issue 66): no condition of its filter narrows it through
 * `_id` or an index (only those are translated), and no LIMIT that SQLite applies in index order
 * bounds it. Decided from the query, not from SQLite's plan, whose choice for a tiny table (a scan
 * of 3 rows beats 3 seeks) says nothing of the same query on a large one.
 */
export const scans = (plan: {
  readonly narrowed: boolean;
  readonly paged: boolean;
  readonly sorted: boolean;
}) => !plan.narrowed && !(plan.paged && plan.sorted);

/**
 * When equalities lead two or more indexes (say `{ parkingLotId, status }` with indexes on
 * `{ parkingLotId, seq }` and `{ status, seq }`), counts each value's index entries (capped,
 * index-only) and forces the index of the rarest, as MongoDB's planner would find by racing
 * plans. SQLite's sampled statistics cannot tell a lot with 50 reservations from a status
 * with 500,000. Before that, an index whose leading keys pin every field the filter pins is
 * forced (indexPinningAll): it reads a slice of any of theirs. Otherwise SQLite chooses.
 */
export function chooseIndex(
  schema: SqliteSchema,
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
    const entries = schema.statement(probe).get(candidate.value, limit) as number;
    if (best === undefined || entries < best.entries) best = { name, entries };
  }
  return best?.name;
}

/** The scalar at a dotted path of a document (null when missing; objects and arrays are not grouped by). */
export function valueAt(doc: Readonly<Record<string, unknown>>, path: string): Scalar {
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

export function compileQuery(filter: Filter): Query {
  assertFilter(filter);
  try {
    return new Query(filter, { scriptEnabled: false });
  } catch (error) {
    throw new DocumentStoreError(
      `invalid filter: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
}
