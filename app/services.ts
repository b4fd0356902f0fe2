import { join } from "node:path";
import { SqliteDocumentStore } from "../document-store/embedded/sqlite-document-store.js";
import { type DocumentStore, WriteConditionFailedError } from "../document-store/port.js";
import { SqliteEventStore } from "../event-store/embedded/sqlite-event-store.js";
import type { EventStore } from "../event-store/port.js";
import { type Config, toEsdbConnectionString } from "../platform/config.js";
import type { MongoRateLimitStore } from "../platform/http/mongo-rate-limit-store.js";
import type { Logger } from "../platform/logger.js";
import { Metrics } from "../platform/metrics.js";
import { SecretBox } from "../platform/secret-box.js";
import type { StallBoard } from "../platform/stall-board.js";
import { startTracing } from "../platform/tracing.js";
import { startProcessors } from "../projections/processors.js";
import type { ProcessorGroup } from "../projections/runtime/processor-group.js";
import { LIVE_UPDATES_DEFAULTS, LiveUpdates } from "../read-api/live-updates.js";
import { storedProjections } from "../read-api/stored-projections.js";
import type { ReadOptions } from "../read-api/views/read-context.js";
import { readViews, type Views } from "../read-api/views/views.js";
import { ParkingLotCommandHandler } from "../write-side/command-handler.js";
import { type Authentication, createAuthentication, idempotencySecretOf, webhookKeyOf } from "./auth.js";
import { erasedCustomerRefusal } from "./erased-customers.js";
import { ErasureEvictions } from "./erasure-evictions.js";
import { paymentSagaSettings } from "./payment-commands.js";
import { commitKeysBeforeLog, useDataKeysOf } from "./personal-data.js";
import {
  dataKeysAtStart,
  followSigningKeys,
  openPostgresDocumentStore,
  openPostgresEventStore,
} from "./postgres-stores.js";
import { ProcessorThread, type WorkerMetrics } from "./processor-thread.js";
import { processorsInWorker, type SpawnedProcessors } from "./processors-spawn.js";
import { schedulerCommands } from "./scheduler-commands.js";
import { StorageHealth } from "./storage-health.js";
import { upgradeOnStart } from "./upgrades.js";

/**
 * The composition root: the only place that knows which adapter runs. Everything else sees the
 * ports. Each role gets just the parts it needs.
 */
export interface Services {
  readonly config: Config;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly eventStore?: EventStore;
  readonly documentStore?: DocumentStore;
  readonly commands?: ParkingLotCommandHandler;
  /** The projections and reactors (coupon policy), where this role runs them. */
  readonly processors?: Pick<ProcessorGroup, "status" | "onAdvance">;
  /** Metrics kept by another thread of this process (the processors thread), for /metrics. */
  readonly threadMetrics?: () => Promise<WorkerMetrics>;
  readonly queries?: Views;
  /** The one clock of this process's commands and queries (tests may drive it). */
  readonly clock: () => Date;
  /** Who is calling: the token verifier, and the development issuer's routes when it runs. */
  readonly authentication: Authentication;
  /** HMAC key of reservation ids derived from an Idempotency-Key. */
  readonly idempotencySecret: string;
  /** Rate-limit counters shared by every replica (with MongoDB); absent: each process counts in memory. */
  readonly rateLimitStores?: {
    readonly principal: MongoRateLimitStore;
    readonly address: MongoRateLimitStore;
  };
  /** Whether the stores' disk takes writes (full or read-only DATA_DIR), for /readyz. */
  readonly storage: StorageHealth;
  /** What forgets this process's in-memory copies of personal data after an erasure (issue 36). */
  readonly erasures: ErasureEvictions;
  /** The control-center page's Server-Sent Events; ended first on shutdown so the server can close. */
  readonly liveUpdates?: LiveUpdates;
  /** Stops the background workers (their checkpoints are stored per batch) and closes the stores. */
  close(): Promise<void>;
}

const runsCommands = (c: Config) => c.role === "all" || c.role === "command-api";
const runsProjections = (c: Config) => c.role === "all" || c.role === "projector";
const runsQueries = (c: Config) => c.role === "all" || c.role === "query-api";
/** ROLE=all runs its projections and reactors in a worker thread when PROCESSORS_THREAD=worker. */

/**
 * Single use of sign-in links through the document store: the first replica to record a link's
 * id wins (a conditional create), every later try finds it there.
 */
function claimOnceIn(store: DocumentStore): (jti: string, expiresAtMs: number) => Promise<boolean> {
  return async (jti, expiresAtMs) => {
    try {
      await store.write([
        {
          op: "update",
          collection: "used_sign_in_links",
          id: jti,
          upsert: true,
          update: { $set: { expiresAt: new Date(expiresAtMs).toISOString() } },
          if: { expiresAt: { $exists: false } },
        },
      ]);
      return true;
    } catch (error) {
      if (error instanceof WriteConditionFailedError) return false;
      throw error;
    }
  };
}

