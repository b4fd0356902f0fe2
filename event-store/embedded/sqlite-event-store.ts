import { resolve } from "node:path";
import Database from "better-sqlite3";
import { Observable } from "rxjs";
import { v7 as timeOrderedUuid } from "uuid";
import { preparePrivateSqliteFile, restrictSqliteFiles } from "../../platform/private-files.js";
import { countOf, validateAppend, validateRevision } from "../arguments.js";
import {
  EventStoreClosedError,
  EventStoreError,
  EventStoreUnavailableError,
  SubscriptionDroppedError,
  WrongExpectedRevisionError,
} from "../errors.js";
import { type CompiledEventFilter, compileEventFilter, eventMatcher } from "../event-filter.js";
import { eventsOf } from "../log-messages.js";
import type {
  AppendResult,
  EventStore,
  EventToAppend,
  ExpectedRevision,
  LogMessage,
  ReadAllOptions,
  ReadStreamOptions,
  RecordedEvent,
  SubscribeToAllOptions,
} from "../port.js";
import type { Position } from "../position.js";
import { type Page, pagedIterable } from "./paged-iterable.js";
import { type AppendedBatch, decodeRow, LiveSubscription, type LogPage } from "./sqlite-live-subscription.js";
import {
  categoryOf,
  DDL,
  type EventRow,
  pageSql,
  ROW_COLUMNS,
  rowsByPositionsSql,
  SCHEMA_VERSION,
  type Selection,
} from "./sqlite-schema.js";

export interface SqliteEventStoreOptions {
  /** Path of the database file (its directory is created). In-memory databases are not accepted. */
  readonly file: string;
  /**
   * "normal" (default): an acknowledged append survives a crash of the process (kill -9): it is in
   * the write-ahead log, which is fsynced at checkpoints only;
   * "full": it also survives a power loss or OS crash (an fsync per commit).
   */
  readonly sync?: "normal" | "full";
  /** How often live subscriptions look for events appended by other processes. Default 100 ms. */
  readonly pollIntervalMs?: number;
  /** How long an append waits for another process's write lock before giving up. Default 5 s. */
  readonly busyTimeoutMs?: number;
}

/** An event id that is already in the store (ids are unique across all streams). Nothing was appended. */
export class DuplicateEventIdError extends EventStoreError {
  override name = "DuplicateEventIdError";
  constructor(readonly streamId: string) {
    super(`stream ${streamId}: an event id of this append is already in the store`);
  }
}

const PAGE_SIZE = 1000;
/** Most appends committed together (see flushAppends). */
const MAX_GROUP = 1000;
/** Beyond this many disjoint index selections, a filtered read scans the log instead of merging. */
const MAX_MERGED_SELECTIONS = 16;
/** A filtered read scans the log range instead of merging index walks while at least this share of it is selected… */
const DENSE_SHARE = 0.75;
/** …as found by a page of at least this many selected events. */
const DENSE_MIN_ROWS = 64;
const NO_UPPER_BOUND = Number.MAX_SAFE_INTEGER;
const END_OF_READ: Page<EventRow> = { rows: [], last: true };

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
type ReadPlan =
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

type PreparedEvent = readonly [id: string, type: string, data: string, metadata: string];

interface PendingAppend {
  readonly streamId: string;
  readonly expectedRevision: ExpectedRevision;
  readonly events: readonly PreparedEvent[];
  readonly resolve: (result: AppendResult) => void;
  readonly reject: (error: unknown) => void;
  outcome?: AppendOutcome | undefined;
  failure?: unknown;
}

interface AppendOutcome {
  readonly firstPosition: number;
  readonly lastPosition: number;
  readonly firstRevision: number;
  readonly lastRevision: number;
}

/**
 * The embedded event store: one SQLite file (better-sqlite3, WAL mode) with the semantics of
 * EventStoreDB that the port describes. See sqlite-schema.ts for the layout and why positions
 * (the rowid; `commit` = `prepare`) are gapless and increase in commit order.
 *
 * - Appends are group-committed (see flushAppends): concurrent appends share one transaction and
 *   one commit, each checked and applied as if alone. An append is acknowledged after its commit.
 * - Several processes may open the same file: writers take turns (`BEGIN IMMEDIATE`, waiting up to
 *   `busyTimeoutMs` for the lock, synchronously); readers never block.
 * - Reads page through the file (PAGE_SIZE rows per query) and yield to the event loop between pages.
 * - Live subscriptions get this process's appends straight after their commit, and other processes'
 *   appends by polling the head every `pollIntervalMs` (one timer per store, only while someone
 *   subscribes). See sqlite-live-subscription.ts.
 */
