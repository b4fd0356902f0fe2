/**
 * Which index a find should use, and what SQLite said it used: the equalities a filter pins, the
 * index that pins the most of them, EXPLAIN QUERY PLAN read back into the port's terms. Pure, like
 * the translation of filters and sorts beside it (sql-translation.ts).
 */
import type { Filter, IndexSpec, QueryPlan, SortSpec } from "../port.js";
import { isPlainObject } from "../validation.js";
import { isTranslatableScalar, type Scalar, type SqlValue, sqlValue } from "./sql-translation.js";

/** A field compared for equality with a value an index can look up. */
export interface LeadingEquality {
  readonly field: string;
  readonly value: SqlValue;
  /** The indexes whose first key is `field`, best first for this filter and sort. */
  readonly indexes: readonly IndexSpec[];
}

function equalityValue(condition: unknown): SqlValue | undefined {
  if (isPlainObject(condition)) {
    const keys = Object.keys(condition);
    if (keys.length === 0 || !keys.every((k) => k.startsWith("$"))) return undefined;
    return "$eq" in condition ? equalityValue(condition.$eq) : undefined;
  }
  return isTranslatableScalar(condition) ? sqlValue(condition) : undefined;
}

function topLevelConditions(filter: Filter): [string, unknown][] {
  const out: [string, unknown][] = [];
  for (const [key, condition] of Object.entries(filter)) {
    if (key === "$and" && Array.isArray(condition)) {
      for (const part of condition) if (isPlainObject(part)) out.push(...topLevelConditions(part));
    } else if (!key.startsWith("$")) {
      out.push([key, condition]);
    }
  }
  return out;
}

/**
 * The fields with an equality that leads some index, when there are at least two of them (and
 * no `_id` equality, which wins anyway): then SQLite must pick between indexes, and its
 * statistics may not tell which value is rarer. The store probes each field's value and forces
 * the most selective. Within a field, indexes rank by how many of their next keys are pinned
 * by equalities, then by whether the key after those matches the sort.
 */
export function leadingEqualities(
  filter: Filter,
  indexes: readonly IndexSpec[],
  sort: SortSpec | undefined,
): LeadingEquality[] {
  const conditions = topLevelConditions(filter);
  const equalities = new Map<string, SqlValue>();
  for (const [field, condition] of conditions) {
    if (field === "_id") {
      if (equalityValue(condition) !== undefined) return [];
      continue;
    }
    const value = equalityValue(condition);
    if (value !== undefined && !equalities.has(field)) equalities.set(field, value);
  }
  const firstSortKey = sort === undefined ? undefined : Object.keys(sort)[0];
  const score = (index: IndexSpec): number => {
    const keys = Object.keys(index.keys);
    let pinned = 0;
    while (pinned < keys.length && equalities.has(keys[pinned]!)) pinned++;
    const sortMatches = firstSortKey !== undefined && keys[pinned] === firstSortKey ? 1 : 0;
    return pinned * 2 + sortMatches;
  };
  const byField = new Map<string, IndexSpec[]>();
  for (const index of indexes) {
    const lead = Object.keys(index.keys)[0];
    if (lead === undefined || lead === "_id" || !equalities.has(lead)) continue;
    byField.set(lead, [...(byField.get(lead) ?? []), index]);
  }
  if (byField.size < 2) return [];
  return [...byField].map(([field, list]) => ({
    field,
    value: equalities.get(field)!,
    indexes: [...list].sort((a, b) => score(b) - score(a)),
  }));
}

/** The scalar values an `$in` pins a field to, when it is one the store translates (else undefined). */
function inValues(condition: unknown): readonly SqlValue[] | undefined {
  if (!isPlainObject(condition) || Object.keys(condition).length !== 1 || !("$in" in condition))
    return undefined;
  const values = condition.$in;
  if (!Array.isArray(values) || values.length === 0 || values.length > 500) return undefined;
  return values.every(isTranslatableScalar) ? values.map((v: Scalar) => sqlValue(v)) : undefined;
}

/** How tightly a condition bounds its field: 2 with a lower and an upper bound, 1 with one, else 0. */
function rangeBounds(condition: unknown): number {
  if (!isPlainObject(condition)) return 0;
  const lower = "$gt" in condition || "$gte" in condition ? 1 : 0;
  const upper = "$lt" in condition || "$lte" in condition ? 1 : 0;
  return lower + upper;
}

/**
 * The index to force when some index's leading keys pin every field the filter pins (an equality,
 * or an `$in` of scalars: a few seeks): among those, the one whose next key the filter bounds
 * best (both ends, then one), then the one whose next key is the sort's. Each such index reads a
 * slice of what any index leading with one of those fields reads, so no probe could find a better
 * one, and SQLite (whose statistics know nothing of the JSON values) is not left to guess between
 * "the lots' windows of the last day" and "the lots' windows ending after now". Undefined when no
 * field is pinned, an `_id` equality decides, or no index pins them all.
 */
export function indexPinningAll(
  filter: Filter,
  indexes: readonly IndexSpec[],
  sort: SortSpec | undefined,
): IndexSpec | undefined {
  const pinned = new Set<string>();
  const bounds = new Map<string, number>();
  for (const [field, condition] of topLevelConditions(filter)) {
    if (field === "_id") {
      if (equalityValue(condition) !== undefined) return undefined;
      continue;
    }
    if (equalityValue(condition) !== undefined || inValues(condition) !== undefined) pinned.add(field);
    else bounds.set(field, Math.max(bounds.get(field) ?? 0, rangeBounds(condition)));
  }
  if (pinned.size === 0) return undefined;
  const firstSortKey = sort === undefined ? undefined : Object.keys(sort)[0];
  let best: { index: IndexSpec; score: number } | undefined;
  for (const index of indexes) {
    const keys = Object.keys(index.keys);
    if (keys.length < pinned.size || !keys.slice(0, pinned.size).every((k) => pinned.has(k))) continue;
    const next = keys[pinned.size];
    const score =
      (next === undefined ? 0 : (bounds.get(next) ?? 0) * 2) +
      (next !== undefined && next === firstSortKey ? 1 : 0);
    if (best === undefined || score > best.score) best = { index, score };
  }
  return best?.index;
}

/**
 * Reads EXPLAIN QUERY PLAN rows: indexed iff some step SEARCHes the table through an index or
 * the primary key and no step SCANs a table (a full scan, even in index order).
 */
export function interpretSqlitePlan(details: readonly string[]): QueryPlan {
  const searches = details.some((d) =>
    /^SEARCH \S+ USING (COVERING INDEX|INDEX|INTEGER PRIMARY KEY|PRIMARY KEY)\b/.test(d),
  );
  // A long `$in` list is read from its JSON parameter (json_each): a list, not a table.
  const scans = details.some(
    (d) => /^SCAN \S+/.test(d) && !/^SCAN (CONSTANT ROW|json_each VIRTUAL TABLE)/.test(d),
  );
  return { indexed: searches && !scans, detail: details.join("; ") };
}
