import { dirname, resolve } from "node:path";
import type BetterSqlite3 from "better-sqlite3";
import { Observable } from "rxjs";
import { preparePrivateSqliteFile, restrictSqliteFiles } from "../../platform/private-files.js";
import { Database } from "../../platform/sqlite.js";
import { enterWalMode } from "../../platform/sqlite-wal.js";
import { chargeWork } from "../../platform/work-budget.js";
import { countOf, validateAppend, validateRevision } from "../arguments.js";
import { EventStoreClosedError, EventStoreError, SubscriptionDroppedError } from "../errors.js";
import { compileEventFilter } from "../event-filter.js";
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
import { type AppendOutcome, GroupCommit, type PreparedEvent } from "./sqlite-appends.js";
import { mapSqliteError } from "./sqlite-errors.js";
import { type AppendedBatch, decodeRow, LiveSubscription } from "./sqlite-live-subscription.js";
import { LogReads, type ReadPlan } from "./sqlite-reads.js";
import { DDL, type EventRow, SCHEMA_VERSION } from "./sqlite-schema.js";

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
  /**
   * Called before each group commit of this connection's appends (the data keys the group's events
   * are sealed under are committed first: app/personal-data.ts); a throw refuses the group's appends.
   */
  readonly beforeCommit?: () => void;
}

const PAGE_SIZE = 1000;
const NO_UPPER_BOUND = Number.MAX_SAFE_INTEGER;
const END_OF_READ: Page<EventRow> = { rows: [], last: true };

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
  private readonly reads: LogReads;
  private readonly appends: GroupCommit;
  /** Told the new head after each commit of this connection (see onCommit). */
  private readonly commitListeners = new Set<(head: number) => void>();

  private constructor(
    private readonly db: BetterSqlite3.Database,
    private readonly pollIntervalMs: number,
    beforeCommit?: () => void,
  ) {
    this.reads = new LogReads(db);
    this.appends = new GroupCommit(db, {
      appended: (streamId, events, createdAt, outcome) => {
        if (this.subscriptions.size > 0) this.publish(streamId, events, createdAt, outcome);
      },
      committed: (head) => {
        for (const listener of this.commitListeners) listener(head);
      },
      ...(beforeCommit ? { beforeCommit } : {}),
    });
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
      enterWalMode(db, busyTimeoutMs);
      db.pragma(`synchronous = ${sync === "full" ? "FULL" : "NORMAL"}`);
      // Deleted and overwritten content is zeroed in the file, as in the key store (issue 36).
      db.pragma("secure_delete = ON");
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
      return new SqliteEventStore(db, pollIntervalMs, options.beforeCommit);
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
    validateAppend(streamId, events, options.expectedRevision);
    return this.appends.append(streamId, events, options.expectedRevision);
  }

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
      return () => {
        if (remaining <= 0) return END_OF_READ;
        this.assertOpen();
        const limit = Math.min(PAGE_SIZE, remaining);
        const rows = this.guardRead(() => this.reads.streamPage(streamId, revision, limit, backwards));
        chargeWork("events", rows.length);
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
      const plan = this.reads.planFor(compileEventFilter(options.filter));
      let remaining = countOf(options.maxCount);
      const from = options.from === undefined ? undefined : positionNumber(options.from);
      let lo = backwards ? 0 : (from ?? 0);
      let hi = backwards ? (from ?? NO_UPPER_BOUND) : NO_UPPER_BOUND;
      return () => {
        if (remaining <= 0) return END_OF_READ;
        this.assertOpen();
        const limit = Math.min(PAGE_SIZE, remaining);
        const page = this.guardRead(() => this.reads.readPage(plan, lo, hi, limit, backwards));
        chargeWork("events", page.rows.length);
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
        plan = this.reads.planFor(compileEventFilter(options.filter));
        const { from } = options;
        cursor =
          from === "start"
            ? 0
            : from === "end"
              ? this.guardRead(() => this.reads.head())
              : positionNumber(from);
      } catch (error) {
        subscriber.error(error);
        return;
      }
      const matches = plan.kind === "selections" ? plan.matches : () => plan.kind === "all";
      const subscription = new LiveSubscription(
        {
          head: () => this.reads.head(),
          readForwards: (after, upTo, limit) => {
            this.assertOpen();
            return this.reads.readPage(plan, after, upTo, limit, false);
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
    const head = this.guardRead(() => this.reads.head());
    return head === 0 ? null : { commit: head, prepare: head };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.appends.drain(); // acknowledge what was already accepted
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

  // --- subscriptions ---

  private poll(): void {
    if (this.closed) return;
    let head: number;
    try {
      head = this.reads.head();
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
      throw mapSqliteError(error, undefined, dirname(this.db.name));
    }
  }
}

function positionNumber(position: Position): number {
  const { commit } = position;
  if (!Number.isSafeInteger(commit) || commit < 0) throw new RangeError(`invalid position ${String(commit)}`);
  return commit;
}
