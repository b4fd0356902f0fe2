import { join } from "node:path";
import { SqliteDocumentStore } from "../document-store/embedded/sqlite-document-store.js";
import { MongoDocumentStore } from "../document-store/mongodb/mongo-document-store.js";
import type { DocumentStore } from "../document-store/port.js";
import { SqliteEventStore } from "../event-store/embedded/sqlite-event-store.js";
import { EventStoreDbEventStore } from "../event-store/eventstoredb/esdb-event-store.js";
import type { EventStore } from "../event-store/port.js";
import { type Config, toEsdbConnectionString } from "../platform/config.js";
import type { Logger } from "../platform/logger.js";
import { Metrics } from "../platform/metrics.js";
import { CouponPolicy } from "../projections/coupon-policy/coupon-policy.js";
import { PROJECTIONS } from "../projections/read-models/index.js";
import { Projector } from "../projections/runtime/projector.js";
import { QueryService } from "../read-api/query-service.js";
import { ParkingLotCommandHandler } from "../write-side/command-handler.js";
import { ProcessorThread, type WorkerMetrics } from "./processor-thread.js";

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
  /** The projectors' state and progress: the projector itself, or the thread that runs it. */
  readonly projector?: Pick<Projector, "status" | "onAdvance">;
  readonly couponPolicy?: Pick<CouponPolicy, "checkpoint">;
  /** Metrics kept by another thread of this process (the processors thread), for /metrics. */
  readonly threadMetrics?: () => Promise<WorkerMetrics>;
  readonly queries?: QueryService;
  /** Stops the background workers (their checkpoints are stored per batch) and closes the stores. */
  close(): Promise<void>;
}

const runsCommands = (c: Config) => c.role === "all" || c.role === "command-api";
const runsProjections = (c: Config) => c.role === "all" || c.role === "projector";
/** ROLE=all runs its projectors and coupon policy in a worker thread unless told otherwise. */
const processorsInWorker = (c: Config) => c.role === "all" && c.processorsThread === "worker";
const runsQueries = (c: Config) => c.role === "all" || c.role === "query-api";

export function openEventStore(config: Config): EventStore {
  return config.eventStoreUrl
    ? EventStoreDbEventStore.connect(toEsdbConnectionString(config.eventStoreUrl))
    : SqliteEventStore.open({
        file: join(config.dataDir, "events.sqlite"),
        sync: config.eventStoreSync,
        pollIntervalMs: config.embeddedPollIntervalMs,
      });
}

export async function openDocumentStore(config: Config): Promise<DocumentStore> {
  return config.mongodbUrl
    ? await MongoDocumentStore.connect({ url: config.mongodbUrl, database: config.mongodbDatabase })
    : SqliteDocumentStore.open({ file: join(config.dataDir, "read-models.sqlite") });
}

export async function createServices(
  config: Config,
  logger: Logger,
  metrics = new Metrics(),
): Promise<Services> {
  const eventStore = openEventStore(config);
  const documentStore =
    runsProjections(config) || runsQueries(config) ? await openDocumentStore(config) : undefined;

  const commands = runsCommands(config)
    ? new ParkingLotCommandHandler(eventStore, {
        retryLimit: config.commandRetryLimit,
        cacheSize: config.lotCacheSize,
        hooks: { onConflict: (command) => metrics.concurrencyRetries.inc({ command }) },
      })
    : undefined;

  let projector: Projector | undefined;
  let couponPolicy: CouponPolicy | undefined;
  let thread: ProcessorThread | undefined;
  if (processorsInWorker(config)) {
    thread = await ProcessorThread.start(config, logger.child({ component: "processors-thread" }));
  } else if (runsProjections(config) && documentStore) {
    projector = new Projector({
      projections: PROJECTIONS,
      eventStore,
      documentStore,
      logger: logger.child({ component: "projector" }),
      metrics,
      batchSize: config.projectionBatchSize,
      generation: "active",
    });
    couponPolicy = new CouponPolicy({
      eventStore,
      documentStore,
      logger: logger.child({ component: "coupon-policy" }),
      metrics,
      batchSize: config.projectionBatchSize,
    });
    await projector.start();
    await couponPolicy.start();
  }

  const queries =
    runsQueries(config) && documentStore
      ? new QueryService(documentStore, {
          eventStore,
          readYourWritesTimeoutMs: config.readYourWritesTimeoutMs,
          ...(thread ? { progress: thread } : projector ? { progress: projector } : {}),
        })
      : undefined;

  return {
    config,
    logger,
    metrics,
    eventStore,
    ...(documentStore ? { documentStore } : {}),
    ...(commands ? { commands } : {}),
    ...(thread
      ? { projector: thread, couponPolicy: thread, threadMetrics: () => thread.metrics() }
      : { ...(projector ? { projector } : {}), ...(couponPolicy ? { couponPolicy } : {}) }),
    ...(queries ? { queries } : {}),
    async close() {
      await thread?.stop();
      await couponPolicy?.stop();
      await projector?.stop();
      await eventStore.close();
      await documentStore?.close();
    },
  };
}
