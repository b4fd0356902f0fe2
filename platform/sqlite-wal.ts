/** What `enterWalMode` needs of a SQLite connection (better-sqlite3's Database has it). */
export interface PragmaConnection {
  pragma(source: string): unknown;
}

const isBusy = (error: unknown): boolean => {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && code.startsWith("SQLITE_BUSY");
};

const pause = (ms: number): void => {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
};

/**
 * `PRAGMA journal_mode = WAL`, waiting out other processes that open the same file at the same
 * moment. Switching a new file to WAL takes an exclusive lock, and two connections that both hold
 * a shared lock while they try it deadlock: SQLite answers SQLITE_BUSY at once, without its busy
 * handler (busy_timeout does not cover it). Services started together on a fresh data directory
 * (two projector roles, a rolling start) met it as "database is locked" and one of them did not
 * start. The switch is tried again after a short, jittered pause until `timeoutMs` has passed;
 * every other error, and BUSY after the timeout, is thrown. Synchronous, like the opening it is
 * part of: it blocks only a process that is starting.
 */
export function enterWalMode(db: PragmaConnection, timeoutMs: number): void {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      db.pragma("journal_mode = WAL");
      return;
    } catch (error) {
      if (!isBusy(error) || !(Date.now() < deadline)) throw error;
      pause(5 + Math.random() * 20);
    }
  }
}