export class SqliteEventStore implements EventStore {
  private closed = false;
  private readonly subscriptions = new Set<LiveSubscription>();
  private pollTimer: NodeJS.Timeout | undefined;
  /** Categories known to be in the `categories` table (so appends skip the insert). */
  private readonly knownCategories = new Set<string>();

  private readonly lastRevisionStmt: Database.Statement<[string], number>;
  private readonly insertStmt: Database.Statement<
    [string, number, string, string, string, number, string, string],
    never
  >;
  private readonly insertCategoryStmt: Database.Statement<[string], never>;
  private readonly categoriesFromStmt: Database.Statement<[string], string>;
  private readonly headStmt: Database.Statement<[], number | null>;
  private readonly streamForwardsStmt: Database.Statement<[string, number, number], EventRow>;
  private readonly streamBackwardsStmt: Database.Statement<[string, number, number], EventRow>;
  private readonly forwards: DirectionStatements;
  private readonly backwards: DirectionStatements;
  /** Appends waiting for the next group commit (see flushAppends). */
  private appendQueue: PendingAppend[] = [];
  private flushScheduled = false;
  private readonly groupCommit: (group: readonly PendingAppend[], createdAt: number) => void;
  /** Told the new head after each commit of this connection (see onCommit). */
  private readonly commitListeners = new Set<(head: number) => void>();

