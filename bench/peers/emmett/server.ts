import { join } from "node:path";
import { DeciderCommandHandler } from "@event-driven-io/emmett";
import { getSQLiteEventStore } from "@event-driven-io/emmett-sqlite";
import { servePeer } from "./app.js";
import { type LotCommand, lotDecider } from "./decider.js";
import { keptOpenEventStore, type PeerEventStore } from "./kept-open-store.js";

/**
 * The Emmett peer: the reserve and register endpoints of the service with the same request and
 * response shapes, on Emmett's DeciderCommandHandler and its SQLite event store (one stream per
 * lot, optimistic concurrency on the stream version, retried on a conflict). Run as its own
 * process (PORT, HOST, DATA_DIR) exactly as the ceiling and the service are.
 *
 * Connection setting (the one change that makes it answer at all under concurrent requests):
 * Emmett 0.38's SQLite store keeps one connection in a variable shared by every call and closes
 * it at the end of each call, and its transactions nest by a counter on that connection; two
 * requests in flight at once close each other's connection ("SQLITE_MISUSE: Database is closed")
 * or commit each other's half-done transaction. So the peer runs one command at a time through
 * an in-process queue: each command opens the file, reads the lot's stream, appends and closes.
 * Even so, now and then a commit fails with "SQLITE_BUSY: cannot commit transaction - SQL
 * statements in progress" (the store's un-awaited `PRAGMA journal_mode = WAL` on the connection it
 * has just opened is still running): the transaction is rolled back, so the command is retried
 * (at most BUSY_RETRIES times).
 *
 * EMMETT_CONNECTION=kept-open is the peer tuned by hand: the same schema, read and append
 * functions of emmett-sqlite over one connection kept open for the process's life
 * (`kept-open-store.ts`), still one command at a time, and its requests built on the app's
 * prototypes as the service's are (`expressMessageClasses`: on Node 20 a bare Express app gives
 * every request hidden classes of its own). The default, `per-call`, is the store as Emmett
 * documents it, on Express as shipped.
 */
const fileName = join(process.env.DATA_DIR ?? ".", "emmett-events.sqlite");
const connectionMode = process.env.EMMETT_CONNECTION ?? "per-call";
if (connectionMode !== "per-call" && connectionMode !== "kept-open")
  throw new Error(`EMMETT_CONNECTION must be per-call or kept-open, not ${connectionMode}`);
const eventStore: PeerEventStore =
  connectionMode === "kept-open"
    ? await keptOpenEventStore(fileName)
    : getSQLiteEventStore({ fileName, schema: { autoMigration: "CreateOrUpdate" } });
const handle = DeciderCommandHandler(lotDecider);

let tail: Promise<unknown> = Promise.resolve();
function oneAtATime<T>(task: () => Promise<T>): Promise<T> {
  const run = tail.then(task, task);
  tail = run.catch(() => undefined);
  return run;
}

/** SQLITE_BUSY from a transaction that was rolled back: nothing was appended, so deciding again is safe. */
const isBusy = (error: unknown) =>
  error instanceof Error && (error as { code?: string }).code === "SQLITE_BUSY";
const BUSY_RETRIES = 5;

async function execute(lotId: string, command: LotCommand) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await oneAtATime(() => handle(eventStore, lotId, command));
    } catch (error) {
      if (!isBusy(error) || attempt >= BUSY_RETRIES) throw error;
    }
  }
}

servePeer(`emmett peer (${connectionMode} connection)`, execute, connectionMode === "kept-open");
