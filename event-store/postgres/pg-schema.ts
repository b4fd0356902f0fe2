import type { MigrationStep } from "../../platform/postgres/migrations.js";

/**
 * The event log's table on PostgreSQL.
 *
 * - `position`: the global position, assigned by the append itself under the append lock
 *   (APPEND_LOCK: see pg-event-store.ts): the head plus one, so positions are gapless and increase
 *   in commit order. No sequence: a sequence hands out numbers in the order transactions ask, not
 *   the order they commit, and a reader could skip a number that commits after a higher one.
 * - `(stream_id, revision)` unique: the database itself refuses two events at one revision.
 * - `id` unique across the log, as EventStoreDB's event ids.
 * - `data`, `metadata` as `json` (not `jsonb`): kept as written, key order and all; the log is read
 *   by position and stream, never searched by content.
 */
export const EVENT_STORE_MIGRATIONS: readonly MigrationStep[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE IF NOT EXISTS events (
        position bigint PRIMARY KEY,
        stream_id text NOT NULL,
        revision bigint NOT NULL,
        id uuid NOT NULL,
        type text NOT NULL,
        data json NOT NULL,
        metadata json NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT events_stream_revision UNIQUE (stream_id, revision),
        CONSTRAINT events_id UNIQUE (id)
      );
      CREATE INDEX IF NOT EXISTS events_type_position ON events (type, position);`,
  },
];

/** The advisory lock every append takes (transaction-level): appends commit one at a time, in position order. */
export const APPEND_LOCK = 7_000_070_002;

/** The channel appends notify (payload: the new head position) for live subscriptions. */
export const APPEND_CHANNEL = "event_store_appended";

export interface EventRow {
  readonly position: string;
  readonly stream_id: string;
  readonly revision: string;
  readonly id: string;
  readonly type: string;
  readonly data: unknown;
  readonly metadata: Record<string, unknown>;
  readonly created_at: Date;
}

export const COLUMNS = "position, stream_id, revision, id, type, data, metadata, created_at";
