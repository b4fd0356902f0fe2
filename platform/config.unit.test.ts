import path from "node:path";
import { EventStoreDBClient } from "@eventstore/db-client";
import { MongoClient } from "mongodb";
import { parse as parsePostgresUrl } from "pg-connection-string";
import { describe, expect, it, vi } from "vitest";
import { ConfigSchema } from "./config/schema.js";
import {
  CONFIG_VARIABLES,
  type Config,
  ConfigError,
  loadConfig,
  redactConfig,
  toEsdbConnectionString,
} from "./config.js";

/** The problems `loadConfig` reports for `env`, or [] when it accepts it. */
function problemsOf(env: NodeJS.ProcessEnv): ConfigError["problems"] {
  try {
    loadConfig(env);
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
}

function rejects(variable: string, value: string): void {
  const problems = problemsOf({ [variable]: value });
  expect(
    problems.map((p) => p.variable),
    `${variable}=${JSON.stringify(value)}`,
  ).toEqual([variable]);
}

const DEFAULTS: Config = {
  role: "all",
  port: 8080,
  host: "0.0.0.0",
  dataDir: path.resolve("data"),
  eventStoreSync: "normal",
  eventStoreMaxAppendSize: 1048576,
  mongodbDatabase: "parking",
  logLevel: "info",
  logFormat: "auto",
  maxInflightCommands: 512,
  heavyReadConcurrency: 2,
  heavyReadQueue: 16,
  heavyReadAnonymousConcurrency: 1,
  heavyReadAnonymousQueue: 4,
  heavyReadMaxWaitMs: 2000,
  commandRetryLimit: 20,
  lotCacheSize: 10000,
  lotPeriodEvents: 1000,
  projectionBatchSize: 1000,
  readyMaxLag: 10000,
  processorLeaseTtlMs: 5000,
  processorLeaseRenewMs: 1000,
  readYourWritesTimeoutMs: 3000,
  readYourWritesMaxWaiting: 1000,
  shutdownTimeoutMs: 10000,
  eventLoopStallMs: 10000,
  shutdownDrainMs: 0,
  httpKeepAliveTimeoutMs: 65000,
  httpHeadersTimeoutMs: 10000,
  httpRequestTimeoutMs: 30000,
  httpMaxConnections: 10000,
  embeddedPollIntervalMs: 100,
  authAudience: "parking-reservations",
  authRolesClaims: ["realm_access.roles", "roles"],
  authAlgorithms: ["RS256", "PS256", "ES256", "EdDSA"],
  authClockSkewSeconds: 30,
  otelExporterOtlpProtocol: "http/protobuf",
  otelTracesSamplerArg: 1,
  authJwksCooldownMs: 30000,
  authIssuerAllowHttp: false,
  authRoleMap: {},
  authLotsClaim: "lots",
  authLotsPrefix: "",
  authCustomerIdClaim: "sub",
  authTokenTypes: ["at+jwt", "JWT"],
  authMaxTokenLifetimeSeconds: 86400,
  liveUpdateIntervalMs: 250,
  liveRefreshMs: 1000,
  liveHeartbeatMs: 15000,
  liveMaxStreams: 1000,
  liveMaxStreamsPerPrincipal: 10,
  pageOidcClientId: "control-center",
  pageOidcScope: "openid",
  processorsThread: "worker",
  rateLimitWindowMs: 60000,
  rateLimitPerPrincipal: 1200,
  rateLimitPerAddress: 3000,
  trustProxyHops: 0,
  webhookAllowPrivate: false,
  webhookTimeoutMs: 10000,
  webhookConcurrency: 4,
  webhookRetryScale: 1,
  payments: "none",
  paymentHoldSeconds: 900,
  authorizeBeforeStayHours: 24,
  stripeApiBase: "https://api.stripe.com",
  stripeInstance: "parking-reservations",
  paymentRetryScale: 1,
};

describe("loadConfig defaults", () => {
  it("gives every default on an empty environment, with the embedded stores", () => {
    const config = loadConfig({});
    expect(config).toStrictEqual(DEFAULTS);
    expect("eventStoreUrl" in config).toBe(false);
    expect("mongodbUrl" in config).toBe(false);
  });

  it("treats empty and blank strings as unset", () => {
    const env = Object.fromEntries(CONFIG_VARIABLES.map((v, i) => [v.name, i % 2 === 0 ? "" : "   "]));
    expect(loadConfig(env)).toStrictEqual(DEFAULTS);
  });

  it("reads process.env when no environment is given", () => {
    try {
      for (const variable of CONFIG_VARIABLES) vi.stubEnv(variable.name, "");
      vi.stubEnv("PORT", "4321");
      expect(loadConfig()).toStrictEqual({ ...DEFAULTS, port: 4321 });
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it("ignores variables it does not know", () => {
    expect(loadConfig({ NODE_ENV: "production", UNRELATED: "x" })).toStrictEqual(DEFAULTS);
  });
});

describe("CONFIG_VARIABLES", () => {
  it("lists each variable once, with a description and what it accepts", () => {
    const names = CONFIG_VARIABLES.map((v) => v.name);
    expect(new Set(names).size).toBe(names.length);
    for (const variable of CONFIG_VARIABLES) {
      expect(variable.name).toMatch(/^[A-Z][A-Z0-9_]*$/);
      expect(variable.description.length).toBeGreaterThan(10);
      expect(variable.expects.length).toBeGreaterThan(5);
    }
  });

  it("describes each variable to operators without the team's tracker issues", () => {
    const tracker = CONFIG_VARIABLES.filter((v) => /\bissues? [0-9]/i.test(v.description));
    expect(tracker.map((v) => v.name)).toEqual([]);
  });

  it("covers every field of Config, and only those", () => {
    const fields = CONFIG_VARIABLES.map((v) => v.field).sort();
    const expected = [
      ...Object.keys(DEFAULTS),
      "eventStoreUrl",
      "databaseUrl",
      "mongodbUrl",
      "authIssuer",
      "authJwksUrl",
      "idempotencySecret",
      "corsOrigins",
      "otelExporterOtlpEndpoint",
      "otelExporterOtlpTracesProtocol",
      "pageOidcAudience",
      "pageOidcResource",
      "publicUrl",
      "webhookSecretKey",
      "stripeSecretKey",
      "stripeWebhookSecret",
      "retentionDays",
    ].sort();
    expect(fields).toEqual(expected);
  });

  it("names exactly the variables of the specification", () => {
    expect(CONFIG_VARIABLES.map((v) => v.name)).toEqual([
      "ROLE",
      "PORT",
      "HOST",
      "DATA_DIR",
      "EVENTSTORE_URL",
      "EVENTSTORE_SYNC",
      "EVENTSTORE_MAX_APPEND_SIZE",
      "DATABASE_URL",
      "MONGODB_URL",
      "MONGODB_DATABASE",
      "LOG_LEVEL",
      "LOG_FORMAT",
      "MAX_INFLIGHT_COMMANDS",
      "COMMAND_RETRY_LIMIT",
      "LOT_CACHE_SIZE",
      "LOT_PERIOD_EVENTS",
      "RETENTION_DAYS",
      "PROJECTION_BATCH_SIZE",
      "READY_MAX_LAG",
      "PROCESSOR_LEASE_TTL_MS",
      "PROCESSOR_LEASE_RENEW_MS",
      "HEAVY_READ_CONCURRENCY",
      "HEAVY_READ_QUEUE",
      "HEAVY_READ_ANONYMOUS_CONCURRENCY",
      "HEAVY_READ_ANONYMOUS_QUEUE",
      "HEAVY_READ_MAX_WAIT_MS",
      "READ_YOUR_WRITES_TIMEOUT_MS",
      "READ_YOUR_WRITES_MAX_WAITING",
      "SHUTDOWN_TIMEOUT_MS",
      "EVENT_LOOP_STALL_MS",
      "SHUTDOWN_DRAIN_MS",
      "HTTP_KEEP_ALIVE_TIMEOUT_MS",
      "HTTP_HEADERS_TIMEOUT_MS",
      "HTTP_REQUEST_TIMEOUT_MS",
      "HTTP_MAX_CONNECTIONS",
      "EMBEDDED_POLL_INTERVAL_MS",
      "AUTH_ISSUER",
      "AUTH_AUDIENCE",
      "AUTH_JWKS_URL",
      "AUTH_ROLES_CLAIMS",
      "AUTH_ALGORITHMS",
      "AUTH_CLOCK_SKEW_SECONDS",
      "AUTH_JWKS_COOLDOWN_MS",
      "AUTH_ISSUER_ALLOW_HTTP",
      "AUTH_ROLE_MAP",
      "AUTH_LOTS_CLAIM",
      "AUTH_LOTS_PREFIX",
      "AUTH_CUSTOMER_ID_CLAIM",
      "AUTH_TOKEN_TYPES",
      "AUTH_MAX_TOKEN_LIFETIME_SECONDS",
      "IDEMPOTENCY_SECRET",
      "LIVE_UPDATE_INTERVAL_MS",
      "LIVE_REFRESH_MS",
      "LIVE_HEARTBEAT_MS",
      "LIVE_MAX_STREAMS",
      "LIVE_MAX_STREAMS_PER_PRINCIPAL",
      "PAGE_OIDC_CLIENT_ID",
      "PAGE_OIDC_SCOPE",
      "PAGE_OIDC_AUDIENCE",
      "PAGE_OIDC_RESOURCE",
      "PUBLIC_URL",
      "RATE_LIMIT_WINDOW_MS",
      "RATE_LIMIT_PER_PRINCIPAL",
      "RATE_LIMIT_PER_ADDRESS",
      "TRUST_PROXY_HOPS",
      "CORS_ORIGINS",
      "PROCESSORS_THREAD",
      "OTEL_EXPORTER_OTLP_ENDPOINT",
      "OTEL_EXPORTER_OTLP_PROTOCOL",
      "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
      "OTEL_TRACES_SAMPLER_ARG",
      "WEBHOOK_ALLOW_PRIVATE",
      "WEBHOOK_SECRET_KEY",
      "WEBHOOK_TIMEOUT_MS",
      "WEBHOOK_CONCURRENCY",
      "WEBHOOK_RETRY_SCALE",
      "PAYMENTS",
      "PAYMENT_HOLD_SECONDS",
      "AUTHORIZE_BEFORE_STAY_HOURS",
      "STRIPE_SECRET_KEY",
      "STRIPE_WEBHOOK_SECRET",
      "STRIPE_INSTANCE",
      "STRIPE_API_BASE",
      "PAYMENT_RETRY_SCALE",
    ]);
  });

  it("takes a sampling ratio from 0 to 1", () => {
    expect(loadConfig({ OTEL_TRACES_SAMPLER_ARG: "0.01" }).otelTracesSamplerArg).toBe(0.01);
    expect(loadConfig({ OTEL_TRACES_SAMPLER_ARG: "0" }).otelTracesSamplerArg).toBe(0);
    for (const bad of ["1.5", "-0.1", "abc", "1e-2"]) rejects("OTEL_TRACES_SAMPLER_ARG", bad);
  });

  it("exports in OTLP/HTTP protobuf unless told JSON, and refuses gRPC (not offered)", () => {
    expect(loadConfig({}).otelExporterOtlpProtocol).toBe("http/protobuf");
    expect(loadConfig({ OTEL_EXPORTER_OTLP_PROTOCOL: "http/json" }).otelExporterOtlpProtocol).toBe(
      "http/json",
    );
    rejects("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc");
    expect(loadConfig({}).otelExporterOtlpTracesProtocol).toBeUndefined();
    const traces = loadConfig({ OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "http/json" });
    expect(traces.otelExporterOtlpTracesProtocol).toBe("http/json");
    rejects("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpc");
  });

  it("has a default for every variable but the optional ones, and each default is accepted", () => {
    const optional = [
      "EVENTSTORE_URL",
      "DATABASE_URL",
      "MONGODB_URL",
      "AUTH_ISSUER",
      "AUTH_JWKS_URL",
      "IDEMPOTENCY_SECRET",
      "CORS_ORIGINS",
      "OTEL_EXPORTER_OTLP_ENDPOINT",
      "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
      "PAGE_OIDC_AUDIENCE",
      "PAGE_OIDC_RESOURCE",
      "PUBLIC_URL",
      "WEBHOOK_SECRET_KEY",
      "STRIPE_SECRET_KEY",
      "STRIPE_WEBHOOK_SECRET",
      "RETENTION_DAYS",
    ];
    for (const variable of CONFIG_VARIABLES) {
      if (optional.includes(variable.name)) {
        expect(variable.default).toBeUndefined();
        continue;
      }
      expect(variable.default, variable.name).toBeTypeOf("string");
      expect(problemsOf({ [variable.name]: variable.default })).toEqual([]);
    }
  });
});

describe("the configuration schema", () => {
  it("is the one definition: the variables are its properties, in its order, typed and bounded by it", () => {
    expect(CONFIG_VARIABLES.map((v) => v.field)).toEqual(Object.keys(ConfigSchema.properties));
    const port = ConfigSchema.properties.port;
    expect([port.minimum, port.maximum]).toEqual([1, 65535]);
    expect(CONFIG_VARIABLES.find((v) => v.name === "PORT")?.expects).toBe("an integer from 1 to 65535");
    expect(ConfigSchema.required).not.toContain("eventStoreUrl");
    expect(ConfigSchema.required).toContain("role");
  });
});

describe("PROCESSORS_THREAD", () => {
  it.each(["worker", "main"] as const)("accepts %s", (value) => {
    expect(loadConfig({ PROCESSORS_THREAD: value }).processorsThread).toBe(value);
  });
  it.each(["thread", "Worker", "both"])("rejects %s", (value) => rejects("PROCESSORS_THREAD", value));
});

describe("ROLE", () => {
  it.each(["all", "command-api", "projector", "query-api"] as const)("accepts %s", (role) => {
    expect(loadConfig({ ROLE: role }).role).toBe(role);
  });

  it.each(["worker", "ALL", "query_api", "all,projector"])("rejects %s", (value) => rejects("ROLE", value));
});

describe("integers", () => {
  const ranges: [variable: string, min: number, max: number | undefined, field: keyof Config][] = [
    ["PORT", 1, 65535, "port"],
    ["EVENTSTORE_MAX_APPEND_SIZE", 1024, 1073741824, "eventStoreMaxAppendSize"],
    ["MAX_INFLIGHT_COMMANDS", 1, undefined, "maxInflightCommands"],
    ["COMMAND_RETRY_LIMIT", 0, 100, "commandRetryLimit"],
    ["LOT_CACHE_SIZE", 1, undefined, "lotCacheSize"],
    ["LOT_PERIOD_EVENTS", 50, 1000000, "lotPeriodEvents"],
    ["PROJECTION_BATCH_SIZE", 1, 10000, "projectionBatchSize"],
    ["READY_MAX_LAG", 0, undefined, "readyMaxLag"],
    ["READ_YOUR_WRITES_TIMEOUT_MS", 0, 30000, "readYourWritesTimeoutMs"],
    ["SHUTDOWN_TIMEOUT_MS", 100, 120000, "shutdownTimeoutMs"],
    ["EVENT_LOOP_STALL_MS", 200, 600000, "eventLoopStallMs"],
    ["EMBEDDED_POLL_INTERVAL_MS", 10, 10000, "embeddedPollIntervalMs"],
    ["LIVE_UPDATE_INTERVAL_MS", 50, 10000, "liveUpdateIntervalMs"],
    ["LIVE_REFRESH_MS", 50, 60000, "liveRefreshMs"],
    ["LIVE_HEARTBEAT_MS", 10, 300000, "liveHeartbeatMs"],
    ["LIVE_MAX_STREAMS", 1, 100000, "liveMaxStreams"],
    ["LIVE_MAX_STREAMS_PER_PRINCIPAL", 1, 100000, "liveMaxStreamsPerPrincipal"],
  ];

  it.each(ranges)("%s accepts its bounds", (variable, min, max, field) => {
    expect(loadConfig({ [variable]: String(min) })[field]).toBe(min);
    if (max !== undefined) expect(loadConfig({ [variable]: String(max) })[field]).toBe(max);
  });

  it.each(ranges)("%s rejects values out of range", (variable, min, max) => {
    rejects(variable, String(min - 1));
    if (max !== undefined) rejects(variable, String(max + 1));
  });

  it.each(ranges)("%s rejects what is not an integer", (variable) => {
    for (const value of [
      "80x",
      "x80",
      "1.5",
      "1e3",
      "0x10",
      "10_000",
      "NaN",
      "Infinity",
      "- 1",
      "9007199254740993",
    ]) {
      rejects(variable, value);
    }
  });

  it("trims surrounding spaces and accepts a leading +", () => {
    expect(loadConfig({ PORT: " 3000 " }).port).toBe(3000);
    expect(loadConfig({ PORT: "+3000" }).port).toBe(3000);
  });

  it("has no upper bound where the specification gives none", () => {
    expect(loadConfig({ LOT_CACHE_SIZE: "1000000000" }).lotCacheSize).toBe(1_000_000_000);
  });
});

describe("HOST", () => {
  it.each(["0.0.0.0", "127.0.0.1", "localhost", "::", "::1", "api.internal.example"])(
    "accepts %s",
    (host) => {
      expect(loadConfig({ HOST: host }).host).toBe(host);
    },
  );

  it("accepts a bracketed IPv6 address and drops the brackets", () => {
    expect(loadConfig({ HOST: "[::1]" }).host).toBe("::1");
  });

  it.each(["http://localhost", "local host", "host/8080", "-bad-", "a..b"])("rejects %s", (value) =>
    rejects("HOST", value),
  );
});

describe("DATA_DIR", () => {
  it("resolves a relative path against the working directory", () => {
    expect(loadConfig({ DATA_DIR: "var/parking" }).dataDir).toBe(path.resolve("var/parking"));
  });

  it("keeps an absolute path", () => {
    expect(loadConfig({ DATA_DIR: "/srv/parking/data" }).dataDir).toBe(path.resolve("/srv/parking/data"));
  });

  it("rejects a path with a NUL byte", () => rejects("DATA_DIR", "data\0x"));
});

describe("EVENTSTORE_URL", () => {
  const valid = [
    "esdb://localhost:2113?tls=false",
    "esdb://eventstore:2113?tls=false",
    "esdb://localhost:2113/?tls=false",
    "esdb://localhost",
    "esdb://admin:changeit@localhost:2113?tls=true&tlsVerifyCert=true",
    "esdb://node1:2113,node2:2113,node3:2113?nodePreference=leader",
    "esdb+discover://cluster.example.com:2113",
    "kurrentdb://localhost:2113?tls=false",
    "kurrentdb+discover://cluster.example.com",
  ];

  it.each(valid)("accepts %s", (url) => {
    expect(loadConfig({ EVENTSTORE_URL: url }).eventStoreUrl).toBe(url);
  });

  it.each(valid)("accepts only what @eventstore/db-client can parse: %s", async (url) => {
    const client = EventStoreDBClient.connectionString(toEsdbConnectionString(url));
    await client.dispose();
  });

  it.each([
    "localhost:2113",
    "http://localhost:2113",
    "tcp://localhost:1113",
    "esdb:/localhost",
    "esdb://",
    "esdb://?tls=false",
    "esdb://localhost:99999",
    "esdb://localhost:0",
    "esdb://localhost:abc",
    "esdb://local host:2113",
    "esdb://a:2113,,b:2113",
    "esdb://localhost:2113/streams",
    "esdb://localhost:2113?tls",
    "esdb://localhost:2113?tls=false&",
    "esdb://admin@localhost:2113",
    "ESDB://localhost:2113",
  ])("rejects %s", (value) => rejects("EVENTSTORE_URL", value));

  it("rewrites kurrentdb schemes for @eventstore/db-client", () => {
    expect(toEsdbConnectionString("kurrentdb://h:2113?tls=false")).toBe("esdb://h:2113?tls=false");
    expect(toEsdbConnectionString("kurrentdb+discover://h")).toBe("esdb+discover://h");
    expect(toEsdbConnectionString("esdb://h")).toBe("esdb://h");
  });
});

describe("EVENTSTORE_SYNC", () => {
  it.each(["normal", "full"] as const)("accepts %s", (mode) => {
    expect(loadConfig({ EVENTSTORE_SYNC: mode }).eventStoreSync).toBe(mode);
  });

  it.each(["off", "FULL", "true"])("rejects %s", (value) => rejects("EVENTSTORE_SYNC", value));
});

describe("MONGODB_URL", () => {
  const valid = [
    "mongodb://localhost:27017",
    "mongodb://mongo:27017/?replicaSet=rs0",
    "mongodb://localhost:27017/?directConnection=true",
    "mongodb://user:p%40ss@db1:27017,db2:27017,db3/parking?replicaSet=rs0&w=majority",
    "mongodb://reader@localhost/?authSource=admin",
    "mongodb://[::1]:27017/",
    "mongodb+srv://cluster0.example.net/?retryWrites=true&w=majority",
  ];

  it.each(valid)("accepts %s", (url) => {
    expect(loadConfig({ MONGODB_URL: url }).mongodbUrl).toBe(url);
  });

  it.each(valid)("accepts only what the mongodb driver can parse: %s", async (url) => {
    const client = new MongoClient(url);
    await client.close();
  });

  it.each([
    "localhost:27017",
    "postgres://localhost",
    "mongodb:/localhost",
    "mongodb://",
    "mongodb:///parking",
    "mongodb://localhost:70000",
    "mongodb://localhost:27017/a.b",
    "mongodb://localhost:27017/?replicaSet",
    "mongodb://:secret@localhost",
    "mongodb+srv://cluster0.example.net:27017",
    "mongodb+srv://a.example.net,b.example.net",
    "mongodb://local host",
  ])("rejects %s", (value) => rejects("MONGODB_URL", value));
});

describe("DATABASE_URL", () => {
  const valid = [
    "postgres://localhost/parking",
    "postgresql://parking:s%40cret@db.example.net:5433/parking?sslmode=verify-full",
    "postgres://parking@[::1]:5432/parking?sslmode=require&application_name=parking",
    "postgres://127.0.0.1:5432",
  ];

  it.each(valid)("accepts what pg's connection string parsing reads: %s", (url) => {
    expect(loadConfig({ DATABASE_URL: url }).databaseUrl).toBe(url);
    expect(parsePostgresUrl(url).host).toBeTruthy();
  });

  it.each([
    "postgres://a:5432,b:5432/parking",
    "postgres://app:pw@db1,db2:5433,[::1]/parking?target_session_attrs=read-write&sslmode=require",
  ])("accepts libpq's multi-host URLs (platform/postgres/hosts.ts): %s", (url) => {
    expect(loadConfig({ DATABASE_URL: url }).databaseUrl).toBe(url);
  });

  it.each([
    "localhost:5432",
    "mysql://localhost/parking",
    "postgres://",
    "postgres://localhost:70000/parking",
    "postgres://a:5432,/parking",
    "postgres://a,b/parking?target_session_attrs=standby",
    "postgres://local host/parking",
  ])("rejects %s", (value) => rejects("DATABASE_URL", value));

  it.each([
    [{ EVENTSTORE_URL: "esdb://admin:changeit@localhost:2113?tls=false" }, "EVENTSTORE_URL"],
    [{ MONGODB_URL: "mongodb://localhost:27017" }, "MONGODB_URL"],
  ])("is refused in one line beside another store's URL (%o)", (other, name) => {
    const problems = problemsOf({ DATABASE_URL: "postgres://localhost/parking", ...other });
    expect(problems.map((p) => p.variable)).toEqual(["DATABASE_URL"]);
    expect(problems[0]?.message).toContain(name);
  });
});

describe("MONGODB_DATABASE", () => {
  it.each(["parking", "parking_test", "parking-2", "주차"])("accepts %s", (name) => {
    expect(loadConfig({ MONGODB_DATABASE: name }).mongodbDatabase).toBe(name);
  });

  it.each(["a.b", "a/b", "a b", "$db", 'a"b', "a:b", "x".repeat(64)])("rejects %s", (value) =>
    rejects("MONGODB_DATABASE", value),
  );
});

describe("LOG_LEVEL", () => {
  it.each(["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const)("accepts %s", (level) => {
    expect(loadConfig({ LOG_LEVEL: level }).logLevel).toBe(level);
  });

  it.each(["verbose", "INFO", "warning", "30"])("rejects %s", (value) => rejects("LOG_LEVEL", value));
});

describe("ConfigError", () => {
  const bad = {
    ROLE: "worker",
    PORT: "80x",
    EVENTSTORE_URL: "http://eventstore:2113",
    MONGODB_DATABASE: "a.b",
    COMMAND_RETRY_LIMIT: "101",
    SHUTDOWN_TIMEOUT_MS: "5",
  };

  it("takes no payments by default, and refuses PAYMENTS=stripe without Stripe's key and webhook secret", () => {
    const config = loadConfig({});
    expect(config.payments).toBe("none");
    expect(config.paymentHoldSeconds).toBe(900);
    expect(config.stripeApiBase).toBe("https://api.stripe.com");
    const missing = problemsOf({ PAYMENTS: "stripe" });
    expect(missing.map((p) => p.variable)).toEqual(["STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET"]);
    expect(missing[0]?.message).toContain("is required with PAYMENTS=stripe");
    const stripe = loadConfig({
      PAYMENTS: "stripe",
      STRIPE_SECRET_KEY: "sk_test_123456789",
      STRIPE_WEBHOOK_SECRET: "whsec_123456789",
      STRIPE_API_BASE: "http://127.0.0.1:12111",
    });
    expect(stripe.payments).toBe("stripe");
    expect(redactConfig(stripe).stripeSecretKey).toBe("****");
    rejects("PAYMENTS", "paypal");
    rejects("STRIPE_SECRET_KEY", "sk test");
    rejects("STRIPE_INSTANCE", "two words");
    expect(stripe.stripeInstance).toBe("parking-reservations");
    // Issue 71: a live key on the default instance name refuses to start; a named one starts.
    const live = {
      PAYMENTS: "stripe",
      STRIPE_SECRET_KEY: "sk_live_123456789",
      STRIPE_WEBHOOK_SECRET: "whsec_123456789",
    };
    expect(problemsOf(live)).toMatchObject([{ variable: "STRIPE_INSTANCE" }]);
    expect(problemsOf({ ...live, STRIPE_INSTANCE: "production-eu" })).toEqual([]);
  });

  it("reports every problem at once, in table order", () => {
    expect(() => loadConfig(bad)).toThrow(ConfigError);
    expect(problemsOf(bad).map((p) => p.variable)).toEqual([
      "ROLE",
      "PORT",
      "EVENTSTORE_URL",
      "MONGODB_DATABASE",
      "COMMAND_RETRY_LIMIT",
      "SHUTDOWN_TIMEOUT_MS",
    ]);
  });

  it("has a message with one line per problem naming the variable, what it expects and the value", () => {
    let error: unknown;
    try {
      loadConfig(bad);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const { message, name } = error as ConfigError;
    expect(name).toBe("ConfigError");
    expect(message.split("\n")).toEqual([
      'Invalid configuration: ROLE: expected one of all, command-api, projector, query-api, got "worker"',
      'Invalid configuration: PORT: expected an integer from 1 to 65535, got "80x"',
      expect.stringMatching(
        /^Invalid configuration: EVENTSTORE_URL: expected a connection string starting with esdb:\/\/, .*got "http:\/\/eventstore:2113"/,
      ),
      expect.stringMatching(
        /^Invalid configuration: MONGODB_DATABASE: expected a MongoDB database name.*got "a\.b"$/,
      ),
      'Invalid configuration: COMMAND_RETRY_LIMIT: expected an integer from 0 to 100, got "101" (out of range)',
      'Invalid configuration: SHUTDOWN_TIMEOUT_MS: expected an integer from 100 to 120000, got "5" (out of range)',
    ]);
  });

  it("says a single problem in a single line", () => {
    expect(() => loadConfig({ PORT: "0" })).toThrow(/^Invalid configuration: PORT: [^\n]+$/);
  });

  it("shows the value as received, before trimming", () => {
    expect(problemsOf({ PORT: " 80x " })[0]?.message).toMatch(/got " 80x "/);
  });

  it("never shows a password from a connection string", () => {
    const problems = problemsOf({
      EVENTSTORE_URL: "esdb://admin:hunter2@eventstore:99999",
      MONGODB_URL: "mongodb://app:hunter2@mongo:70000",
    });
    expect(problems).toHaveLength(2);
    for (const problem of problems) {
      expect(problem.message).not.toContain("hunter2");
      expect(problem.message).toContain(":****@");
    }
  });
});

describe("redactConfig", () => {
  it("masks passwords in the connection strings and keeps everything else", () => {
    const config = loadConfig({
      EVENTSTORE_URL: "esdb://admin:changeit@eventstore:2113?tls=false",
      MONGODB_URL: "mongodb://app:s3cret@mongo:27017/?replicaSet=rs0",
    });
    expect(redactConfig(config)).toStrictEqual({
      ...config,
      eventStoreUrl: "esdb://admin:****@eventstore:2113?tls=false",
      mongodbUrl: "mongodb://app:****@mongo:27017/?replicaSet=rs0",
    });
    expect(redactConfig(DEFAULTS)).toStrictEqual(DEFAULTS);
  });
});

describe("authentication variables", () => {
  it("never accepts none or an HMAC algorithm, whatever the list says", () => {
    for (const value of ["none", "HS256", "RS256,HS256", "RS256,none", "hs512", ""]) {
      if (value === "") continue;
      rejects("AUTH_ALGORITHMS", value);
    }
    expect(loadConfig({ AUTH_ALGORITHMS: "ES256, EdDSA" }).authAlgorithms).toEqual(["ES256", "EdDSA"]);
  });

  it("reads the issuer, JWKS URL and roles claims", () => {
    const config = loadConfig({
      AUTH_ISSUER: "https://id.example.com/realms/parking",
      AUTH_JWKS_URL: "https://id.example.com/realms/parking/protocol/openid-connect/certs",
      AUTH_ROLES_CLAIMS: "realm_access.roles,resource_access.parking.roles",
    });
    expect(config.authIssuer).toBe("https://id.example.com/realms/parking");
    expect(config.authRolesClaims).toEqual(["realm_access.roles", "resource_access.parking.roles"]);
    rejects("AUTH_ISSUER", "not a url");
    rejects("AUTH_JWKS_URL", "ftp://keys");
    rejects("AUTH_ROLES_CLAIMS", "a..b");
  });

  it("accepts an http:// issuer only on this machine or when AUTH_ISSUER_ALLOW_HTTP=true", () => {
    expect(loadConfig({ AUTH_ISSUER: "http://127.0.0.1:8180/realms/p" }).authIssuer).toBe(
      "http://127.0.0.1:8180/realms/p",
    );
    expect(loadConfig({ AUTH_ISSUER: "http://localhost:8180/realms/p" }).authIssuer).toBeDefined();
    rejects("AUTH_ISSUER", "http://keycloak:8180/realms/p");
    expect(
      loadConfig({ AUTH_ISSUER: "http://keycloak:8180/realms/p", AUTH_ISSUER_ALLOW_HTTP: "true" }).authIssuer,
    ).toBe("http://keycloak:8180/realms/p");
    rejects("AUTH_ISSUER_ALLOW_HTTP", "yes");
  });

  it("reads the role map, the customer id claim, token types and the page's request parameters", () => {
    const config = loadConfig({
      AUTH_ROLE_MAP: "ParkingAdmins=operator, app-user=customer",
      AUTH_CUSTOMER_ID_CLAIM: "email",
      AUTH_TOKEN_TYPES: "at+jwt",
      AUTH_MAX_TOKEN_LIFETIME_SECONDS: "3600",
      PAGE_OIDC_SCOPE: "openid offline_access api://parking/access",
      PAGE_OIDC_AUDIENCE: "https://api.parking.example",
      PAGE_OIDC_RESOURCE: "urn:parking-reservations:api",
      PUBLIC_URL: "https://parking.example.com",
    });
    expect(config).toMatchObject({
      authRoleMap: { ParkingAdmins: "operator", "app-user": "customer" },
      authCustomerIdClaim: "email",
      authTokenTypes: ["at+jwt"],
      authMaxTokenLifetimeSeconds: 3600,
      pageOidcScope: "openid offline_access api://parking/access",
      pageOidcAudience: "https://api.parking.example",
      pageOidcResource: "urn:parking-reservations:api",
      publicUrl: "https://parking.example.com",
    });
    rejects("AUTH_ROLE_MAP", "admins=root");
    rejects("AUTH_ROLE_MAP", "admins");
    rejects("PAGE_OIDC_SCOPE", "openid  profile");
    rejects("PAGE_OIDC_RESOURCE", "https://api.example#frag");
    rejects("PUBLIC_URL", "https://parking.example.com/path");
    rejects("AUTH_MAX_TOKEN_LIFETIME_SECONDS", "0");
  });

  it("refuses a JWKS URL without an issuer (it would be trusted for no issuer)", () => {
    expect(problemsOf({ AUTH_JWKS_URL: "https://id.example.com/certs" }).map((p) => p.variable)).toEqual([
      "AUTH_JWKS_URL",
    ]);
  });

  it("takes an idempotency secret of 32+ characters, never shows it, and redacts it", () => {
    const problems = problemsOf({ IDEMPOTENCY_SECRET: "short-secret" });
    expect(problems.map((p) => p.variable)).toEqual(["IDEMPOTENCY_SECRET"]);
    expect(JSON.stringify(problems)).not.toContain("short-secret");
    const secret = "s".repeat(40);
    expect(redactConfig(loadConfig({ IDEMPOTENCY_SECRET: secret })).idempotencySecret).toBe("****");
  });
});

describe("processor leases", () => {
  it("takes a ttl from 500 ms to 10 minutes with a renew interval of at most half of it", () => {
    expect(loadConfig({ PROCESSOR_LEASE_TTL_MS: "500", PROCESSOR_LEASE_RENEW_MS: "250" })).toMatchObject({
      processorLeaseTtlMs: 500,
      processorLeaseRenewMs: 250,
    });
    expect(loadConfig({ PROCESSOR_LEASE_TTL_MS: "600000" }).processorLeaseTtlMs).toBe(600000);
    rejects("PROCESSOR_LEASE_TTL_MS", "499");
    rejects("PROCESSOR_LEASE_TTL_MS", "600001");
    rejects("PROCESSOR_LEASE_RENEW_MS", "49");
  });

  it("refuses a renew interval longer than half the ttl, naming the variable", () => {
    expect(() => loadConfig({ PROCESSOR_LEASE_TTL_MS: "3000", PROCESSOR_LEASE_RENEW_MS: "1501" })).toThrow(
      /PROCESSOR_LEASE_RENEW_MS: expected at most half of PROCESSOR_LEASE_TTL_MS \(3000\), got "1501"/,
    );
    expect(() => loadConfig({ PROCESSOR_LEASE_TTL_MS: "1500" })).toThrow(/PROCESSOR_LEASE_RENEW_MS/);
  });
});