/**
 * The event store, with the data keys its events' personal fields are sealed under installed. Server
 * adapters load only when configured: their clients are a third of a start's modules, in each thread.
 */
export async function openEventStore(config: Config): Promise<EventStore> {
  if (config.databaseUrl) return openPostgresEventStore({ ...config, databaseUrl: config.databaseUrl });
  useDataKeysOf(config);
  if (config.eventStoreUrl) {
    const { EventStoreDbEventStore } = await import("../event-store/eventstoredb/esdb-event-store.js");
    return EventStoreDbEventStore.connect(
      toEsdbConnectionString(config.eventStoreUrl),
      config.eventStoreMaxAppendSize,
    );
  }
  return SqliteEventStore.open({
    file: join(config.dataDir, "events.sqlite"),
    sync: config.eventStoreSync,
    pollIntervalMs: config.embeddedPollIntervalMs,
    beforeCommit: commitKeysBeforeLog,
  });
}

export async function openDocumentStore(config: Config): Promise<DocumentStore> {
  if (config.databaseUrl) return openPostgresDocumentStore(config.databaseUrl);
  if (!config.mongodbUrl)
    return SqliteDocumentStore.open({ file: join(config.dataDir, "read-models.sqlite") });
  const { MongoDocumentStore } = await import("../document-store/mongodb/mongo-document-store.js");
  return MongoDocumentStore.connect({ url: config.mongodbUrl, database: config.mongodbDatabase });
}

/**
 * The document store of a role that has none of its own (command-api), for its start's upgrade:
 * opened on first use, and again after a failed open; closed with the role.
 */
class DeferredDocumentStore {
  private opening: Promise<DocumentStore> | undefined;
  private closed = false;

  constructor(private readonly open: () => Promise<DocumentStore>) {}

  /** The document store, opened on first use (and again after a failed open). */
  documents(): Promise<DocumentStore> {
    if (this.closed) throw new Error("the document store is closed");
    this.opening ??= this.open().catch((error: unknown) => {
      this.opening = undefined;
      throw error;
    });
    return this.opening;
  }

  async close(): Promise<void> {
    this.closed = true;
    const opened = await this.opening?.catch(() => undefined);
    await opened?.close();
  }
}

/** A document store opened on first use, and again after a failed open. */
class LazyDocumentStore {
  private opening: Promise<DocumentStore> | undefined;
  constructor(private readonly open: () => Promise<DocumentStore>) {}
  get(): Promise<DocumentStore> {
    this.opening ??= this.open().catch((error: unknown) => {
      this.opening = undefined;
      throw error;
    });
    return this.opening;
  }
  async close(): Promise<void> {
    const opened = await this.opening?.catch(() => undefined);
    await opened?.close();
  }
}

export interface ServiceOptions {
  /** Stands in for the opened event store (the processors thread relays its appends with it). */
  readonly wrapEventStore?: (store: EventStore) => EventStore;
  /** What time it is for commands (windows, check-in) and queries (free now): the system clock by default. */
  readonly clock?: () => Date;
  /** Where the processors thread beats its heartbeat, for the process's watchdog (see EventLoopWatch). */
  readonly stallBoard?: StallBoard;
  /** The processors thread, spawned early by app/main.ts (ROLE=all); spawned here when absent. */
  readonly processorsWorker?: SpawnedProcessors;
}

/** Tracing in this thread when a collector is configured (the processors thread starts its own). */
const tracingOf = async (config: Config) =>
  config.otelExporterOtlpEndpoint
    ? startTracing({
        endpoint: config.otelExporterOtlpEndpoint,
        // The traces' own variable first, as OpenTelemetry's per-signal settings go.
        protocol: config.otelExporterOtlpTracesProtocol ?? config.otelExporterOtlpProtocol,
        serviceName: `parking-${config.role}`,
        sampleRatio: config.otelTracesSamplerArg,
      })
    : undefined;