  private constructor(
    private readonly db: Database.Database,
    private readonly pollIntervalMs: number,
  ) {
    this.lastRevisionStmt = db
      .prepare<[string], number>(
        "SELECT revision FROM events WHERE stream_id = ? ORDER BY revision DESC LIMIT 1",
      )
      .pluck();
    this.insertStmt = db.prepare(
      "INSERT INTO events (stream_id, revision, id, type, category, created_at, data, metadata) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    );
    this.insertCategoryStmt = db.prepare("INSERT OR IGNORE INTO categories (category) VALUES (?)");
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
    for (const category of db.prepare<[], string>("SELECT category FROM categories").pluck().all()) {
      this.knownCategories.add(category);
    }

    // Called inside the group's transaction, better-sqlite3 runs this one in a savepoint: a failed
    // append rolls back alone and the others of the group still commit.
    const inSavepoint = db.transaction((append: PendingAppend, createdAt: number) =>
      this.apply(append, createdAt),
    );
    const group = db.transaction((appends: readonly PendingAppend[], createdAt: number) => {
      if (appends.length === 1) {
        this.apply(appends[0] as PendingAppend, createdAt); // a failure rolls back the whole transaction
        return;
      }
      for (const append of appends) {
        try {
          inSavepoint(append, createdAt);
        } catch (error) {
          if (!isPerAppendFailure(error)) throw error;
          append.failure = error;
        }
      }
    });
    this.groupCommit = (appends, createdAt) => group.immediate(appends, createdAt);
  }

  static open(options: SqliteEventStoreOptions): SqliteEventStore {
    const { file, sync = "normal", pollIntervalMs = 100, busyTimeoutMs = 5000 } = options;
    if (file === "" || file === ":memory:" || file.startsWith("file:")) {
      throw new RangeError("SqliteEventStore needs the path of a real file");
    }
    if (!(pollIntervalMs > 0)) throw new RangeError("pollIntervalMs must be positive");
    const path = resolve(file);
    // 0600 before SQLite creates it (its -wal and -shm then take the same mode); directory 0700.
    preparePrivateSqliteFile(path);
    const db = new Database(path, { timeout: busyTimeoutMs });
    try {
      db.pragma("journal_mode = WAL");
      db.pragma(`synchronous = ${sync === "full" ? "FULL" : "NORMAL"}`);
      db.pragma("temp_store = MEMORY");
      db.pragma("cache_size = -32768"); // 32 MiB of page cache
      db.transaction(() => {
        const version = db.pragma("user_version", { simple: true }) as number;
        if (version > SCHEMA_VERSION) {
          throw new EventStoreError(
            `${path}: schema version ${version} is newer than this code (${SCHEMA_VERSION})`,
          );
        }
        db.exec(DDL);
        if (version < SCHEMA_VERSION) db.pragma(`user_version = ${SCHEMA_VERSION}`);
      }).immediate();
      restrictSqliteFiles(path);
      return new SqliteEventStore(db, pollIntervalMs);
    } catch (error) {
      db.close();
      throw error;
    }
  }

  async appendToStream(
    streamId: string,
    events: readonly EventToAppend[],
    options: { readonly expectedRevision: ExpectedRevision },
  ): Promise<AppendResult> {
    this.assertOpen();
    const expected = options.expectedRevision;
    validateAppend(streamId, events, expected);
    const prepared = events.map(prepareEvent);
    return new Promise<AppendResult>((resolve, reject) => {
      this.appendQueue.push({ streamId, expectedRevision: expected, events: prepared, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(this.flushAppends);
      }
    });
  }

  /**
   * Group commit: every append requested since the last flush (typically the concurrent requests of
   * one event-loop turn) goes into one `BEGIN IMMEDIATE` transaction, each in its own savepoint, and
   * all are acknowledged after that single commit. Expected revisions are checked in request order
   * inside the transaction, exactly as if the appends ran one after another.
   */
  private readonly flushAppends = (): void => {
    this.flushScheduled = false;
    const group =
      this.appendQueue.length <= MAX_GROUP ? this.appendQueue : this.appendQueue.slice(0, MAX_GROUP);
    this.appendQueue = this.appendQueue.length <= MAX_GROUP ? [] : this.appendQueue.slice(MAX_GROUP);
    if (this.appendQueue.length > 0) {
      this.flushScheduled = true;
      setImmediate(this.flushAppends);
    }
    if (group.length === 0) return;
    const createdAt = Date.now();
    let groupFailure: unknown;
    try {
      this.groupCommit(group, createdAt);
    } catch (error) {
      groupFailure = error;
    }
    let head = 0;
    for (const append of group) {
      const failure = groupFailure ?? append.failure;
      if (failure !== undefined || append.outcome === undefined) {
        append.reject(mapSqliteError(failure ?? new EventStoreError("append not applied"), append.streamId));
        continue;
      }
      const { outcome } = append;
      if (outcome.lastPosition > head) head = outcome.lastPosition;
      this.knownCategories.add(categoryOf(append.streamId));
      if (this.subscriptions.size > 0) this.publish(append.streamId, append.events, createdAt, outcome);
      append.resolve({
        nextExpectedRevision: outcome.lastRevision,
        position: { commit: outcome.lastPosition, prepare: outcome.lastPosition },
      });
    }
    if (head > 0) for (const listener of this.commitListeners) listener(head);
  };

  /**
   * Calls `listener` with the new head after each commit made through this connection (once per
   * group commit), so that another thread's connection to the same file can be told at once
   * (observeCommit) instead of finding out by polling. Returns the unsubscribe function.
   */
  onCommit(listener: (head: number) => void): () => void {
    this.commitListeners.add(listener);
    return () => this.commitListeners.delete(listener);
  }

  /**
   * Another connection to this file (another thread) committed events up to `head`: live
   * subscriptions read them now rather than at the next poll (which stays as the fallback for
   * other processes).
   */
  observeCommit(head: number): void {
    if (this.closed) return;
    for (const subscription of this.subscriptions) subscription.observeHead(head);
  }

  readStream(streamId: string, options: ReadStreamOptions = {}): AsyncIterable<RecordedEvent> {
    return pagedIterable(() => {
      this.assertOpen();
      const backwards = options.direction === "backwards";
      let remaining = countOf(options.maxCount);
      let revision = validateRevision(
        options.fromRevision ?? (backwards ? NO_UPPER_BOUND : 0),
        "fromRevision",
      );
      const statement = backwards ? this.streamBackwardsStmt : this.streamForwardsStmt;
      return () => {
        if (remaining <= 0) return END_OF_READ;
        this.assertOpen();
        const limit = Math.min(PAGE_SIZE, remaining);
        const rows = this.guardRead(() => statement.all(streamId, revision, limit));
        remaining -= rows.length;
        const last = rows[rows.length - 1];
        if (last === undefined || rows.length < limit) return { rows, last: true };
        revision = backwards ? last[2] - 1 : last[2] + 1;
        return { rows, last: remaining <= 0 || revision < 0 };
      };
    }, decodeRow);
  }

  readAll(options: ReadAllOptions = {}): AsyncIterable<RecordedEvent> {
    return pagedIterable(() => {
      this.assertOpen();
      const backwards = options.direction === "backwards";
      const plan = this.planFor(compileEventFilter(options.filter));
      let remaining = countOf(options.maxCount);
      const from = options.from === undefined ? undefined : positionNumber(options.from);
      let lo = backwards ? 0 : (from ?? 0);
      let hi = backwards ? (from ?? NO_UPPER_BOUND) : NO_UPPER_BOUND;
      return () => {
        if (remaining <= 0) return END_OF_READ;
        this.assertOpen();
        const limit = Math.min(PAGE_SIZE, remaining);
        const page = this.guardRead(() => this.readPage(plan, lo, hi, limit, backwards));
        remaining -= page.rows.length;
        if (backwards) hi = page.cursor;
        else lo = page.cursor;
        return { rows: page.rows, last: page.exhausted || remaining <= 0 };
      };
    }, decodeRow);
  }

  subscribeToAll(options: SubscribeToAllOptions): Observable<RecordedEvent> {
    return eventsOf(this.followAll(options));
  }

  followAll(options: SubscribeToAllOptions): Observable<LogMessage> {
    return new Observable<LogMessage>((subscriber) => {
      let plan: ReadPlan;
      let cursor: number;
      try {
        this.assertOpen();
        plan = this.planFor(compileEventFilter(options.filter));
        const { from } = options;
        cursor =
          from === "start" ? 0 : from === "end" ? this.guardRead(() => this.head()) : positionNumber(from);
      } catch (error) {
        subscriber.error(error);
        return;
      }
      const matches = plan.kind === "selections" ? plan.matches : () => plan.kind === "all";
      const subscription = new LiveSubscription(
        {
          head: () => this.head(),
          readForwards: (after, upTo, limit) => {
            this.assertOpen();
            return this.readPage(plan, after, upTo, limit, false);
          },
          matches,
        },
        subscriber,
        cursor,
        (ended) => this.unregister(ended),
      );
      this.subscriptions.add(subscription);
      this.pollTimer ??= setInterval(() => this.poll(), this.pollIntervalMs);
      return () => subscription.stop();
    });
  }

  async headPosition(): Promise<Position | null> {
    this.assertOpen();
    const head = this.guardRead(() => this.head());
    return head === 0 ? null : { commit: head, prepare: head };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    while (this.appendQueue.length > 0) this.flushAppends(); // acknowledge what was already accepted
    this.closed = true;
    this.commitListeners.clear();
    if (this.pollTimer !== undefined) clearInterval(this.pollTimer);
    this.pollTimer = undefined;
    const open = [...this.subscriptions];
    this.subscriptions.clear();
    for (const subscription of open)
      subscription.fail(new EventStoreClosedError("the event store was closed"));
    this.db.close();
  }

  // --- appends ---

  private apply(append: PendingAppend, createdAt: number): void {
    append.outcome = undefined;
    append.outcome = this.appendInTransaction(
      append.streamId,
      append.expectedRevision,
      append.events,
      createdAt,
    );
  }

  private appendInTransaction(
    streamId: string,
    expected: ExpectedRevision,
    events: readonly PreparedEvent[],
    createdAt: number,
  ): AppendOutcome {
    const current = this.lastRevisionStmt.get(streamId);
    if (expected !== "any") {
      const ok =
        expected === "no_stream"
          ? current === undefined
          : expected === "stream_exists"
            ? current !== undefined
            : current === expected;
      if (!ok) throw new WrongExpectedRevisionError(streamId, expected, current ?? "no_stream");
    }
    const category = categoryOf(streamId);
    if (!this.knownCategories.has(category)) this.insertCategoryStmt.run(category);
    const firstRevision = current === undefined ? 0 : current + 1;
    let firstPosition = 0;
    let lastPosition = 0;
    for (let i = 0; i < events.length; i++) {
      const [id, type, data, metadata] = events[i] as PreparedEvent;
      const { lastInsertRowid } = this.insertStmt.run(
        streamId,
        firstRevision + i,
        id,
        type,
        category,
        createdAt,
        data,
        metadata,
      );
      lastPosition = Number(lastInsertRowid);
      if (i === 0) firstPosition = lastPosition;
    }
    return { firstPosition, lastPosition, firstRevision, lastRevision: firstRevision + events.length - 1 };
  }

  private publish(
    streamId: string,
    events: readonly PreparedEvent[],
    createdAt: number,
    outcome: AppendOutcome,
  ): void {
    const contiguous = outcome.lastPosition - outcome.firstPosition + 1 === events.length;
    const batch: AppendedBatch = {
      first: outcome.firstPosition,
      last: outcome.lastPosition,
      streamId,
      firstRevision: outcome.firstRevision,
      createdAt,
      events,
    };
    for (const subscription of this.subscriptions) {
      if (contiguous) subscription.offer(batch);
      else subscription.observeHead(outcome.lastPosition);
    }
  }

  // --- reads ---

  private head(): number {
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

  private planFor(filter: CompiledEventFilter): ReadPlan {
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
  private readPage(plan: ReadPlan, lo: number, hi: number, limit: number, backwards: boolean): LogPage {
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

  // --- subscriptions ---

  private poll(): void {
    if (this.closed) return;
    let head: number;
    try {
      head = this.head();
    } catch (error) {
      const failure = new SubscriptionDroppedError("polling the event log failed", { cause: error });
      for (const subscription of [...this.subscriptions]) subscription.fail(failure);
      return;
    }
    for (const subscription of this.subscriptions) subscription.observeHead(head);
  }

  private unregister(subscription: LiveSubscription): void {
    this.subscriptions.delete(subscription);
    if (this.subscriptions.size === 0 && this.pollTimer !== undefined) {
      clearInterval(this.pollTimer);
      this.pollTimer = undefined;
    }
  }

  // --- helpers ---

  private assertOpen(): void {
    if (this.closed) throw new EventStoreClosedError("the event store is closed");
  }

  private guardRead<T>(read: () => T): T {
    try {
      return read();
    } catch (error) {
      throw mapSqliteError(error, undefined);
    }
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

function prepareEvent(event: EventToAppend): PreparedEvent {
  // Generated ids are time-ordered (UUIDv7) so that the unique index on ids grows at its end.
  const id = event.id === undefined ? timeOrderedUuid() : event.id.toLowerCase();
  return [id, event.type, JSON.stringify(event.data) ?? "null", JSON.stringify(event.metadata ?? {})];
}

function positionNumber(position: Position): number {
  const { commit } = position;
  if (!Number.isSafeInteger(commit) || commit < 0) throw new RangeError(`invalid position ${String(commit)}`);
  return commit;
}

/** Failures that concern one append of a group (its savepoint rolled back), not the transaction. */
function isPerAppendFailure(error: unknown): boolean {
  return (
    error instanceof WrongExpectedRevisionError ||
    (error instanceof Database.SqliteError && error.code.startsWith("SQLITE_CONSTRAINT"))
  );
}

function mapSqliteError(error: unknown, streamId: string | undefined): unknown {
  if (error instanceof EventStoreError || error instanceof RangeError) return error;
  if (error instanceof Database.SqliteError) {
    const { code } = error;
    if (
      code === "SQLITE_CONSTRAINT_UNIQUE" &&
      error.message.includes("events.id") &&
      streamId !== undefined
    ) {
      return new DuplicateEventIdError(streamId);
    }
    if (/^SQLITE_(BUSY|LOCKED|IOERR|FULL|CANTOPEN|PROTOCOL)/.test(code)) {
      return new EventStoreUnavailableError(`event store file unavailable: ${error.message}`, {
        cause: error,
      });
    }
    return new EventStoreError(`event store failure: ${error.message}`, { cause: error });
  }
  if (error instanceof TypeError && /database connection is not open/i.test(error.message)) {
    return new EventStoreClosedError("the event store is closed");
  }
  return error;
}
