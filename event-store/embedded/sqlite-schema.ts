/**
 * Schema and SQL of the embedded event store.
 *
 * One row per event; `position` is the INTEGER PRIMARY KEY (the rowid), so the global log order is
 * the table's own b-tree order and a read of `$all` is a range scan of it. Writers are serialised by
 * SQLite (`BEGIN IMMEDIATE`), rows are never deleted or updated, and a new rowid is always the
 * current maximum + 1: positions are therefore gapless and committed in increasing order.
 *
 * Secondary indexes (every SQLite index ends with the rowid, so each one is also ordered by position
 * within its key):
 * - `events_stream_revision (stream_id, revision)`: reads of a stream, its last revision, and the
 *   guarantee that a revision exists once;
 * - `events_id (id)`: event ids are unique across the store;
 * - `events_type (type)`: `eventTypes` filters seek each type and walk it in position order;
 * - `events_category (category)`: `streamPrefixes` filters. The category of a stream is its name up
 *   to and including the first `-` (`parkingLot-42` → `parkingLot-`), or the whole name when it has
 *   no `-`. Every stream matching a prefix that contains a `-` lies in one category; a prefix without
 *   a `-` covers the categories that start with it (listed in the small `categories` table).
 */

export const SCHEMA_VERSION = 1;

export const DDL = `
CREATE TABLE IF NOT EXISTS events (
  position   INTEGER PRIMARY KEY,
  stream_id  TEXT    NOT NULL,
  revision   INTEGER NOT NULL,
  id         TEXT    NOT NULL,
  type       TEXT    NOT NULL,
  category   TEXT    NOT NULL,
  created_at INTEGER NOT NULL,
  data       TEXT    NOT NULL,
  metadata   TEXT    NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS events_stream_revision ON events (stream_id, revision);
CREATE UNIQUE INDEX IF NOT EXISTS events_id ON events (id);
CREATE INDEX IF NOT EXISTS events_type ON events (type);
CREATE INDEX IF NOT EXISTS events_category ON events (category);
CREATE TABLE IF NOT EXISTS categories (category TEXT PRIMARY KEY) WITHOUT ROWID;
`;

/** A row as read (raw mode): the column order of ROW_COLUMNS. */
export type EventRow = [
  position: number,
  streamId: string,
  revision: number,
  id: string,
  type: string,
  createdAt: number,
  data: string,
  metadata: string,
];

export const ROW_COLUMNS = "position, stream_id, revision, id, type, created_at, data, metadata";

/** The category of a stream (see the module comment). */
export function categoryOf(streamId: string): string {
  const dash = streamId.indexOf("-");
  return dash < 0 ? streamId : streamId.slice(0, dash + 1);
}

/** Which rows a position-ordered page selects, keyed for the prepared statements. */
export type Selection = "all" | "type" | "category" | "categoryPrefix";

const WHERE: Record<Selection, string> = {
  all: "",
  type: "type = @key AND",
  category: "category = @key AND",
  categoryPrefix: "category = @key AND substr(stream_id, 1, length(@prefix)) = @prefix AND",
};

/**
 * Forwards pages select positions in (lo, hi]; backwards pages select (lo, hi) from the top. `cols` is
 * either the full row or just the position (index-only when the selection is covered by an index).
 */
export function pageSql(selection: Selection, backwards: boolean, cols: "row" | "position"): string {
  const columns = cols === "row" ? ROW_COLUMNS : "position";
  const range = backwards ? "position > @lo AND position < @hi" : "position > @lo AND position <= @hi";
  const order = backwards ? "DESC" : "ASC";
  return `SELECT ${columns} FROM events WHERE ${WHERE[selection]} ${range} ORDER BY position ${order} LIMIT @limit`;
}

/** Rows by a JSON array of positions (the merge of several selections). */
export function rowsByPositionsSql(backwards: boolean): string {
  return `SELECT ${ROW_COLUMNS} FROM events WHERE position IN (SELECT value FROM json_each(@positions)) ORDER BY position ${backwards ? "DESC" : "ASC"}`;
}
