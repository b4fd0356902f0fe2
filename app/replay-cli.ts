import { existsSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ConfigError, loadConfig } from "../platform/config.js";
import { createLogger } from "../platform/logger.js";
import { PROJECTIONS, projectionByName } from "../projections/read-models/index.js";
import { REBUILD_BATCH_SIZE, ReplayInProgressError, rebuildProjections } from "../projections/replay.js";
import { readViews } from "../read-api/views/views.js";
import { reconcileHoldsOnce } from "./payment-commands.js";
import { openDocumentStore, openEventStore } from "./services.js";
import { upgradeNow } from "./upgrades.js";

const USAGE = `Usage:
  replay status                      each projection's checkpoint, the head of the log, and the lag
  replay rebuild <name|all> [--grace-ms N] [--batch-size N]   (grace: old collections kept after the swap, at least 1000 ms;
                                     batch: events per transaction, default 10000)
                                     rebuild from history into fresh collections, swap them in once
                                     caught up (queries keep answering from the old ones meanwhile)
  replay reconcile-holds             (PAYMENTS=stripe) the provider's open intents carrying this service's
                                     metadata that no booking counts on are canceled now, each release
                                     recorded on its lot (PaymentIntentReleased); the service does it hourly
  replay upgrade                     carry the payments a lot's stream still holds (written by older versions)
                                     onto their own streams (PaymentCarriedOver), then close the books of
                                     every lot at or over LOT_PERIOD_EVENTS, and record both done; the
                                     service does it on start; idempotent, safe while the service runs
Projections: ${PROJECTIONS.map((p) => p.name).join(", ")}
Stores come from the same environment as the service (DATA_DIR, EVENTSTORE_URL, MONGODB_URL, …).`;

const fmt = (n: number) => n.toLocaleString("en-US");

type EventStore = Awaited<ReturnType<typeof openEventStore>>;
type DocumentStore = Awaited<ReturnType<typeof openDocumentStore>>;

/** `replay status`: one line per projection, its checkpoint against the head of the log. */
async function printStatus(eventStore: EventStore, documentStore: DocumentStore): Promise<number> {
  const statuses = await readViews(documentStore, {
    eventStore,
    readYourWritesTimeoutMs: 0,
  }).controlCenter.projectionStatuses();
  process.stdout.write(
    `${"projection".padEnd(18)} ${"state".padEnd(8)} ${"position".padStart(12)} ${"head".padStart(12)} ${"lag".padStart(10)}\n`,
  );
  for (const s of statuses) {
    process.stdout.write(
      `${s.name.padEnd(18)} ${s.state.padEnd(8)} ${(s.position ?? "-").padStart(12)} ${(s.headPosition ?? "-").padStart(12)} ${String(s.lag ?? "?").padStart(10)}${s.error ? `  error: ${s.error}` : ""}\n`,
    );
  }
  return 0;
}

/** What `replay rebuild` was asked to do, or the exit code of a wrong request (the usage said). */
function rebuildRequest(
  target: string | undefined,
  values: { readonly "grace-ms"?: string | undefined; readonly "batch-size"?: string | undefined },
): { projections: typeof PROJECTIONS; graceMs: number; batchSize: number } | number {
  const projections =
    target === "all" || target === undefined
      ? PROJECTIONS
      : [projectionByName(target)].filter((p) => p !== undefined);
  if (projections.length === 0) {
    process.stderr.write(`unknown projection ${target}\n${USAGE}\n`);
    return 2;
  }
  const graceMs = Number(values["grace-ms"] ?? 5000);
  const batchSize = Number(values["batch-size"] ?? REBUILD_BATCH_SIZE);
  if (
    !Number.isInteger(graceMs) ||
    graceMs < 0 ||
    !Number.isInteger(batchSize) ||
    batchSize < 1 ||
    batchSize > 10_000
  ) {
    process.stderr.write(
      `--grace-ms must be a whole number of milliseconds and --batch-size 1–10000\n${USAGE}\n`,
    );
    return 2;
  }
  return { projections, graceMs, batchSize };
}

/** `replay rebuild`: from history into fresh collections, progress on stderr as it goes. */
async function rebuild(
  eventStore: EventStore,
  documentStore: DocumentStore,
  request: Exclude<ReturnType<typeof rebuildRequest>, number>,
  logger: ReturnType<typeof createLogger>,
): Promise<number> {
  const { projections, graceMs, batchSize } = request;
  process.stderr.write(`rebuilding ${projections.map((p) => p.name).join(", ")} from history…\n`);
  const result = await rebuildProjections({
    eventStore,
    documentStore,
    projections,
    logger,
    batchSize,
    graceMs,
    onProgress: ({ position, head, eventsPerSecond, elapsedMs }) => {
      const pct = head ? ((100 * position) / head).toFixed(1) : "100.0";
      const eta = eventsPerSecond > 0 ? `${Math.ceil((head - position) / eventsPerSecond)} s` : "?";
      process.stderr.write(
        `  ${pct.padStart(5)}%  position ${fmt(position)} / ${fmt(head)}  ${fmt(Math.round(eventsPerSecond))} events/s  elapsed ${(elapsedMs / 1000).toFixed(1)} s  eta ${eta}\n`,
      );
    },
  });
  process.stderr.write(
    `done in ${(result.elapsedMs / 1000).toFixed(1)} s: ${Object.entries(result.generations)
      .map(([name, g]) => `${name} g${g.from}→g${g.to}`)
      .join(", ")}\n`,
  );
  return 0;
}

