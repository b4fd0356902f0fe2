import type { MigrationStep } from "../../platform/postgres/migrations.js";

/** The advisory lock every append takes (transaction-level): appends commit one at a time, in position order. */
export const APPEND_LOCK = 7_000_070_002;

/** The channel appends notify (payload: the new head position) for live subscriptions. */
export const APPEND_CHANNEL = "event_store_appended";

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
  {
    // One round trip per append: the lock, the checks, the insert and the notification run in the
    // server, so the append lock is held for the statement and its commit, not across five round
    // trips of the client (which bounded the whole database's appends at ~300 a second here).
    version: 2,
    sql: `
      CREATE OR REPLACE FUNCTION event_store_append(
        p_stream text, p_expected text, p_ids uuid[], p_types text[], p_data json[], p_metadata json[]
      ) RETURNS TABLE (accepted boolean, revision bigint, head bigint)
      LANGUAGE plpgsql AS $fn$
      DECLARE
        v_head bigint;
        v_current bigint;
        v_count bigint := cardinality(p_ids);
      BEGIN
        PERFORM pg_advisory_xact_lock(${APPEND_LOCK});
        SELECT coalesce(max(e.position), 0) INTO v_head FROM events e;
        SELECT max(e.revision) INTO v_current FROM events e WHERE e.stream_id = p_stream;
        IF NOT (p_expected = 'any'
                OR (p_expected = 'no_stream' AND v_current IS NULL)
                OR (p_expected = 'stream_exists' AND v_current IS NOT NULL)
                OR (p_expected ~ '^[0-9]+$' AND v_current IS NOT NULL AND v_current = p_expected::bigint)) THEN
          RETURN QUERY SELECT false, v_current, v_head;
          RETURN;
        END IF;
        INSERT INTO events (position, stream_id, revision, id, type, data, metadata)
        SELECT v_head + x.n, p_stream, coalesce(v_current, -1) + x.n, x.id, x.type, x.data, x.metadata
        FROM unnest(p_ids, p_types, p_data, p_metadata) WITH ORDINALITY AS x(id, type, data, metadata, n);
        PERFORM pg_notify('${APPEND_CHANNEL}', (v_head + v_count)::text);
        RETURN QUERY SELECT true, coalesce(v_current, -1) + v_count, v_head + v_count;
      END
      $fn$;`,
  },
];

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
