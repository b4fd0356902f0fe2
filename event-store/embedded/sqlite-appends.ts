import { dirname } from "node:path";
import type Database from "better-sqlite3";
import { v7 as timeOrderedUuid } from "uuid";
import { EventStoreError, WrongExpectedRevisionError } from "../errors.js";
import type { AppendResult, EventToAppend, ExpectedRevision } from "../port.js";
import { isPerAppendFailure, mapSqliteError } from "./sqlite-errors.js";
import { categoryOf } from "./sqlite-schema.js";

/** Most appends committed together (see GroupCommit.flush). */
const MAX_GROUP = 1000;

export type PreparedEvent = readonly [id: string, type: string, data: string, metadata: string];

export interface AppendOutcome {
  readonly firstPosition: number;
  readonly lastPosition: number;
  readonly firstRevision: number;
  readonly lastRevision: number;
}

interface PendingAppend {
  readonly streamId: string;
  readonly expectedRevision: ExpectedRevision;
  readonly events: readonly PreparedEvent[];
  readonly resolve: (result: AppendResult) => void;
  readonly reject: (error: unknown) => void;
  outcome?: AppendOutcome | undefined;
  failure?: unknown;
}

/** What the store does with what was committed, before and after the callers are answered. */
export interface CommitHooks {
  /** One append of the group committed (called before its caller is answered). */
  appended(
    streamId: string,
    events: readonly PreparedEvent[],
    createdAt: number,
    outcome: AppendOutcome,
  ): void;
  /** The group committed; `head` is its last position (called once per group with a success). */
  committed(head: number): void;
  /** Before each group's transaction: what its events need committed first; a throw refuses the group. */
  beforeCommit?(): void;
}

export function prepareEvent(event: EventToAppend): PreparedEvent {
  // Generated ids are time-ordered (UUIDv7) so that the unique index on ids grows at its end.
  const id = event.id === undefined ? timeOrderedUuid() : event.id.toLowerCase();
  return [id, event.type, JSON.stringify(event.data) ?? "null", JSON.stringify(event.metadata ?? {})];
}

/**
 * Group commit: every append requested since the last flush (typically the concurrent requests of
 * one event-loop turn, across streams) goes into one `BEGIN IMMEDIATE` transaction, each in its
 * own savepoint, and all are acknowledged after that single commit, each with its own position.
 * Expected revisions are checked in request order inside the transaction, exactly as if the
 * appends ran one after another: one that fails (wrong revision, duplicate id) rolls back alone.
 */
export class GroupCommit {
  /** Categories known to be in the `categories` table (so appends skip the insert). */
  private readonly knownCategories = new Set<string>();
  private readonly lastRevisionStmt: Database.Statement<[string], number>;
  private readonly insertStmt: Database.Statement<
    [string, number, string, string, string, number, string, string],
    never
  >;
  private readonly insertCategoryStmt: Database.Statement<[string], never>;
  /** Appends waiting for the next flush. */
  private queue: PendingAppend[] = [];
  private flushScheduled = false;
  private readonly commitGroup: (group: readonly PendingAppend[], createdAt: number) => void;
  /** The database's directory: asked whether it is full or read-only when a commit fails. */
  private readonly directory: string;

  constructor(
    db: Database.Database,
    private readonly hooks: CommitHooks,
  ) {
    this.directory = dirname(db.name);
    this.lastRevisionStmt = db
      .prepare<[string], number>(
        "SELECT revision FROM events WHERE stream_id = ? ORDER BY revision DESC LIMIT 1",
      )
      .pluck();
    this.insertStmt = db.prepare(
      "INSERT INTO events (stream_id, revision, id, type, category, created_at, data, metadata) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    );
    this.insertCategoryStmt = db.prepare("INSERT OR IGNORE INTO categories (category) VALUES (?)");
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
    this.commitGroup = (appends, createdAt) => group.immediate(appends, createdAt);
  }

  /** Queues an append for the next flush (scheduled for the end of this event-loop turn). */
  append(
    streamId: string,
    events: readonly EventToAppend[],
    expected: ExpectedRevision,
  ): Promise<AppendResult> {
    const prepared = events.map(prepareEvent);
    return new Promise<AppendResult>((resolve, reject) => {
      this.queue.push({ streamId, expectedRevision: expected, events: prepared, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(this.flush);
      }
    });
  }

  /** Commits and answers everything queued (at close: what was accepted is acknowledged). */
  drain(): void {
    while (this.queue.length > 0) this.flush();
  }

  private readonly flush = (): void => {
    this.flushScheduled = false;
    const group = this.queue.length <= MAX_GROUP ? this.queue : this.queue.slice(0, MAX_GROUP);
    this.queue = this.queue.length <= MAX_GROUP ? [] : this.queue.slice(MAX_GROUP);
    if (this.queue.length > 0) {
      this.flushScheduled = true;
      setImmediate(this.flush);
    }
    if (group.length === 0) return;
    const createdAt = Date.now();
    let groupFailure: unknown;
    try {
      this.hooks.beforeCommit?.();
      this.commitGroup(group, createdAt);
    } catch (error) {
      groupFailure = error;
    }
    let head = 0;
    for (const append of group) {
      const failure = groupFailure ?? append.failure;
      if (failure !== undefined || append.outcome === undefined) {
        append.reject(
          mapSqliteError(
            failure ?? new EventStoreError("append not applied"),
            append.streamId,
            this.directory,
          ),
        );
        continue;
      }
      const { outcome } = append;
      if (outcome.lastPosition > head) head = outcome.lastPosition;
      this.knownCategories.add(categoryOf(append.streamId));
      this.hooks.appended(append.streamId, append.events, createdAt, outcome);
      append.resolve({
        nextExpectedRevision: outcome.lastRevision,
        position: { commit: outcome.lastPosition, prepare: outcome.lastPosition },
      });
    }
    if (head > 0) this.hooks.committed(head);
  };

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
}
