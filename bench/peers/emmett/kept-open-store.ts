import {
  assertExpectedVersionMatchesCurrent,
  ExpectedVersionConflictError,
  NO_CONCURRENCY_CHECK,
} from "@event-driven-io/emmett";
import {
  appendToStream,
  createEventStoreSchema,
  readStream,
  type SQLiteEventStore,
  SQLiteEventStoreDefaultStreamVersion,
  sqliteConnection,
} from "@event-driven-io/emmett-sqlite";

/**
 * The peer tuned by hand (EMMETT_CONNECTION=kept-open): Emmett's own SQLite schema, stream read
 * and append (the functions emmett-sqlite exports), over one connection opened at start and kept
 * open, instead of `getSQLiteEventStore`'s open-and-close around every call. Same semantics as
 * the store it replaces: the stream version checked on read and on append, a conflict thrown as
 * Emmett's `ExpectedVersionConflictError` (so the command handler retries it), the global
 * position returned. Its transactions nest by a counter on the connection, so callers still run
 * one command at a time.
 */
export type PeerEventStore = Omit<SQLiteEventStore, "consumer">;

export async function keptOpenEventStore(fileName: string): Promise<PeerEventStore> {
  const connection = sqliteConnection({ fileName });
  await connection.command("PRAGMA journal_mode = WAL");
  await createEventStoreSchema(connection);
  const store: PeerEventStore = {
    async aggregateStream(streamName, { evolve, initialState, read }) {
      const { currentStreamVersion, events, streamExists } = await readStream(connection, streamName, read);
      assertExpectedVersionMatchesCurrent(
        currentStreamVersion,
        read?.expectedStreamVersion,
        SQLiteEventStoreDefaultStreamVersion,
      );
      let state = initialState();
      for (const event of events) if (event) state = evolve(state, event as never);
      return { currentStreamVersion, state, streamExists };
    },
    readStream: (streamName, options) => readStream(connection, streamName, options),
    async appendToStream(streamName, events, options) {
      const [streamType = "emt:unknown"] = streamName.split("-");
      const result = await appendToStream(connection, streamName, streamType, events, options);
      if (!result.success)
        throw new ExpectedVersionConflictError(-1n, options?.expectedStreamVersion ?? NO_CONCURRENCY_CHECK);
      return {
        nextExpectedStreamVersion: result.nextStreamPosition,
        lastEventGlobalPosition: result.lastGlobalPosition,
        createdNewStream: result.nextStreamPosition >= BigInt(events.length),
      };
    },
  };
  return store;
}
