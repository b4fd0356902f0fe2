import { Type } from "@sinclair/typebox";
import { env, literals } from "./setting.js";
import { EVENT_STORE_SYNC_MODES, LOG_FORMATS, LOG_LEVELS, ROLES } from "./values.js";

/** The process, its stores, logs, commands, projections and HTTP server. Order is the documentation's. */
export const SERVICE_SETTINGS = {
  role: literals(
    ROLES,
    env(
      "ROLE",
      "all",
      "Which parts run in this process: `all` (command API, processors and query API), `command-api`, `projector` (the processors: projectors, coupon policy, payments, scheduler; serves only /healthz, /readyz, /metrics) or `query-api`.",
    ),
  ),
  port: Type.Integer({
    minimum: 1,
    maximum: 65535,
    ...env("PORT", "8080", "HTTP port of the API and of /healthz, /readyz and /metrics."),
  }),
  host: Type.String({
    format: "listenHost",
    ...env("HOST", "0.0.0.0", "Address the HTTP server listens on."),
  }),
  dataDir: Type.String({
    format: "directory",
    ...env(
      "DATA_DIR",
      "./data",
      "Directory of the embedded event store and document store; created if missing.",
    ),
  }),
  eventStoreUrl: Type.Optional(
    Type.String({
      format: "eventStoreConnectionString",
      ...env(
        "EVENTSTORE_URL",
        undefined,
        "EventStoreDB (KurrentDB) connection string. Unset: the embedded event store under DATA_DIR.",
      ),
    }),
  ),
  eventStoreSync: literals(
    EVENT_STORE_SYNC_MODES,
    env(
      "EVENTSTORE_SYNC",
      "normal",
      "fsync policy of the embedded event store, and of the new data keys in DATA_DIR/keys (as durable as the events sealed under them; an erasure is always synced): `normal` syncs at checkpoints (an OS crash may lose the last commits, a process crash loses nothing), `full` syncs every commit.",
    ),
  ),
  eventStoreMaxAppendSize: Type.Integer({
    minimum: 1024,
    maximum: 1073741824,
    ...env(
      "EVENTSTORE_MAX_APPEND_SIZE",
      "1048576",
      "The largest write EventStoreDB takes, in bytes: must equal the server's `MaxAppendSize` (1048576 by default). A lot whose next period's opening would be larger does not close its books (its period grows, a warning is logged) until both are raised. Unused by the embedded event store (no limit).",
    ),
  }),
  databaseUrl: Type.Optional(
    Type.String({
      format: "postgresConnectionString",
      ...env(
        "DATABASE_URL",
        undefined,
        "PostgreSQL connection string (`postgres://` or `postgresql://`, TLS options such as `sslmode=verify-full` in it): the event log, the read models, the customers' data keys and the service's secrets go to that database (docs/operations.md, Running on PostgreSQL); several hosts (`host1:5432,host2:5432`) with `target_session_attrs=read-write` are tried in order, a standby passed over. Not with EVENTSTORE_URL or MONGODB_URL. Unset: the embedded stores under DATA_DIR.",
      ),
    }),
  ),
  mongodbUrl: Type.Optional(
    Type.String({
      format: "mongodbConnectionString",
      ...env(
        "MONGODB_URL",
        undefined,
        "MongoDB connection string (a replica set, for transactions). Unset: the embedded document store under DATA_DIR.",
      ),
    }),
  ),
  mongodbDatabase: Type.String({
    format: "mongodbDatabaseName",
    ...env("MONGODB_DATABASE", "parking", "Database that holds the read models and projection checkpoints."),
  }),
  logLevel: literals(
    LOG_LEVELS,
    env("LOG_LEVEL", "info", "Least severe log level written. At `info` every request gets one access line."),
  ),
  logFormat: literals(
    LOG_FORMATS,
    env(
      "LOG_FORMAT",
      "auto",
      "How logs are written on stdout: `json` (one JSON object per line, for collectors), `pretty` (colored, one readable line per entry), or `auto` (pretty when stdout is a terminal, JSON otherwise).",
    ),
  ),
  maxInflightCommands: Type.Integer({
    minimum: 1,
    ...env(
      "MAX_INFLIGHT_COMMANDS",
      "512",
      "Commands handled at once; past it a command is answered 503 with Retry-After (overload protection).",
    ),
  }),
  commandRetryLimit: Type.Integer({
    minimum: 0,
    maximum: 100,
    ...env(
      "COMMAND_RETRY_LIMIT",
      "20",
      "Times a command reloads its parking lot and decides again after an optimistic-concurrency conflict.",
    ),
  }),
  lotCacheSize: Type.Integer({
    minimum: 1,
    ...env("LOT_CACHE_SIZE", "10000", "Parking-lot states kept in memory by the write side."),
  }),
  lotPeriodEvents: Type.Integer({
    // Periods are always on (issue 48): no 0. Below 50, a lot would write its live state again
    // every few events (an opening is as large as that state).
    minimum: 50,
    maximum: 1000000,
    ...env(
      "LOT_PERIOD_EVENTS",
      // write-side/parking-lot/periods.ts, DEFAULT_PERIOD_EVENTS (docs/domain.md says why this size).
      "1000",
      "Once an append leaves a lot's current period at or over this many events, its books close and the next period opens with the lot's live state (docs/domain.md, \"Periods\", says why 1000). Periods are always on: the bound is at least 50. A lot already over it (data of an older version, or a bound lowered since) is closed on start by the upgrade.",
    ),
  }),
  retentionDays: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: 36500,
      ...env(
        "RETENTION_DAYS",
        undefined,
        "Erase a customer's personal data (their id and plates, crypto-shredded: docs/operations.md) once every reservation of theirs ended more than this many days ago; set it to what your law requires (e.g. GDPR's storage limitation). Reservations, amounts and counts are kept. Unset: personal data is kept until the customer is erased on request.",
      ),
    }),
  ),
  projectionBatchSize: Type.Integer({
    minimum: 1,
    maximum: 10000,
    ...env(
      "PROJECTION_BATCH_SIZE",
      "1000",
      "Events a projector applies per batch, saved together with its checkpoint.",
    ),
  }),
  readyMaxLag: Type.Integer({
    minimum: 0,
    ...env(
      "READY_MAX_LAG",
      "10000",
      "Events a projection may be behind the head of the log while /readyz still passes.",
    ),
  }),
  processorLeaseTtlMs: Type.Integer({
    minimum: 500,
    maximum: 600000,
    ...env(
      "PROCESSOR_LEASE_TTL_MS",
      "5000",
      "How long (ms) a projector process's lease on a processor (projection or reactor) lasts without renewal: after a crash, a standby process takes over within this plus PROCESSOR_LEASE_RENEW_MS.",
    ),
  }),
  processorLeaseRenewMs: Type.Integer({
    minimum: 50,
    maximum: 300000,
    ...env(
      "PROCESSOR_LEASE_RENEW_MS",
      "1000",
      "How often (ms) lease holders renew their leases and standby processes try to take free or expired ones; at most half of PROCESSOR_LEASE_TTL_MS.",
    ),
  }),
  heavyReadConcurrency: Type.Integer({
    minimum: 1,
    maximum: 64,
    ...env(
      "HEAVY_READ_CONCURRENCY",
      "2",
      "Expensive reads (a lot's timeline and availability, histories, `asOf` views, the control center) computed at once per endpoint for callers with a token; more wait in a queue (HEAVY_READ_QUEUE), past it 503 with Retry-After. So a flood of one endpoint leaves the other requests their turns.",
    ),
  }),
  heavyReadQueue: Type.Integer({
    minimum: 0,
    maximum: 10000,
    ...env(
      "HEAVY_READ_QUEUE",
      "16",
      "Expensive reads of one endpoint waiting for their turn (callers with a token); past it a request is answered 503 with Retry-After at once.",
    ),
  }),
  heavyReadAnonymousConcurrency: Type.Integer({
    minimum: 1,
    maximum: 64,
    ...env(
      "HEAVY_READ_ANONYMOUS_CONCURRENCY",
      "1",
      "Expensive public reads (the timeline, availability) computed at once per endpoint for anonymous callers: their own budget, apart from and smaller than the callers' with a token.",
    ),
  }),
  heavyReadAnonymousQueue: Type.Integer({
    minimum: 0,
    maximum: 10000,
    ...env(
      "HEAVY_READ_ANONYMOUS_QUEUE",
      "4",
      "Expensive public reads of one endpoint from anonymous callers waiting for their turn; past it 503 with Retry-After at once.",
    ),
  }),
  heavyReadMaxWaitMs: Type.Integer({
    minimum: 1,
    maximum: 60000,
    ...env(
      "HEAVY_READ_MAX_WAIT_MS",
      "2000",
      "Longest time (ms) an expensive read waits for its turn; then it is answered 503 with Retry-After and never computed. A request whose client goes away while it waits is dropped at once.",
    ),
  }),
  readYourWritesTimeoutMs: Type.Integer({
    minimum: 0,
    maximum: 30000,
    ...env(
      "READ_YOUR_WRITES_TIMEOUT_MS",
      "3000",
      "Longest time (ms) a query waits for the read models to reach the position it asks for.",
    ),
  }),
  readYourWritesMaxWaiting: Type.Integer({
    minimum: 1,
    ...env(
      "READ_YOUR_WRITES_MAX_WAITING",
      "1000",
      "Most queries of one process waiting at once for their minPosition; past it a query is answered 503 with Retry-After at once instead of holding a connection.",
    ),
  }),
  shutdownTimeoutMs: Type.Integer({
    minimum: 100,
    maximum: 120000,
    ...env(
      "SHUTDOWN_TIMEOUT_MS",
      "10000",
      "Longest graceful shutdown (ms) after SIGTERM before the process exits anyway.",
    ),
  }),
  eventLoopStallMs: Type.Integer({
    minimum: 200,
    maximum: 600000,
    ...env(
      "EVENT_LOOP_STALL_MS",
      "10000",
      "Longest time (ms) a thread of the process may run without returning to its event loop. Past it, while it still runs, a watchdog thread logs at ERROR which requests were in flight, counts it (`parking_event_loop_stalls_total`) and ends the process (SIGKILL) so the orchestrator restarts it; a thread that came back after a delay past it makes /healthz answer 503 from then on. Above any legitimate synchronous work (a big rebuild's batch).",
    ),
  }),
  shutdownDrainMs: Type.Integer({
    minimum: 0,
    maximum: 60000,
    ...env(
      "SHUTDOWN_DRAIN_MS",
      "0",
      "After SIGTERM, how long (ms) the process keeps serving while /readyz already answers 503, so that a load balancer polling readiness stops routing to it before the listener closes. Set it above the gateway's check interval × fall count (compose and Kubernetes do); 0 suits a process with no load balancer in front. SIGINT (Ctrl-C) skips it.",
    ),
  }),
  httpKeepAliveTimeoutMs: Type.Integer({
    minimum: 1000,
    maximum: 600000,
    ...env(
      "HTTP_KEEP_ALIVE_TIMEOUT_MS",
      "65000",
      "How long (ms) an idle keep-alive connection stays open. Keep it above the idle timeout of the gateway in front, so that the gateway, not the service, closes idle connections.",
    ),
  }),
  httpHeadersTimeoutMs: Type.Integer({
    minimum: 1000,
    maximum: 120000,
    ...env(
      "HTTP_HEADERS_TIMEOUT_MS",
      "10000",
      "Longest time (ms) a client may take to send a request's headers (slow-loris guard).",
    ),
  }),
  httpRequestTimeoutMs: Type.Integer({
    minimum: 1000,
    maximum: 600000,
    ...env(
      "HTTP_REQUEST_TIMEOUT_MS",
      "30000",
      "Longest time (ms) a client may take to send a whole request.",
    ),
  }),
  httpMaxConnections: Type.Integer({
    minimum: 1,
    maximum: 1000000,
    ...env(
      "HTTP_MAX_CONNECTIONS",
      "10000",
      "Open connections accepted at once; further connections are refused until some close.",
    ),
  }),
  embeddedPollIntervalMs: Type.Integer({
    minimum: 10,
    maximum: 10000,
    ...env(
      "EMBEDDED_POLL_INTERVAL_MS",
      "100",
      "How often (ms) the embedded stores look for writes made by other processes on the same DATA_DIR.",
    ),
  }),
};
