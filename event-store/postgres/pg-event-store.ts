import { randomUUID } from "node:crypto";
import pg from "pg";
import { Observable } from "rxjs";
import { poolConfig } from "../../platform/postgres/hosts.js";
import { type MigrationStep, migrate } from "../../platform/postgres/migrations.js";
import { chargeWork } from "../../platform/work-budget.js";
import { countOf, validateAppend, validateRevision } from "../arguments.js";
import { EventStoreClosedError, WrongExpectedRevisionError } from "../errors.js";
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
import { mapPgError } from "./pg-errors.js";
import { Follower, LogTail, positionAt, type TailRow } from "./pg-live.js";
import { APPEND_CHANNEL, COLUMNS, EVENT_STORE_MIGRATIONS, type EventRow } from "./pg-schema.js";

export interface PostgresEventStoreOptions {
  /** `postgres://` or `postgresql://` URL; TLS and the rest as pg's connection string parsing reads them. */
  readonly url: string;
  /** Connections in this process's pool (default 10), plus one for LISTEN while someone subscribes. */
  readonly poolSize?: number;
  /** How often live subscriptions poll the head besides LISTEN/NOTIFY (the fallback). Default 1 s. */
  readonly pollIntervalMs?: number;
  /**
   * Called before each append's commit (the data keys its events are sealed under are stored first:
   * app/personal-data.ts); a throw refuses the append, nothing written.
   */
  readonly beforeCommit?: () => void | Promise<void>;
}

const PAGE_SIZE = 1000;
const MIGRATIONS: readonly MigrationStep[] = EVENT_STORE_MIGRATIONS;

/**
 * The event store on PostgreSQL (driver `pg`), with the port's semantics.
 *
 * Positions never show a gap to a reader. Every append is one statement, the function
 * `event_store_append` (pg-schema.ts: one round trip), in its own transaction, that first takes
 * the transaction-level advisory lock APPEND_LOCK (`pg_advisory_xact_lock`), then reads the head
 * and the stream's revision, checks the expected revision, and inserts its events at head+1...
 * PostgreSQL makes a commit visible before it releases the transaction's locks, so the next append
 * sees it: appends commit one at a time in position order, and a reader that sees position N
 * sees every position below it. (The cost: appends to the database are serialised, one commit at
 * a time, as on the embedded store; a transaction-id horizon would let them overlap at the price
 * of a subtler reader.) The unique (stream_id, revision) constraint stays as the database's own
 * guard against two events at one revision.
 *
 * Live subscriptions wake on `LISTEN event_store_appended` (every append NOTIFYs its new head in its
 * transaction, delivered at commit) and on a polling timer as the fallback, so a lost LISTEN
 * connection only slows them. Migrations run once, online (platform/postgres/migrations.ts).
 */
export class PostgresEventStore implements EventStore {
  private closed = false;
  private readonly followers = new Set<Follower>();
  private readonly tail = new LogTail((after, upTo, limit) => this.tailRows(after, upTo, limit));
  private pollTimer: NodeJS.Timeout | undefined;
  private listener: pg.Client | undefined;

  private constructor(
    private readonly pool: pg.Pool,
    /** The pool's configuration: the LISTEN connection is made with it (the same host choice). */
    private readonly config: pg.PoolConfig,
    private readonly pollIntervalMs: number,
    private readonly beforeCommit: (() => void | Promise<void>) | undefined,
  ) {}