/** `replay reconcile-holds`: one reconciliation of the provider's open intents, its counts on stdout. */
async function reconcile(
  config: ReturnType<typeof loadConfig>,
  eventStore: EventStore,
  logger: ReturnType<typeof createLogger>,
): Promise<number> {
  const outcome = await reconcileHoldsOnce(config, eventStore, logger);
  if (!outcome) {
    process.stderr.write(
      "Payments are off (PAYMENTS=none, or no STRIPE_SECRET_KEY): nothing to reconcile.\n",
    );
    return 2;
  }
  process.stdout.write(
    `open intents with this service's metadata: ${outcome.open}; released: ${outcome.released}; left for later (provider out): ${outcome.failed}; holds found lapsed: ${outcome.lapsed}; repaired from the provider's state: ${JSON.stringify(outcome.repaired)}\n`,
  );
  return outcome.failed > 0 ? 1 : 0;
}

/**
 * `replay upgrade`: the payments carried over, then the lots' books closed, lots done / total on
 * the terminal as each goes.
 */
async function upgrade(
  config: ReturnType<typeof loadConfig>,
  eventStore: EventStore,
  documentStore: DocumentStore,
  logger: ReturnType<typeof createLogger>,
): Promise<number> {
  const tty = process.stderr.isTTY === true;
  let shown = 0;
  const show = (p: { lotsDone: number; lotsTotal: number }, what: string) => {
    const line = `  lots ${fmt(p.lotsDone)} / ${fmt(p.lotsTotal)}  ${what}`;
    if (tty) process.stderr.write(`\r${line}`);
    else if (p.lotsDone === p.lotsTotal || Date.now() - shown >= 1000) {
      process.stderr.write(`${line}\n`); // a log file gets a line a second, not one per lot
      shown = Date.now();
    }
    if (tty && p.lotsDone === p.lotsTotal) process.stderr.write("\n");
  };
  const { payments, books } = await upgradeNow(
    eventStore,
    documentStore,
    logger,
    (p) => show(p, `payments carried over ${fmt(p.carried)}`),
    {
      bound: config.lotPeriodEvents,
      onProgress: (p) => show(p, `books closed ${fmt(p.closed)}`),
    },
  );
  process.stdout.write(
    `upgrade done: ${fmt(payments.lotsTotal)} lots, ${fmt(payments.carried)} payments carried over, ${fmt(payments.skipped)} carried over before; books closed on ${fmt(books.closed)} lots at or over ${fmt(config.lotPeriodEvents)} events\n`,
  );
  return 0;
}

/**
 * The embedded store files this configuration would open that are not there. Replaying reads
 * existing stores: opening a missing one would create an empty store (and DATA_DIR with it) and
 * report every projection as stopped, or rebuild from 0 events as if that were done.
 */
function missingStores(config: ReturnType<typeof loadConfig>): string[] {
  const files = [
    ...(config.eventStoreUrl ? [] : ["events.sqlite"]),
    ...(config.mongodbUrl ? [] : ["read-models.sqlite"]),
  ];
  return files.map((file) => join(config.dataDir, file)).filter((path) => !existsSync(path));
}

async function main(): Promise<number> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      "grace-ms": { type: "string" },
      "batch-size": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  const [command, target] = positionals;
  if (values.help || !command || !["status", "rebuild", "reconcile-holds", "upgrade"].includes(command)) {
    process.stdout.write(`${USAGE}\n`);
    return values.help ? 0 : 2;
  }
  const config = loadConfig();
  const missing = missingStores(config);
  if (missing.length > 0) {
    process.stderr.write(
      `No stores under DATA_DIR=${config.dataDir} (missing ${missing.join(", ")}): run it with the DATA_DIR the service uses (npm start creates them there), or set EVENTSTORE_URL / MONGODB_URL. Nothing was created.\n`,
    );
    return 2;
  }
  const logger = createLogger(process.env.LOG_LEVEL ?? (command === "upgrade" ? "info" : "warn"), {
    component: "replay",
  });
  const eventStore = await openEventStore(config);
  const documentStore = await openDocumentStore(config);
  try {
    if (command === "status") return await printStatus(eventStore, documentStore);
    if (command === "reconcile-holds") return await reconcile(config, eventStore, logger);
    if (command === "upgrade") return await upgrade(config, eventStore, documentStore, logger);
    const request = rebuildRequest(target, values);
    return typeof request === "number" ? request : await rebuild(eventStore, documentStore, request, logger);
  } finally {
    await eventStore.close();
    await documentStore.close();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `${error instanceof ConfigError || error instanceof ReplayInProgressError ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
