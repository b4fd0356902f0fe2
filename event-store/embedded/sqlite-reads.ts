import type Database from "better-sqlite3";
import { type CompiledEventFilter, eventMatcher } from "../event-filter.js";
import type { LogPage } from "./sqlite-live-subscription.js";
import { type EventRow, pageSql, ROW_COLUMNS, rowsByPositionsSql, type Selection } from "./sqlite-schema.js";

/** Beyond this many disjoint index selections, a filtered read scans the log instead of merging. */
const MAX_MERGED_SELECTIONS = 16;
/** A filtered read scans the log range instead of merging index walks while at least this share of it is selected… */
const DENSE_SHARE = 0.75;
/** …as found by a page of at least this many selected events. */
const DENSE_MIN_ROWS = 64;

type PageParams = { lo: number; hi: number; limit: number; key?: string; prefix?: string };
type RowStatement = Database.Statement<[PageParams], EventRow>;
type PositionStatement = Database.Statement<[PageParams], number>;

interface DirectionStatements {
  readonly rows: Record<Selection, RowStatement>;
  readonly positions: Record<Exclude<Selection, "all">, PositionStatement>;
  readonly byPositions: Database.Statement<[{ positions: string }], EventRow>;
}

/** One index selection: rows of a type, of a category, or of a category narrowed by a longer prefix. */
interface IndexSelection {
  readonly selection: Exclude<Selection, "all">;
  readonly key: string;
  readonly prefix?: string;
}

/** How a filter is read: everything, nothing, or the merge of index selections (resolved per page). */
export type ReadPlan =
  | { readonly kind: "all" }
  | { readonly kind: "none" }
  | {
      readonly kind: "selections";
      readonly resolve: () => readonly IndexSelection[];
      readonly matches: (streamId: string, type: string) => boolean;
      /**
       * The last page found the selected events dense in the log (most positions of its range):
       * the next page scans the range and filters, cheaper than merging index walks then
       * looking the rows up (a projector that follows every type the log holds).
       */
      dense: boolean;
    };

/** The embedded store's prepared reads: the head, a stream's pages, and the log's pages by filter. */
export class LogReads {
  private readonly headStmt: Database.Statement<[], number | null>;
  private readonly categoriesFromStmt: Database.Statement<[string], string>;
  private readonly streamForwardsStmt: Database.Statement<[string, number, number], EventRow>;
  private readonly streamBackwardsStmt: Database.Statement<[string, number, number], EventRow>;
  private readonly forwards: DirectionStatements;
  private readonly backwards: DirectionStatements;

  constructor(private readonly db: Database.Database) {
    this.categoriesFromStmt = db
      .prepare<[string], string>("SELECT category FROM categories WHERE category >= ? ORDER BY category")
      .pluck();
    this.headStmt = db.prepare<[], number | null>("SELECT max(position) FROM events").pluck();
    this.streamForwardsStmt = db
      .prepare<[string, number, number], EventRow>(
        `SELECT ${ROW_COLUMNS} FROM events WHERE stream_id = ? AND revision >= ? ORDER BY revision ASC LIMIT ?`,
      )
      .raw();
    this.streamBackwardsStmt = db
      .prepare<[string, number, number], EventRow>(
        `SELECT ${ROW_COLUMNS} FROM events WHERE stream_id = ? AND revision <= ? ORDER BY revision DESC LIMIT ?`,
      )
      .raw();
    this.forwards = this.prepareDirection(false);
    this.backwards = this.prepareDirection(true);
  }

  /** At most `limit` events of `streamId` from `revision` on (or down, backwards). */
  streamPage(streamId: string, revision: number, limit: number, backwards: boolean): EventRow[] {
    return (backwards ? this.streamBackwardsStmt : this.streamForwardsStmt).all(streamId, revision, limit);
  }

  head(): number {
    return this.headStmt.get() ?? 0;
  }

  private prepareDirection(backwards: boolean): DirectionStatements {
    const rows = (selection: Selection): RowStatement =>
      this.db.prepare<[PageParams], EventRow>(pageSql(selection, backwards, "row")).raw();
    const positions = (selection: Exclude<Selection, "all">): PositionStatement =>
      this.db.prepare<[PageParams], number>(pageSql(selection, backwards, "position")).pluck();
    return {
      rows: {
        all: rows("all"),
        type: rows("type"),
        category: rows("category"),
        categoryPrefix: rows("categoryPrefix"),
      },
      positions: {
        type: positions("type"),
        category: positions("category"),
        categoryPrefix: positions("categoryPrefix"),
      },
      byPositions: this.db.prepare<[{ positions: string }], EventRow>(rowsByPositionsSql(backwards)).raw(),
    };
  }

