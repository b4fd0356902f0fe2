import { parentPort, workerData } from "node:worker_threads";
import type { EventStore } from "../event-store/port.js";
import { flushCompileCache } from "../platform/compile-cache.js";
import type { Config } from "../platform/config.js";
import { EventLoopWatch } from "../platform/event-loop-watch.js";
import { createLogger, resolveLogOutput } from "../platform/logger.js";
import { Metrics } from "../platform/metrics.js";
import { StallBoard } from "../platform/stall-board.js";
import { type AppendReply, CommitSignal, observeCommit, relayingAppends } from "./append-relay.js";
import { useBuiltValidators } from "./generated-validators.js";
import type { FromProcessors, ToProcessors } from "./processor-thread.js";
import { createServices } from "./services.js";

/**
 * The worker thread of ROLE=all that runs the processors (projections, coupon policy): exactly
 * what a ROLE=projector process runs (startProcessors, through createServices), with its own event-store and document-store connections (WAL lets
 * them write beside the request thread's). It reports to the request thread: each projection's
 * progress as it advances (read-your-writes waits on it), status, and its metrics on request.
 */
const port = parentPort;
if (!port) throw new Error("app/processors-worker.ts runs as a worker thread of the service");
const {
  config,
  commits: commitBuffer,
  stallBoard,
} = workerData as { config: Config; commits: SharedArrayBuffer; stallBoard?: SharedArrayBuffer };
/** The request thread's last commit, shared (see CommitSignal). */
const commits = new CommitSignal(commitBuffer);
const logger = createLogger(
  config.logLevel,
  { role: config.role, thread: "processors" },
  resolveLogOutput(config.logFormat, false),
);
const metrics = new Metrics({ defaultMetrics: false });
// This thread's heartbeat, read by the process's watchdog; a stall it comes back from is logged and
// counted on the shared board (the request thread's /healthz and /metrics read it).
const loop = stallBoard
  ? new EventLoopWatch(config.eventLoopStallMs, logger, new StallBoard(stallBoard), "processors").start()
  : undefined;
const post = (message: FromProcessors) => port.postMessage(message);
/** Where the request thread's answers to this thread's appends go (embedded event store only). */
let receiveAppendReply: ((reply: AppendReply) => void) | undefined;
/** This thread's own connection to the embedded event store (told of the request thread's commits). */
let ownEventStore: EventStore | undefined;
/** What the request thread asks once the processors run (a stop may come while they start). */
let serve: ((message: ToProcessors) => void) | undefined;
let stopRequested = false;
/** The request thread's stores are open (ProcessorThread.start): this thread may open its own. */
let go: () => void = () => undefined;
const goSaid = new Promise<void>((resolve) => {
  go = resolve;
});

// Listening from the start: the processors' first catch-up may append (coupon policy) and wait
// for the request thread's answer before startProcessors returns.
port.on("message", (message: ToProcessors) => {
  if (message.type === "appended" || message.type === "append-failed") receiveAppendReply?.(message);
  else if (message.type === "committed") observeCommit(ownEventStore, commits);
  else if (message.type === "go") go();
  else if (serve) serve(message);
  else if (message.type === "stop") stopRequested = true;
});

try {
  // The build's validators (app/generated-validators.ts) taken while the request thread opens its stores.
  await useBuiltValidators();
  // Spawned early (app/processors-spawn.ts), this thread loaded its modules beside the request
  // thread's; it opens its stores once that thread has opened (and, on a first start, created) its.
  await goSaid;
  // The request thread appends through its own connection and tells this thread of each commit
  // ("committed"); polling the head (EMBEDDED_POLL_INTERVAL_MS) stays for other processes' appends.
  const services = await createServices(
    { ...config, role: "projector" },
    logger,
    metrics,
    // The embedded store's file has one writer per process: the request thread's connection.
    // EventStoreDB and PostgreSQL serve any number of writing clients, so there each thread appends
    // itself; on PostgreSQL that is also what makes its log await the new data keys this thread
    // made (commitKeysBeforePostgresLog) before it commits the events sealed under them.
    config.eventStoreUrl || config.databaseUrl
      ? {}
      : {
          wrapEventStore: (store) => {
            ownEventStore = store;
            const relay = relayingAppends(store, post);
            receiveAppendReply = relay.receive;
            return relay.store;
          },
        },
  );
  const processors = services.processors;
  const report = () => post({ type: "status", processors: processors?.status() ?? [] });
  processors?.onAdvance((name, position) => post({ type: "advance", name, position }));
  // Failures and caught-up flags have no event of their own: report the whole status often.
  const timer = setInterval(report, 200);
  report();
  // This thread's compiled modules kept for the next start (inert unless main.ts enabled the cache).
  flushCompileCache();
  serve = (message) => {
    switch (message.type) {
      case "metrics":
        void metrics.registry
          .getMetricsAsJSON()
          .then((json) => post({ type: "metrics", id: message.id, metrics: json }));
        return;
      case "stop":
        clearInterval(timer);
        void loop?.stop();
        void services
          .close()
          .then(() => post({ type: "stopped" }))
          .catch((error: unknown) => post({ type: "failed", error: String(error) }))
          .finally(() => port.close());
        return;
    }
  };
  if (stopRequested) serve({ type: "stop" });
} catch (error) {
  logger.error({ err: error }, "processors thread failed to start");
  post({ type: "failed", error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  port.close();
}
