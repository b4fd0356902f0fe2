import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { DeciderCommandHandler } from "@event-driven-io/emmett";
import { getSQLiteEventStore } from "@event-driven-io/emmett-sqlite";
import express, { type NextFunction, type Request, type Response } from "express";
import { expressMessageClasses } from "../../../platform/http/express-messages.js";
import { decide, evolve, initialState, type LotCommand, Refused } from "./decider.js";
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
const handle = DeciderCommandHandler({
  decide,
  evolve,
  initialState,
  mapToStreamId: (id) => `parkingLot-${id}`,
  retry: { onVersionConflict: 10 },
});

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

const app = express();
app.disable("x-powered-by");
app.set("etag", false);
app.use(express.json({ limit: "16kb" }));

app.get("/healthz", (_req, res) => {
  res.json({ status: "ok" });
});

app.post("/parking-lots", async (req, res, next) => {
  try {
    const body = req.body as { parkingLotId?: string; name: string; capacity: number };
    const parkingLotId = body.parkingLotId ?? randomUUID();
    const result = await execute(parkingLotId, {
      type: "RegisterLot",
      data: { parkingLotId, name: body.name, capacity: body.capacity },
    });
    res
      .status(201)
      .location(`/parking-lots/${parkingLotId}`)
      .json({
        parkingLotId,
        name: body.name,
        capacity: body.capacity,
        position: String(result.lastEventGlobalPosition),
      });
  } catch (error) {
    next(error);
  }
});

app.post("/parking-lots/:parkingLotId/reservations", async (req, res, next) => {
  try {
    const parkingLotId = req.params.parkingLotId as string;
    const body = req.body as { customerId: string; carNumber: string; amount: number };
    const reservationId = randomUUID();
    const result = await execute(parkingLotId, {
      type: "Reserve",
      data: { parkingLotId, reservationId, ...body, now: new Date().toISOString() },
    });
    res
      .status(201)
      .location(`/reservations/${reservationId}`)
      .json({
        reservationId,
        parkingLotId,
        customerId: body.customerId,
        carNumber: body.carNumber,
        amount: body.amount,
        status: "RESERVED",
        position: String(result.lastEventGlobalPosition),
      });
  } catch (error) {
    next(error);
  }
});

app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
  if (error instanceof Refused) {
    res
      .status(error.status)
      .type("application/problem+json")
      .json({ title: error.message, status: error.status });
    return;
  }
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  res.status(500).type("application/problem+json").json({ title: "internal error", status: 500 });
});

const server = createServer(connectionMode === "kept-open" ? expressMessageClasses(app) : {}, app);
server.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? "127.0.0.1", () => {
  const { port } = server.address() as AddressInfo;
  process.stderr.write(`emmett peer (${connectionMode} connection) on ${port}\n`);
});
server.keepAliveTimeout = 5_000;
const stop = () => server.close(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