  planFor(filter: CompiledEventFilter): ReadPlan {
    switch (filter.kind) {
      case "all":
      case "none":
        return { kind: filter.kind };
      case "types": {
        const selections = filter.eventTypes.map((key): IndexSelection => ({ selection: "type", key }));
        return { kind: "selections", resolve: () => selections, matches: eventMatcher(filter), dense: false };
      }
      case "prefixes": {
        const fixed: IndexSelection[] = [];
        const open: string[] = [];
        for (const prefix of filter.streamPrefixes) {
          const dash = prefix.indexOf("-");
          if (dash < 0) open.push(prefix);
          else if (dash === prefix.length - 1) fixed.push({ selection: "category", key: prefix });
          else fixed.push({ selection: "categoryPrefix", key: prefix.slice(0, dash + 1), prefix });
        }
        const resolveSelections =
          open.length === 0
            ? () => fixed
            : () => [
                ...fixed,
                ...open.flatMap((prefix) =>
                  this.categoriesStartingWith(prefix).map(
                    (key): IndexSelection => ({ selection: "category", key }),
                  ),
                ),
              ];
        return {
          kind: "selections",
          resolve: resolveSelections,
          matches: eventMatcher(filter),
          dense: false,
        };
      }
    }
  }

  private categoriesStartingWith(prefix: string): string[] {
    const found: string[] = [];
    for (const category of this.categoriesFromStmt.iterate(prefix)) {
      if (!category.startsWith(prefix)) break;
      found.push(category);
    }
    return found;
  }

  /**
   * At most `limit` selected events in (lo, hi] (forwards) or (lo, hi) from the top (backwards).
   * One selection is a single index walk; several are merged by position (index-only walks, then
   * one lookup of the chosen rows); very many fall back to a scan of the log range.
   */
  readPage(plan: ReadPlan, lo: number, hi: number, limit: number, backwards: boolean): LogPage {
    const statements = backwards ? this.backwards : this.forwards;
    if (plan.kind === "none") return { rows: [], exhausted: true, cursor: backwards ? lo : hi };
    if (plan.kind === "all") return pageOf(statements.rows.all.all({ lo, hi, limit }), limit);
    if (plan.dense) return scanPage(plan, statements.rows.all.all({ lo, hi, limit }), lo, limit);
    const selections = plan.resolve();
    if (selections.length === 0) return { rows: [], exhausted: true, cursor: backwards ? lo : hi };
    if (selections.length === 1) {
      const only = selections[0] as IndexSelection;
      return pageOf(statements.rows[only.selection].all(paramsOf(only, lo, hi, limit)), limit);
    }
    if (selections.length <= MAX_MERGED_SELECTIONS) {
      let positions: number[] = [];
      let more = false;
      for (const selection of selections) {
        const found = statements.positions[selection.selection].all(paramsOf(selection, lo, hi, limit));
        if (found.length === limit) more = true;
        for (const position of found) positions.push(position);
      }
      positions.sort(backwards ? (a, b) => b - a : (a, b) => a - b);
      if (positions.length > limit) {
        positions = positions.slice(0, limit);
        more = true;
      }
      if (positions.length === 0) return { rows: [], exhausted: true, cursor: backwards ? lo : hi };
      const rows = statements.byPositions.all({ positions: JSON.stringify(positions) });
      const cursor = positions[positions.length - 1] as number;
      // Positions are consecutive: the share of the range examined that was selected.
      const examined = backwards ? hi - cursor : cursor - lo;
      plan.dense = positions.length >= DENSE_MIN_ROWS && positions.length >= DENSE_SHARE * examined;
      return { rows, exhausted: !more, cursor };
    }
    return scanPage(plan, statements.rows.all.all({ lo, hi, limit }), lo, limit);
  }
}

/** A page scanned over the range and filtered; scanning goes on while most of it is selected. */
function scanPage(
  plan: ReadPlan & { kind: "selections" },
  scanned: EventRow[],
  lo: number,
  limit: number,
): LogPage {
  const rows = scanned.filter((row) => plan.matches(row[1], row[4]));
  plan.dense = rows.length >= DENSE_SHARE * scanned.length;
  const last = scanned[scanned.length - 1];
  return { rows, exhausted: scanned.length < limit, cursor: last === undefined ? lo : last[0] };
}

function pageOf(rows: EventRow[], limit: number): LogPage {
  const last = rows[rows.length - 1];
  return { rows, exhausted: rows.length < limit, cursor: last === undefined ? 0 : last[0] };
}

function paramsOf(selection: IndexSelection, lo: number, hi: number, limit: number): PageParams {
  return selection.prefix === undefined
    ? { lo, hi, limit, key: selection.key }
    : { lo, hi, limit, key: selection.key, prefix: selection.prefix };
}