export async function createServices(
  config: Config,
  logger: Logger,
  metrics = new Metrics(),
  options: ServiceOptions = {},
): Promise<Services> {
  const storage = new StorageHealth(config.dataDir, logger.child({ component: "storage" }), metrics);
  (await dataKeysAtStart(config)).onWrite(storage.dataKeysWrite);
  const stopFollowingKeys = await followSigningKeys(config);
  const documentStore =
    runsProjections(config) || runsQueries(config)
      ? storage.observeDocumentStore(await openDocumentStore(config))
      : undefined;
  const { authentication, sessionStore } = await authenticationOf(config, documentStore, logger);
  const tracing = await tracingOf(config);
  const clock = options.clock ?? (() => new Date());
  const opened = await openEventStore(config);
  const eventStore = storage.observeEventStore(
    options.wrapEventStore ? options.wrapEventStore(opened) : opened,
  );
  const { commands, ownDocumentStore, thread } = await commandsBesideThread(
    config,
    eventStore,
    documentStore,
    metrics,
    logger,
    options,
  );
  if (!runsCommands(config) && runsProjections(config) && documentStore)
    await upgradeOnStart(eventStore, documentStore, logger.child({ component: "upgrade" }));
  const processors =
    !thread && runsProjections(config) && documentStore
      ? await processorsInThisThread(config, eventStore, documentStore, metrics, logger, clock)
      : undefined;
  const queries =
    runsQueries(config) && documentStore
      ? viewsOf(config, documentStore, eventStore, clock, thread ?? processors)
      : undefined;
  const rateLimitStores = await sharedRateLimitStores(config);
  const liveUpdates = queries ? liveUpdatesOf(config, queries, eventStore, logger) : undefined;
  const erasures = erasuresOf(eventStore, logger, commands, queries);

  return {
    config,
    logger,
    metrics,
    eventStore,
    ...(documentStore ? { documentStore } : {}),
    ...(commands ? { commands } : {}),
    ...(thread
      ? { processors: thread, threadMetrics: () => thread.metrics() }
      : processors
        ? { processors }
        : {}),
    ...(queries ? { queries } : {}),
    clock,
    authentication,
    storage,
    erasures,
    idempotencySecret: idempotencySecretOf(config),
    ...(liveUpdates ? { liveUpdates } : {}),
    ...(rateLimitStores ? { rateLimitStores } : {}),
    async close() {
      liveUpdates?.close();
      erasures.close();
      await rateLimitStores?.principal.shutdown();
      await rateLimitStores?.address.shutdown();
      await thread?.stop();
      await processors?.stop();
      await eventStore.close();
      await ownDocumentStore?.close();
      await documentStore?.close();
      await sessionStore?.close();
      await stopFollowingKeys();
      await tracing?.shutdown();
    },
  };
}

/** The views over the read models, waiting for the processors' progress (read-your-writes). */
function viewsOf(
  config: Config,
  documentStore: DocumentStore,
  eventStore: EventStore,
  clock: () => Date,
  progress: ReadOptions["progress"],
): Views {
  return readViews(documentStore, {
    eventStore,
    projections: storedProjections(documentStore),
    readYourWritesTimeoutMs: config.readYourWritesTimeoutMs,
    readYourWritesMaxWaiting: config.readYourWritesMaxWaiting,
    now: () => clock().getTime(),
    ...(progress ? { progress } : {}),
  });
}

/** What forgets this process's copies of personal data after an erasure, following the log's erasures. */
function erasuresOf(
  eventStore: EventStore,
  logger: Logger,
  commands: ParkingLotCommandHandler | undefined,
  queries: Views | undefined,
): ErasureEvictions {
  const erasures = new ErasureEvictions();
  if (commands) erasures.add((lots) => commands.forgetLots(lots));
  if (queries) erasures.add((lots) => queries.lots.states.forget(lots));
  if (commands || queries) erasures.follow(eventStore, logger.child({ component: "erasures" }));
  return erasures;
}

/**
 * Who calls: a sign-in link works once across every replica that shares the document store;
 * browser sessions are records there too (a command API opens it on the first session it meets).
 */
async function authenticationOf(config: Config, documentStore: DocumentStore | undefined, logger: Logger) {
  const sessionStore = documentStore ? undefined : new LazyDocumentStore(() => openDocumentStore(config));
  const authentication = await createAuthentication(config, {
    ...(documentStore ? { claimSignInLink: claimOnceIn(documentStore) } : {}),
    documentStore: documentStore
      ? async () => documentStore
      : () => (sessionStore as LazyDocumentStore).get(),
    logger: logger.child({ component: "auth" }),
    // An erased customer's sign-in records no session (their requests are refused: http-app.ts).
    refuseSession: erasedCustomerRefusal(useDataKeysOf(config)),
  });
  return { authentication, sessionStore };
}

/**
 * The command side, and the processors thread (ROLE=all) started first: it opens its stores while
 * this thread warms the command side up (issue 50: this thread sat idle ~0.7 s waiting for it, a
 * start's largest share), having loaded its modules already when app/main.ts spawned it early.
 */
