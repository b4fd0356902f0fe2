import { find as mingoFind, type Query } from "mingo";
import type { Examined } from "../bounds.js";
import { compileQuery } from "../embedded/sqlite-reads.js";
import type { MutableDocument } from "../embedded/update-semantics.js";
import { DocumentStoreError, type Filter, type QueryPlan, type Scalar } from "../port.js";
import type { NormalizedFindOptions } from "../validation.js";
import type { SelectPlan } from "./pg-sql.js";

export { scans } from "../embedded/sqlite-reads.js";

const MATCHES_ALL: Pick<Query, "test"> = { test: () => true };

/**
 * The page of a find from the rows PostgreSQL returned, as the embedded store picks it
 * (sqlite-reads.ts): an exact, sorted, paged plan's rows are the page; otherwise every row examined
 * is counted (bounds.ts) and re-checked with mingo, in the requested order when SQL sorted them
 * (stopping at the limit), else sorted, skipped and limited by mingo.
 */
export function pickMatches(
  rows: readonly MutableDocument[],
  plan: SelectPlan,
  filter: Filter,
  opts: NormalizedFindOptions,
  seen: Examined,
): MutableDocument[] {
  if (plan.paged) {
    seen.add(rows.length);
    return [...rows];
  }
  const query = plan.exact ? MATCHES_ALL : compileQuery(filter);
  if (plan.sorted) {
    const out: MutableDocument[] = [];
    let skipped = 0;
    for (const doc of rows) {
      seen.add();
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
  for (const doc of rows) {
    seen.add();
    if (query.test(doc)) matches.push(doc);
  }
  let cursor = mingoFind<MutableDocument>(matches, {}).sort(opts.sort ?? {});
  if (opts.skip > 0) cursor = cursor.skip(opts.skip);
  if (opts.limit > 0) cursor = cursor.limit(opts.limit);
  return cursor.all();
}

/** A value countBy groups by: a scalar (null when missing); an array or embedded document is refused. */
export function countValue(value: unknown, field: string): Scalar {
  if (value === null || value === undefined) return null;
  if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") return value;
  throw new DocumentStoreError(`countBy: ${field} holds an array or an embedded document, not a scalar`);
}

interface PlanNode {
  readonly "Node Type"?: string;
  readonly "Index Name"?: string;
  readonly "Relation Name"?: string;
  readonly Plans?: readonly PlanNode[];
}

/**
 * Reads EXPLAIN (FORMAT JSON): indexed iff some node reads an index (Index Scan, Index Only Scan,
 * Bitmap Index Scan) and none scans a table whole (Seq Scan).
 */
export function interpretPgPlan(explained: unknown): QueryPlan {
  const nodes: string[] = [];
  let indexed = false;
  let scanned = false;
  const visit = (node: PlanNode): void => {
    const type = node["Node Type"] ?? "?";
    if (/^(Index Scan|Index Only Scan|Bitmap Index Scan)$/.test(type)) indexed = true;
    if (type === "Seq Scan") scanned = true;
    nodes.push(node["Index Name"] !== undefined ? `${type} using ${node["Index Name"]}` : type);
    for (const child of node.Plans ?? []) visit(child);
  };
  const root = Array.isArray(explained) ? (explained[0] as { Plan?: PlanNode } | undefined)?.Plan : undefined;
  if (root !== undefined) visit(root);
  return { indexed: indexed && !scanned, detail: nodes.join("; ") };
}