  /** Connects and runs the migrations this code needs (once per database, whoever starts first). */
  static async open(options: PostgresEventStoreOptions): Promise<PostgresEventStore> {
    const { url, poolSize = 10, pollIntervalMs = 1000 } = options;
    if (!/^postgres(ql)?:\/\//.test(url)) throw new RangeError("the event store needs a postgres:// URL");
    if (!(pollIntervalMs > 0)) throw new RangeError("pollIntervalMs must be positive");
    const config = poolConfig(url, { max: poolSize, connectionTimeoutMillis: 5000 });
    const pool = new pg.Pool(config);
    // An idle connection that breaks (the server restarted) is dropped by the pool; the next call reconnects.
    pool.on("error", () => undefined);
    try {
      await migrate(pool, "event-store", MIGRATIONS);
    } catch (error) {
      await pool.end();
      throw mapPgError(error);
    }
    return new PostgresEventStore(pool, config, pollIntervalMs, options.beforeCommit);
  }

  async appendToStream(
    streamId: string,
    events: readonly EventToAppend[],
    options: { readonly expectedRevision: ExpectedRevision },
  ): Promise<AppendResult> {
    this.assertOpen();
    const expected = options.expectedRevision;
    validateAppend(streamId, events, expected);
    // The data keys the events are sealed under are stored before the log's commit (a key without
    // its events is harmless; events without their key would be unreadable).
    try {
      await this.beforeCommit?.();
      const { rows } = await this.pool.query<{ accepted: boolean; revision: string | null; head: string }>(
        "SELECT accepted, revision, head FROM event_store_append($1, $2, $3::uuid[], $4::text[], $5::json[], $6::json[])",
        [
          streamId,
          String(expected),
          events.map((e) => e.id ?? randomUUID()),
          events.map((e) => e.type),
          events.map((e) => JSON.stringify(e.data ?? null)),
          events.map((e) => JSON.stringify(e.metadata ?? {})),
        ],
      );
      const row = rows[0];
      if (!row) throw new Error("event_store_append answered no row");
      if (!row.accepted)
        throw new WrongExpectedRevisionError(
          streamId,
          expected,
          row.revision == null ? "no_stream" : Number(row.revision),
        );
      this.wakeFollowers(Number(row.head));
      return { nextExpectedRevision: Number(row.revision), position: positionAt(Number(row.head)) };
    } catch (error) {
      throw mapPgError(error, { streamId, expected });
    }
  }

  readStream(streamId: string, options: ReadStreamOptions = {}): AsyncIterable<RecordedEvent> {
    const backwards = options.direction === "backwards";
    return this.paged(async function* (this: PostgresEventStore) {
      let remaining = countOf(options.maxCount);
      let revision = validateRevision(
        options.fromRevision ?? (backwards ? Number.MAX_SAFE_INTEGER : 0),
        "fromRevision",
      );
      while (remaining > 0) {
        const limit = Math.min(PAGE_SIZE, remaining);
        const rows = await this.query<EventRow>(
          `SELECT ${COLUMNS} FROM events WHERE stream_id = $1 AND revision ${backwards ? "<=" : ">="} $2
           ORDER BY revision ${backwards ? "DESC" : "ASC"} LIMIT $3`,
          [streamId, revision, limit],
        );
        chargeWork("events", rows.length);
        remaining -= rows.length;
        yield rows;
        const last = rows[rows.length - 1];
        if (last === undefined || rows.length < limit) return;
        revision = Number(last.revision) + (backwards ? -1 : 1);
        if (revision < 0) return;
      }
    });
  }

  readAll(options: ReadAllOptions = {}): AsyncIterable<RecordedEvent> {
    const backwards = options.direction === "backwards";
    return this.paged(async function* (this: PostgresEventStore) {
      const filter = compileEventFilter(options.filter);
      let remaining = countOf(options.maxCount);
      if (filter.kind === "none") return;
      let cursor = options.from === undefined ? undefined : positionNumber(options.from);
      while (remaining > 0) {
        const limit = Math.min(PAGE_SIZE, remaining);
        const rows = await this.selectPage(filter, cursor, undefined, limit, backwards);
        chargeWork("events", rows.length);
        remaining -= rows.length;
        yield rows;
        const last = rows[rows.length - 1];
        if (last === undefined || rows.length < limit) return;
        cursor = Number(last.position);
      }
    });
  }

  subscribeToAll(options: SubscribeToAllOptions): Observable<RecordedEvent> {
    return eventsOf(this.followAll(options));
  }

  followAll(options: SubscribeToAllOptions): Observable<LogMessage> {
    return new Observable<LogMessage>((subscriber) => {
      let filter: CompiledEventFilter;
      let from: number | "end";
      try {
        this.assertOpen();
        filter = compileEventFilter(options.filter);
        from = options.from === "start" ? 0 : options.from === "end" ? "end" : positionNumber(options.from);
      } catch (error) {
        subscriber.error(error);
        return;
      }
      const follower = new Follower(
        {
          head: () => this.head(),
          readSelected: (after, upTo, limit) => this.readSelected(filter, after, upTo, limit),
        },
        subscriber,
        from,
        (ended) => this.unregister(ended),
      );
      this.followers.add(follower);
      this.startWatching();
      follower.wake();
      return () => follower.stop();
    });
  }

  async headPosition(): Promise<Position | null> {
    this.assertOpen();
    const head = await this.head();
    return head === 0 ? null : positionAt(head);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopWatching();
    for (const follower of [...this.followers])
      follower.fail(new EventStoreClosedError("the event store was closed"));
    this.followers.clear();
    await this.pool.end();
  }

  // --- reads ---

  /**
   * A follower's selected events in (after, upTo], at most `limit`: from the shared tail when it
   * holds them (one read of the log's latest events for every follower of this process), else
   * from the database with the filter.
   */
  private async readSelected(
    filter: CompiledEventFilter,
    after: number,
    upTo: number,
    limit: number,
  ): Promise<RecordedEvent[]> {
    if (filter.kind === "none") return [];
    const matches = eventMatcher(filter);
    const out: RecordedEvent[] = [];
    let at = after;
    while (at < upTo && out.length < limit) {
      const rows = await this.tail.slice(at, upTo, limit);
      if (rows === undefined || rows.length === 0) {
        const rest = await this.selectPage(filter, at, upTo, limit - out.length, false);
        return [...out, ...rest.map(decodeRow)];
      }
      for (const row of rows) {
        if (matches(row.streamId, row.type)) out.push(decodeTailRow(row));
        if (out.length === limit) return out;
      }
      at = (rows.at(-1) as TailRow).position;
    }
    return out;
  }

  /** The log's rows in (after, upTo], everything, for the shared tail. */
  private async tailRows(after: number, upTo: number, limit: number): Promise<TailRow[]> {
    const rows = await this.query<EventRow & { data: string; metadata: string }>(
      `SELECT position, stream_id, revision, id, type, data::text AS data, metadata::text AS metadata, created_at
       FROM events WHERE position > $1 AND position <= $2 ORDER BY position LIMIT $3`,
      [after, upTo, limit],
    );
    return rows.map((r) => ({
      position: Number(r.position),
      streamId: r.stream_id,
      revision: Number(r.revision),
      id: r.id,
      type: r.type,
      data: r.data,
      metadata: r.metadata,
      createdAt: r.created_at,
    }));
  }

  private async head(): Promise<number> {
    const rows = await this.query<{ head: string | null }>("SELECT max(position) AS head FROM events", []);
    return Number(rows[0]?.head ?? 0);
  }

  private selectPage(
    filter: CompiledEventFilter,
    after: number | undefined,
    upTo: number | undefined,
    limit: number,
    backwards: boolean,
  ): Promise<EventRow[]> {
    const params: unknown[] = [limit];
    const where: string[] = [];
    if (after !== undefined) where.push(`position ${backwards ? "<" : ">"} $${params.push(after)}`);
    if (upTo !== undefined) where.push(`position <= $${params.push(upTo)}`);
    if (filter.kind === "types") where.push(`type = ANY($${params.push(filter.eventTypes)}::text[])`);
    if (filter.kind === "prefixes")
      where.push(
        `EXISTS (SELECT 1 FROM unnest($${params.push(filter.streamPrefixes)}::text[]) AS p WHERE starts_with(stream_id, p))`,
      );
    return this.query<EventRow>(
      `SELECT ${COLUMNS} FROM events ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""}
       ORDER BY position ${backwards ? "DESC" : "ASC"} LIMIT $1`,
      params,
    );
  }

  private async query<Row extends pg.QueryResultRow>(sql: string, params: unknown[]): Promise<Row[]> {
    this.assertOpen();
    try {
      return (await this.pool.query<Row>(sql, params)).rows;
    } catch (error) {
      throw this.closed ? new EventStoreClosedError("the event store is closed") : mapPgError(error);
    }
  }

  private paged(
    pages: (this: PostgresEventStore) => AsyncGenerator<readonly EventRow[]>,
  ): AsyncIterable<RecordedEvent> {
    const store = this;
    return {
      async *[Symbol.asyncIterator]() {
        store.assertOpen();
        for await (const rows of pages.call(store)) for (const row of rows) yield decodeRow(row);
      },
    };
  }

  // --- live subscriptions ---

  /** `head`: when known, every position up to it is committed (a NOTIFY's payload, an own append). */
  private wakeFollowers(head?: number): void {
    for (const follower of this.followers) follower.wake(head);
  }

  private startWatching(): void {
    this.pollTimer ??= setInterval(() => {
      // One read of the head for every follower (each asks itself if it fails).
      this.head().then(
        (head) => this.wakeFollowers(head),
        () => this.wakeFollowers(),
      );
      if (this.listener === undefined) void this.listen();
    }, this.pollIntervalMs);
    if (this.listener === undefined) void this.listen();
  }

  /** A connection of its own that LISTENs; losing it leaves the polling timer, which tries again. */
  private async listen(): Promise<void> {
    const Client = (this.config.Client ?? pg.Client) as typeof pg.Client;
    const client = new Client(this.config);
    this.listener = client;
    const drop = () => {
      if (this.listener === client) this.listener = undefined;
      void client.end().catch(() => undefined);
    };
    client.on("error", drop);
    client.on("end", drop);
    client.on("notification", (message) => {
      const head = Number(message.payload);
      this.wakeFollowers(Number.isSafeInteger(head) && head > 0 ? head : undefined);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${APPEND_CHANNEL}`);
      if (this.listener !== client) await client.end();
      else this.wakeFollowers(); // what was appended while it connected
    } catch {
      drop();
    }
  }

  private stopWatching(): void {
    if (this.pollTimer !== undefined) clearInterval(this.pollTimer);
    this.pollTimer = undefined;
    const listener = this.listener;
    this.listener = undefined;
    void listener?.end().catch(() => undefined);
  }

  private unregister(follower: Follower): void {
    this.followers.delete(follower);
    if (this.followers.size === 0) this.stopWatching();
  }

  private assertOpen(): void {
    if (this.closed) throw new EventStoreClosedError("the event store is closed");
  }
}

function decodeRow(row: EventRow): RecordedEvent {
  const position = Number(row.position);
  return {
    id: row.id,
    streamId: row.stream_id,
    revision: Number(row.revision),
    position: positionAt(position),
    type: row.type,
    data: row.data,
    metadata: row.metadata,
    createdAt: row.created_at,
  };
}

function positionNumber(position: Position): number {
  const { commit } = position;
  if (!Number.isSafeInteger(commit) || commit < 0) throw new RangeError(`invalid position ${String(commit)}`);
  return commit;
}

function decodeTailRow(row: TailRow): RecordedEvent {
  return {
    id: row.id,
    streamId: row.streamId,
    revision: row.revision,
    position: positionAt(row.position),
    type: row.type,
    data: JSON.parse(row.data),
    metadata: JSON.parse(row.metadata) as Record<string, unknown>,
    createdAt: row.createdAt,
  };
}