async function commandsBesideThread(
  config: Config,
  eventStore: EventStore,
  documentStore: DocumentStore | undefined,
  metrics: Metrics,
  logger: Logger,
  options: ServiceOptions,
) {
  // Issue 48: old data upgraded before anything (this thread's commands, the processors) acts on it.
  const side = await commandSide(config, eventStore, documentStore, metrics, logger);
  const threadStarting = processorsInWorker(config)
    ? ProcessorThread.start(
        config,
        logger.child({ component: "processors-thread" }),
        eventStore,
        options.stallBoard,
        options.processorsWorker,
      )
    : undefined;
  // Awaited below: its failure is seen there, not reported meanwhile as unhandled.
  threadStarting?.catch(() => undefined);
  // What the first command of the process would pay (schema compiles, the lot's code path) is paid now.
  await side.commands?.warmUp().catch(async (error: unknown) => {
    await (await threadStarting?.catch(() => undefined))?.stop();
    throw error;
  });
  return { ...side, thread: await threadStarting };
}

/** The command handler of a role that takes commands, warmed up, and the document store its upgrade opened. */
async function commandSide(
  config: Config,
  eventStore: EventStore,
  documentStore: DocumentStore | undefined,
  metrics: Metrics,
  logger: Logger,
): Promise<{ commands?: ParkingLotCommandHandler; ownDocumentStore?: DeferredDocumentStore }> {
  if (!runsCommands(config)) return {};
  const ownDocumentStore = documentStore
    ? undefined
    : new DeferredDocumentStore(() => openDocumentStore(config));
  const commands = new ParkingLotCommandHandler(eventStore, {
    retryLimit: config.commandRetryLimit,
    cacheSize: config.lotCacheSize,
    hooks: {
      onConflict: (command) => metrics.concurrencyRetries.inc({ command }),
    },
    periodEvents: config.lotPeriodEvents,
    logger: logger.child({ component: "commands" }),
    // Issue 38: PAYMENTS=none books as before; a provider makes bookings wait for their payment.
    payments: { on: config.payments !== "none", holdSeconds: config.paymentHoldSeconds },
  });
  // Issue 48: then every lot over the bound has its books closed, with this handler's close.
  await upgradeOnStart(
    eventStore,
    documentStore ?? (await (ownDocumentStore as DeferredDocumentStore).documents()),
    logger.child({ component: "upgrade" }),
    { bound: config.lotPeriodEvents },
  );
  return { commands, ...(ownDocumentStore ? { ownDocumentStore } : {}) };
}

/** The projections and reactors in the request thread (PROCESSORS_THREAD=main, or a projector role). */
function processorsInThisThread(
  config: Config,
  eventStore: EventStore,
  documentStore: DocumentStore,
  metrics: Metrics,
  logger: Logger,
  clock: () => Date,
) {
  // Issue 48: every writer of a lot's stream closes its books at the bound, as the command side does.
  const payments = paymentSagaSettings(config, eventStore, {
    logger: logger.child({ component: "payments" }),
  });
  return startProcessors({
    eventStore,
    documentStore,
    logger: logger.child({ component: "processors" }),
    metrics,
    batchSize: config.projectionBatchSize,
    settings: {
      ...(config.retentionDays === undefined ? {} : { retentionDays: config.retentionDays }),
      sendCommand: schedulerCommands(eventStore, {
        logger: logger.child({ component: "scheduler" }),
        retryLimit: config.commandRetryLimit,
        periodEvents: config.lotPeriodEvents,
      }),
      webhooks: {
        box: new SecretBox(webhookKeyOf(config)),
        allowPrivate: config.webhookAllowPrivate,
        timeoutMs: config.webhookTimeoutMs,
        concurrency: config.webhookConcurrency,
        retryScale: config.webhookRetryScale,
      },
      ...(payments ? { payments } : {}),
    },
    lease: { ttlMs: config.processorLeaseTtlMs, renewMs: config.processorLeaseRenewMs },
    clock: () => clock().getTime(),
  });
}

/** API replicas share their abuse counters through MongoDB when they have it (docs/operations.md). */
async function sharedRateLimitStores(config: Config) {
  const servesApi = runsCommands(config) || runsQueries(config);
  if (!servesApi || !config.mongodbUrl) return undefined;
  const { MongoRateLimitStore } = await import("../platform/http/mongo-rate-limit-store.js");
  const connect = (prefix: string) =>
    MongoRateLimitStore.connect({
      url: config.mongodbUrl as string,
      database: config.mongodbDatabase,
      prefix,
    });
  return { principal: await connect("principal:"), address: await connect("address:") };
}

function liveUpdatesOf(config: Config, queries: Views, eventStore: EventStore, logger: Logger) {
  return new LiveUpdates(
    queries.controlCenter,
    logger.child({ component: "live-updates" }),
    {
      ...LIVE_UPDATES_DEFAULTS,
      pollIntervalMs: config.liveUpdateIntervalMs,
      refreshMs: config.liveRefreshMs,
      heartbeatMs: config.liveHeartbeatMs,
      maxStreams: config.liveMaxStreams,
      maxStreamsPerPrincipal: config.liveMaxStreamsPerPrincipal,
    },
    eventStore,
  );
}
