import { chargeWork, workMeter } from "../platform/work-budget.js";
import { DocumentStoreError } from "./port.js";

/**
 * What a query run for a request may examine (issue 66): on every adapter the documents it reads
 * are charged to the request's work budget (platform/work-budget.ts); in the embedded store the
 * query itself is refused (UnboundedQueryError) once it examines more than its page needs
 * (MongoDB refuses a scan itself, with notablescan; a time-travel fold's in-memory store is
 * bounded by its fold and only charges):
 *
 * - a find with a limit examines at most EXAMINED_PER_RESULT × (skip + limit) + ALLOWANCE
 *   documents, whatever its filter (an `$in` list of any length, a condition no index serves);
 * - a query that scans the collection (no condition on `_id` or an index narrows it, no LIMIT in
 *   index order bounds it) examines at most ALLOWANCE, so only a collection smaller than that
 *   (leases, checkpoints) may be read whole.
 *
 * Work outside a request (projections, rebuilds, backups, CLIs) is bounded by its own batches
 * and is not refused here.
 */
export const ALLOWANCE = 256;
export const EXAMINED_PER_RESULT = 8;

/** A query run for a request examined more than its bound: a defect of the query, refused. */
export class UnboundedQueryError extends DocumentStoreError {
  override name = "UnboundedQueryError";
  constructor(
    readonly collection: string,
    readonly bound: number,
    readonly why: "scan" | "limit",
  ) {
    super(
      why === "scan"
        ? `a query of ${collection} scans the collection: refused past ${bound} documents examined`
        : `a query of ${collection} examined more than ${bound} documents for its page: refused`,
    );
  }
}

/** Counts what one query examines, charging the request's budget and refusing past the bound. */
export class Examined {
  private n = 0;
  constructor(
    private readonly collection: string,
    private readonly bound: number,
    private readonly why: "scan" | "limit",
  ) {}

  add(rows = 1): void {
    chargeWork("documents", rows);
    this.n += rows;
    if (this.n > this.bound) throw new UnboundedQueryError(this.collection, this.bound, this.why);
  }
}

const UNCOUNTED = { add: () => {} } as unknown as Examined;

/**
 * How many documents one query may examine: in a request, bounded by its limit and (a scan) by
 * ALLOWANCE; outside one, Infinity. A server store asks for at most one more row than this.
 */
export function examinedBound(
  page: { readonly limit?: number; readonly skip?: number },
  scans: () => boolean,
): { readonly bound: number; readonly why: "scan" | "limit" } {
  if (workMeter() === undefined) return { bound: Infinity, why: "limit" };
  const limit = page.limit ?? 0;
  const byLimit = limit > 0 ? EXAMINED_PER_RESULT * ((page.skip ?? 0) + limit) + ALLOWANCE : Infinity;
  if (scans() && ALLOWANCE < byLimit) return { bound: ALLOWANCE, why: "scan" };
  return { bound: byLimit, why: "limit" };
}

/** The counter of one query: in a request, bounded by its limit and (a scan) by ALLOWANCE; outside one, nothing. */
export function examined(
  collection: string,
  page: { readonly limit?: number; readonly skip?: number },
  scans: () => boolean,
): Examined {
  if (workMeter() === undefined) return UNCOUNTED;
  const { bound, why } = examinedBound(page, scans);
  return new Examined(collection, bound, why);
}
