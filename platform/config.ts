import path from "node:path";

/**
 * Process configuration, read once from environment variables at start-up.
 *
 * Every variable is described in one table (`SPECS` below): its name, what it is for, its
 * default, what it accepts and how it is parsed. `CONFIG_VARIABLES` publishes that table so the
 * operations guide and the deployment files can be checked against it. `loadConfig` reports
 * every bad value at once (a `ConfigError` listing them), never only the first.
 */

export const ROLES = ["all", "command-api", "projector", "query-api"] as const;
/** Where ROLE=all runs the projectors and the coupon policy. */
export const PROCESSOR_THREADS = ["worker", "main"] as const;
export type ProcessorThread = (typeof PROCESSOR_THREADS)[number];
/** Which parts of the service one process runs. */
export type Role = (typeof ROLES)[number];

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const LOG_FORMATS = ["auto", "json", "pretty"] as const;
/** How log lines are written: JSON lines, or readable lines for a person at a terminal. */
export type LogFormat = (typeof LOG_FORMATS)[number];

export const EVENT_STORE_SYNC_MODES = ["normal", "full"] as const;
/** fsync policy of the embedded event store. */
export type EventStoreSync = (typeof EVENT_STORE_SYNC_MODES)[number];

export const EVENT_STORE_URL_SCHEMES = ["esdb", "esdb+discover", "kurrentdb", "kurrentdb+discover"] as const;
export const MONGODB_URL_SCHEMES = ["mongodb", "mongodb+srv"] as const;

export interface Config {
  /** ROLE: which parts of the service this process runs. */
  readonly role: Role;
  /** PORT: HTTP port of the API and of /healthz, /readyz, /metrics. */
  readonly port: number;
  /** HOST: address to listen on. */
  readonly host: string;
  /** DATA_DIR: absolute directory of the embedded stores. */
  readonly dataDir: string;
  /** EVENTSTORE_URL: EventStoreDB/KurrentDB connection string; unset = embedded event store. */
  readonly eventStoreUrl?: string;
  /** EVENTSTORE_SYNC: fsync policy of the embedded event store. */
  readonly eventStoreSync: EventStoreSync;
  /** MONGODB_URL: MongoDB connection string; unset = embedded document store. */
  readonly mongodbUrl?: string;
  /** MONGODB_DATABASE: database of the read models. */
  readonly mongodbDatabase: string;
  /** LOG_LEVEL: least severe level that is logged. */
  readonly logLevel: LogLevel;
  /** LOG_FORMAT: json, pretty, or auto (pretty when stdout is a terminal). */
  readonly logFormat: LogFormat;
  /** MAX_INFLIGHT_COMMANDS: commands handled at once before new ones get 503 + Retry-After. */
  readonly maxInflightCommands: number;
  /** COMMAND_RETRY_LIMIT: optimistic-concurrency retries of one command. */
  readonly commandRetryLimit: number;
  /** LOT_CACHE_SIZE: parking-lot states kept in memory. */
  readonly lotCacheSize: number;
  /** LOT_SNAPSHOT_EVERY: a lot is snapshotted each time its stream has grown by this many events (0: never). */
  readonly lotSnapshotEvery: number;
  /** PROJECTION_BATCH_SIZE: events a projector applies per batch. */
  readonly projectionBatchSize: number;
  /** READY_MAX_LAG: events a projection may lag behind the head while /readyz still passes. */
  readonly readyMaxLag: number;
  /** PROCESSOR_LEASE_TTL_MS: how long a projector's lease on a processor lasts without renewal. */
  readonly processorLeaseTtlMs: number;
  /** PROCESSOR_LEASE_RENEW_MS: how often lease holders renew and standbys try to take over. */
  readonly processorLeaseRenewMs: number;
  /** READ_YOUR_WRITES_TIMEOUT_MS: longest wait of a query for a requested position. */
  readonly readYourWritesTimeoutMs: number;
  /** READ_YOUR_WRITES_MAX_WAITING: queries waiting for their position at once, per process. */
  readonly readYourWritesMaxWaiting: number;
  /** SHUTDOWN_TIMEOUT_MS: longest graceful shutdown before the process exits anyway. */
  readonly shutdownTimeoutMs: number;
  /** SHUTDOWN_DRAIN_MS: how long a stopping process keeps serving while not ready, for load balancers to notice. */
  readonly shutdownDrainMs: number;
  /** HTTP_KEEP_ALIVE_TIMEOUT_MS: how long an idle keep-alive connection is kept open. */
  readonly httpKeepAliveTimeoutMs: number;
  /** HTTP_HEADERS_TIMEOUT_MS: longest time to receive a request's headers. */
  readonly httpHeadersTimeoutMs: number;
  /** HTTP_REQUEST_TIMEOUT_MS: longest time to receive a whole request. */
  readonly httpRequestTimeoutMs: number;
  /** HTTP_MAX_CONNECTIONS: open connections accepted at once; further ones are refused. */
  readonly httpMaxConnections: number;
  /** EMBEDDED_POLL_INTERVAL_MS: how often embedded stores look for writes by other processes. */
  readonly embeddedPollIntervalMs: number;
  /** AUTH_ISSUER: `iss` of accepted tokens; unset = the embedded development issuer. */
  readonly authIssuer?: string;
  /** AUTH_AUDIENCE: `aud` every accepted token must carry. */
  readonly authAudience: string;
  /** AUTH_JWKS_URL: the issuer's key set; unset = OIDC discovery (or the embedded issuer's own). */
  readonly authJwksUrl?: string;
  /** OTEL_EXPORTER_OTLP_ENDPOINT: where traces go (OTLP/HTTP, `{endpoint}/v1/traces`); unset = tracing off. */
  readonly otelExporterOtlpEndpoint?: string;
  /** OTEL_TRACES_SAMPLER_ARG: the share of traces started here that are recorded (parent-based). */
  readonly otelTracesSamplerArg: number;
  /** AUTH_ROLES_CLAIMS: dot paths of the claims that hold the caller's roles. */
  readonly authRolesClaims: readonly string[];
  /** AUTH_ALGORITHMS: accepted signature algorithms (asymmetric only). */
  readonly authAlgorithms: readonly string[];
  /** AUTH_CLOCK_SKEW_SECONDS: tolerance for exp, nbf and iat. */
  readonly authClockSkewSeconds: number;
  /** AUTH_JWKS_COOLDOWN_MS: least time between key set refetches for an unknown key id. */
  readonly authJwksCooldownMs: number;
  /** AUTH_ISSUER_ALLOW_HTTP: whether an http:// AUTH_ISSUER other than a loopback one is accepted. */
  readonly authIssuerAllowHttp: boolean;
  /** AUTH_ROLE_MAP: the provider's role names that count as `customer` or `operator`. */
  readonly authRoleMap: Readonly<Record<string, "customer" | "operator">>;
  /** AUTH_CUSTOMER_ID_CLAIM: dot path of the claim that names a customer (default `sub`). */
  readonly authCustomerIdClaim: string;
  /** AUTH_TOKEN_TYPES: JWS `typ` header values accepted on access tokens (when a token has one). */
  readonly authTokenTypes: readonly string[];
  /** AUTH_MAX_TOKEN_LIFETIME_SECONDS: longest validity (exp - iat) of an accepted access token. */
  readonly authMaxTokenLifetimeSeconds: number;
  /** IDEMPOTENCY_SECRET: HMAC key of reservation ids; unset = a random one kept under DATA_DIR. */
  readonly idempotencySecret?: string;
  /** LIVE_UPDATE_INTERVAL_MS: how often the control-center page's event streams look for changes. */
  readonly liveUpdateIntervalMs: number;
  /** LIVE_REFRESH_MS: the longest the live view goes unread though no projection moved (the clock's changes). */
  readonly liveRefreshMs: number;
  /** LIVE_HEARTBEAT_MS: how often an idle event stream gets a heartbeat. */
  readonly liveHeartbeatMs: number;
  /** LIVE_MAX_STREAMS: live-update streams one process serves at once. */
  readonly liveMaxStreams: number;
  /** LIVE_MAX_STREAMS_PER_PRINCIPAL: live-update streams one caller may hold open in one process. */
  readonly liveMaxStreamsPerPrincipal: number;
  /** PAGE_OIDC_CLIENT_ID: the control-center page's public client id at an external OIDC provider. */
  readonly pageOidcClientId: string;
  /** PAGE_OIDC_SCOPE: scope the page asks the provider for. */
  readonly pageOidcScope: string;
  /** PAGE_OIDC_AUDIENCE: `audience` parameter of the page's authorization request (Auth0). */
  readonly pageOidcAudience?: string;
  /** PAGE_OIDC_RESOURCE: `resource` parameter (RFC 8707) of the page's authorization and token requests. */
  readonly pageOidcResource?: string;
  /** PUBLIC_URL: the origin browsers and clients reach the service at. */
  readonly publicUrl?: string;
  /** PROCESSORS_THREAD: where ROLE=all runs the projectors and the coupon policy. */
  readonly processorsThread: ProcessorThread;
  /** RATE_LIMIT_WINDOW_MS: length of a rate-limit window. */
  readonly rateLimitWindowMs: number;
  /** RATE_LIMIT_PER_PRINCIPAL: requests one authenticated caller may make per window. */
  readonly rateLimitPerPrincipal: number;
  /** RATE_LIMIT_PER_ADDRESS: requests one client address may make per window. */
  readonly rateLimitPerAddress: number;
  /** TRUST_PROXY_HOPS: proxies in front whose X-Forwarded-For is believed for the client address. */
  readonly trustProxyHops: number;
  /** CORS_ORIGINS: browser origins allowed to call the API cross-origin; unset = none. */
  readonly corsOrigins?: readonly string[];
}

/** One documented environment variable. */
export interface ConfigVariable {
  /** Environment variable name. */
  readonly name: string;
  /** Field of `Config` it sets. */
  readonly field: keyof Config;
  readonly description: string;
  /** Value used when the variable is unset or empty; undefined = the feature is off. */
  readonly default: string | undefined;
  /** What the variable accepts, in words. */
  readonly expects: string;
}

export interface ConfigProblem {
  readonly variable: string;
  readonly message: string;
}

/** Thrown by `loadConfig` with every bad variable; the message has one line per problem. */
export class ConfigError extends Error {
  override name = "ConfigError";
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[]) {
    const count = problems.length === 1 ? "1 problem" : `${problems.length} problems`;
    super(
      [`Invalid configuration (${count}):`, ...problems.map((p) => `  ${p.variable}: ${p.message}`)].join(
        "\n",
      ),
    );
    this.problems = problems;
  }
}

// ---------------------------------------------------------------------------------------------
// Parsers

type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason?: string };

interface Parser<T> {
  readonly expects: string;
  /** `raw` is trimmed and non-empty, or undefined when the variable is unset and has no default. */
  readonly parse: (raw: string | undefined) => Parsed<T>;
  /** How a received value is shown in a problem (URLs hide their password). */
  readonly display?: (raw: string) => string;
}

interface VariableSpec<T> extends Parser<T> {
  readonly name: string;
  readonly description: string;
  readonly default: string | undefined;
}

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const fail = (reason?: string): Parsed<never> =>
  reason === undefined ? { ok: false } : { ok: false, reason };

function integer(min: number, max?: number): Parser<number> {
  const expects = max === undefined ? `an integer of at least ${min}` : `an integer from ${min} to ${max}`;
  return {
    expects,
    parse: (raw) => {
      if (raw === undefined || !/^[+-]?\d+$/.test(raw)) return fail();
      const value = Number(raw);
      if (!Number.isSafeInteger(value) || value < min || (max !== undefined && value > max)) {
        return fail("out of range");
      }
      return ok(value);
    },
  };
}

/** A share from 0 to 1 (a decimal number). */
const ratio: Parser<number> = {
  expects: "a number from 0 to 1",
  parse: (raw) => {
    if (raw === undefined || !/^(?:0|1|0?\.\d+|1\.0+)$/.test(raw)) return fail();
    return ok(Number(raw));
  },
};

function oneOf<const T extends readonly string[]>(values: T): Parser<T[number]> {
  const isValue = (raw: string): raw is T[number] => values.includes(raw);
  return {
    expects: `one of ${values.join(", ")}`,
    parse: (raw) => (raw !== undefined && isValue(raw) ? ok(raw) : fail()),
  };
}

/** Makes a parser of an optional variable: unset (and no default) means `undefined`. */
function optional<T>(parser: Parser<T>): Parser<T | undefined> {
  return { ...parser, parse: (raw) => (raw === undefined ? ok(undefined) : parser.parse(raw)) };
}

const HOST_NAME =
  /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;
const IPV6 = /^[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*(?:%[A-Za-z0-9_.-]+)?$/;

const listenHost: Parser<string> = {
  expects: "a host name or IP address (0.0.0.0 or :: for every interface)",
  parse: (raw) => {
    if (raw === undefined) return fail();
    const unbracketed = raw.startsWith("[") && raw.endsWith("]") ? raw.slice(1, -1) : raw;
    return HOST_NAME.test(unbracketed) || IPV6.test(unbracketed) ? ok(unbracketed) : fail();
  },
};

const directory: Parser<string> = {
  expects: "a directory path (relative paths resolve against the working directory)",
  parse: (raw) => (raw === undefined || raw.includes("\0") ? fail() : ok(path.resolve(raw))),
};

const MONGODB_DATABASE_FORBIDDEN = /[/\\. "$*<>:|?\0]/;

const mongodbDatabaseName: Parser<string> = {
  expects: 'a MongoDB database name: at most 63 bytes, without spaces or any of / \\ . " $ * < > : | ?',
  parse: (raw) => {
    if (raw === undefined || MONGODB_DATABASE_FORBIDDEN.test(raw)) return fail();
    return Buffer.byteLength(raw, "utf8") <= 63 ? ok(raw) : fail("longer than 63 bytes");
  },
};

/** `scheme://[user:password@]` prefix; the password is hidden when a value is shown. */
const URL_PREFIX = /^(?<scheme>[a-z][a-z0-9+.-]*):\/\/(?:(?<userinfo>[^@/?#\s]*)@)?(?<rest>.*)$/s;

function hidePassword(raw: string): string {
  return raw.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:@/?#\s]*:)[^@/?#\s]*@/s, "$1****@");
}

function checkPort(port: string | undefined): string | undefined {
  if (port === undefined) return undefined;
  const value = Number(port);
  return /^\d{1,5}$/.test(port) && value >= 1 && value <= 65535
    ? undefined
    : `port ${port} is not in 1-65535`;
}

/** `k=v(&k=v)*`, or nothing. */
function checkQuery(query: string | undefined): string | undefined {
  if (query === undefined || query === "") return undefined;
  return query.split("&").every((pair) => /^[^=&\s]+=[^&\s]+$/.test(pair))
    ? undefined
    : `query "${query}" is not key=value pairs joined by &`;
}

/** Checks one `host[:port]` (or `[ipv6][:port]`) of a host list. */
function checkHost(entry: string, allowIpv6: boolean): string | undefined {
  const bracketed = /^\[(?<ip>[^\]]+)\](?::(?<port>[^:]*))?$/.exec(entry);
  if (bracketed?.groups) {
    if (!allowIpv6 || !IPV6.test(bracketed.groups.ip ?? "")) return `host "${entry}" is not valid`;
    return checkPort(bracketed.groups.port);
  }
  const [host = "", port, ...rest] = entry.split(":");
  if (rest.length > 0 || !HOST_NAME.test(host)) return `host "${entry}" is not valid`;
  return checkPort(port);
}

interface ConnectionStringRules {
  readonly schemes: readonly string[];
  readonly example: string;
  /** Whether `[ipv6]` hosts are accepted. */
  readonly ipv6: boolean;
  /** Whether a path after the hosts (a database name, or only `/`) is accepted. */
  readonly path: "slash" | "database";
  /** Schemes whose host list must be one host without a port (DNS seed lists). */
  readonly singleHostSchemes: readonly string[];
  /** Whether a user name is required when `@` is present (`user:password@`). */
  readonly passwordRequired: boolean;
}

function connectionString(rules: ConnectionStringRules): Parser<string> {
  const schemes = rules.schemes.map((s) => `${s}://`);
  const list = `${schemes.slice(0, -1).join(", ")} or ${schemes.at(-1)}`;
  return {
    expects: `a connection string starting with ${list}, such as ${rules.example}`,
    display: hidePassword,
    parse: (raw) => {
      if (raw === undefined) return fail();
      const prefix = URL_PREFIX.exec(raw)?.groups;
      if (!prefix || !rules.schemes.includes(prefix.scheme ?? "")) return fail("unsupported scheme");
      const { scheme = "", userinfo, rest = "" } = prefix;
      if (userinfo !== undefined) {
        const credentials = rules.passwordRequired ? /^[^:@\s]+:[^@\s]+$/ : /^[^:@\s]+(?::[^@\s]*)?$/;
        if (!credentials.test(userinfo)) return fail("credentials are not user:password");
      }
      const parts = /^(?<hosts>[^/?#]*)(?<path>\/[^?#]*)?(?:\?(?<query>[^#]*))?$/.exec(rest)?.groups;
      if (!parts) return fail("unexpected characters");
      const hosts = (parts.hosts ?? "").split(",");
      if (hosts.some((h) => h === "")) return fail("no host");
      if (rules.singleHostSchemes.includes(scheme) && (hosts.length !== 1 || hosts[0]?.includes(":"))) {
        return fail(`${scheme}:// takes exactly one host name without a port`);
      }
      for (const host of hosts) {
        const problem = checkHost(host, rules.ipv6);
        if (problem) return fail(problem);
      }
      if (parts.path !== undefined && parts.path !== "/") {
        if (rules.path === "slash") return fail(`unexpected path "${parts.path}"`);
        const database = parts.path.slice(1);
        if (!mongodbDatabaseName.parse(database).ok) return fail(`database "${database}" is not valid`);
      }
      const query = checkQuery(parts.query);
      return query ? fail(query) : ok(raw);
    },
  };
}

const eventStoreConnectionString = connectionString({
  schemes: EVENT_STORE_URL_SCHEMES,
  example: "esdb://localhost:2113?tls=false",
  ipv6: false,
  path: "slash",
  singleHostSchemes: [],
  passwordRequired: true,
});

const mongodbConnectionString = connectionString({
  schemes: MONGODB_URL_SCHEMES,
  example: "mongodb://localhost:27017/?replicaSet=rs0",
  ipv6: true,
  path: "database",
  singleHostSchemes: ["mongodb+srv"],
  passwordRequired: false,
});

/** Asymmetric JWS algorithms only: `none` and the HMAC family (HS*) can never be configured. */
export const ASYMMETRIC_ALGORITHMS = [
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "ES512",
  "EdDSA",
  "Ed25519",
] as const;

const webOrigin: Parser<string> = {
  expects: "an origin: http(s)://host[:port], no path",
  parse: (raw) =>
    raw !== undefined && /^https?:\/\/[A-Za-z0-9.-]+(:[0-9]{1,5})?$/.test(raw) ? ok(raw) : fail(),
};

function listOf(item: Parser<string>, what: string): Parser<readonly string[]> {
  return {
    expects: `a comma-separated list of ${what}`,
    parse: (raw) => {
      if (raw === undefined) return fail();
      const items = raw
        .split(",")
        .map((s) => s.trim())
        .filter((s) => s !== "");
      if (items.length === 0) return fail();
      for (const entry of items) {
        const parsed = item.parse(entry);
        if (!parsed.ok) return fail(`"${entry}" is not ${item.expects}`);
      }
      return ok([...new Set(items)]);
    },
  };
}

const algorithm: Parser<string> = {
  expects: `one of ${ASYMMETRIC_ALGORITHMS.join(", ")}`,
  parse: (raw) =>
    raw !== undefined && (ASYMMETRIC_ALGORITHMS as readonly string[]).includes(raw) ? ok(raw) : fail(),
};

const claimPath: Parser<string> = {
  expects: "a claim name or dot path such as realm_access.roles",
  parse: (raw) =>
    raw !== undefined && /^[A-Za-z0-9_:/-]+(\.[A-Za-z0-9_:/-]+)*$/.test(raw) ? ok(raw) : fail(),
};

const httpUrl: Parser<string> = {
  expects: "an absolute http:// or https:// URL",
  parse: (raw) => {
    if (raw === undefined || /\s/.test(raw)) return fail();
    try {
      const url = new URL(raw);
      return url.protocol === "http:" || url.protocol === "https:" ? ok(raw) : fail("not http(s)");
    } catch {
      return fail();
    }
  },
};

const issuerIdentifier: Parser<string> = {
  expects: "the issuer identifier: an absolute https:// (or http://) URL, exactly as tokens carry it in iss",
  parse: (raw) => (raw !== undefined && /^(https?:\/\/|urn:)\S+$/.test(raw) ? ok(raw) : fail()),
};

const boolean: Parser<boolean> = {
  expects: "true or false",
  parse: (raw) => (raw === "true" ? ok(true) : raw === "false" ? ok(false) : fail()),
};

const roleMap: Parser<Readonly<Record<string, "customer" | "operator">>> = {
  expects: "a comma-separated list of provider-role=customer or provider-role=operator",
  parse: (raw) => {
    if (raw === undefined) return fail();
    const map: Record<string, "customer" | "operator"> = {};
    if (raw === "-") return ok(map);
    for (const entry of raw.split(",").map((s) => s.trim())) {
      const match = /^([^=\s,]{1,100})=(customer|operator)$/.exec(entry);
      if (!match?.[1] || !match[2]) return fail(`"${entry}" is not name=customer or name=operator`);
      map[match[1]] = match[2] as "customer" | "operator";
    }
    return ok(map);
  },
};

const tokenType: Parser<string> = {
  expects: "a JWS typ value such as at+jwt or JWT",
  parse: (raw) => (raw !== undefined && /^[A-Za-z0-9.+/_-]{1,100}$/.test(raw) ? ok(raw) : fail()),
};

const absoluteUri: Parser<string> = {
  expects: "an absolute URI without a fragment (https://api.example.com or urn:…)",
  parse: (raw) => (raw !== undefined && /^[a-z][a-z0-9+.-]*:[^\s#]+$/i.test(raw) ? ok(raw) : fail()),
};

const scope: Parser<string> = {
  expects: "space-separated scope names",
  parse: (raw) =>
    raw !== undefined &&
    /^[\x21\x23-\x5B\x5D-\x7E]+( [\x21\x23-\x5B\x5D-\x7E]+)*$/.test(raw) &&
    raw.length <= 1000
      ? ok(raw)
      : fail(),
};

const audience: Parser<string> = {
  expects: "a non-empty audience without spaces",
  parse: (raw) => (raw !== undefined && /^\S{1,200}$/.test(raw) ? ok(raw) : fail()),
};

const secret: Parser<string> = {
  expects: "a random secret of at least 32 characters",
  display: () => "(hidden)",
  parse: (raw) => (raw !== undefined && raw.length >= 32 ? ok(raw) : fail("too short")),
};

// ---------------------------------------------------------------------------------------------
// The variables

type ConfigField = keyof Config;
type Specs = { readonly [K in ConfigField]: VariableSpec<Config[K]> };

const SPECS: Specs = {
  role: {
    name: "ROLE",
    description:
      "Which parts run in this process: `all` (command API, processors and query API), `command-api`, `projector` (the processors: projectors, coupon policy, lot snapshotter; serves only /healthz, /readyz, /metrics) or `query-api`.",
    default: "all",
    ...oneOf(ROLES),
  },
  port: {
    name: "PORT",
    description: "HTTP port of the API and of /healthz, /readyz and /metrics.",
    default: "8080",
    ...integer(1, 65535),
  },
  host: {
    name: "HOST",
    description: "Address the HTTP server listens on.",
    default: "0.0.0.0",
    ...listenHost,
  },
  dataDir: {
    name: "DATA_DIR",
    description: "Directory of the embedded event store and document store; created if missing.",
    default: "./data",
    ...directory,
  },
  eventStoreUrl: {
    name: "EVENTSTORE_URL",
    description:
      "EventStoreDB (KurrentDB) connection string. Unset: the embedded event store under DATA_DIR.",
    default: undefined,
    ...optional(eventStoreConnectionString),
  },
  eventStoreSync: {
    name: "EVENTSTORE_SYNC",
    description:
      "fsync policy of the embedded event store: `normal` syncs at checkpoints (an OS crash may lose the last commits, a process crash loses nothing), `full` syncs every commit.",
    default: "normal",
    ...oneOf(EVENT_STORE_SYNC_MODES),
  },
  mongodbUrl: {
    name: "MONGODB_URL",
    description:
      "MongoDB connection string (a replica set, for transactions). Unset: the embedded document store under DATA_DIR.",
    default: undefined,
    ...optional(mongodbConnectionString),
  },
  mongodbDatabase: {
    name: "MONGODB_DATABASE",
    description: "Database that holds the read models and projection checkpoints.",
    default: "parking",
    ...mongodbDatabaseName,
  },
  logLevel: {
    name: "LOG_LEVEL",
    description: "Least severe log level written. At `info` every request gets one access line.",
    default: "info",
    ...oneOf(LOG_LEVELS),
  },
  logFormat: {
    name: "LOG_FORMAT",
    description:
      "How logs are written on stdout: `json` (one JSON object per line, for collectors), `pretty` (colored, one readable line per entry), or `auto` (pretty when stdout is a terminal, JSON otherwise).",
    default: "auto",
    ...oneOf(LOG_FORMATS),
  },
  maxInflightCommands: {
    name: "MAX_INFLIGHT_COMMANDS",
    description:
      "Commands handled at once; past it a command is answered 503 with Retry-After (overload protection).",
    default: "512",
    ...integer(1),
  },
  commandRetryLimit: {
    name: "COMMAND_RETRY_LIMIT",
    description:
      "Times a command reloads its parking lot and decides again after an optimistic-concurrency conflict.",
    default: "20",
    ...integer(0, 100),
  },
  lotCacheSize: {
    name: "LOT_CACHE_SIZE",
    description: "Parking-lot states kept in memory by the write side.",
    default: "10000",
    ...integer(1),
  },
  lotSnapshotEvery: {
    name: "LOT_SNAPSHOT_EVERY",
    description:
      "The lot snapshotter (a processor, beside the projectors) stores a snapshot of a lot's state each time the lot's stream has grown by this many events since its last one; the write side then loads a lot that is not in its cache from the snapshot and the events after it, instead of its whole stream. Lower: shorter tails to read on a cold load, more snapshot writes. 0: no snapshots are written (existing ones are still used while they match the stream).",
    default: "1000",
    ...integer(0, 1000000),
  },
  projectionBatchSize: {
    name: "PROJECTION_BATCH_SIZE",
    description: "Events a projector applies per batch, saved together with its checkpoint.",
    default: "1000",
    ...integer(1, 10000),
  },
  readyMaxLag: {
    name: "READY_MAX_LAG",
    description: "Events a projection may be behind the head of the log while /readyz still passes.",
    default: "10000",
    ...integer(0),
  },
  processorLeaseTtlMs: {
    name: "PROCESSOR_LEASE_TTL_MS",
    description:
      "How long (ms) a projector process's lease on a processor (projection or reactor) lasts without renewal: after a crash, a standby process takes over within this plus PROCESSOR_LEASE_RENEW_MS.",
    default: "5000",
    ...integer(500, 600000),
  },
  processorLeaseRenewMs: {
    name: "PROCESSOR_LEASE_RENEW_MS",
    description:
      "How often (ms) lease holders renew their leases and standby processes try to take free or expired ones; at most half of PROCESSOR_LEASE_TTL_MS.",
    default: "1000",
    ...integer(50, 300000),
  },
  readYourWritesTimeoutMs: {
    name: "READ_YOUR_WRITES_TIMEOUT_MS",
    description: "Longest time (ms) a query waits for the read models to reach the position it asks for.",
    default: "3000",
    ...integer(0, 30000),
  },
  readYourWritesMaxWaiting: {
    name: "READ_YOUR_WRITES_MAX_WAITING",
    description:
      "Most queries of one process waiting at once for their minPosition; past it a query is answered 503 with Retry-After at once instead of holding a connection.",
    default: "1000",
    ...integer(1),
  },
  shutdownTimeoutMs: {
    name: "SHUTDOWN_TIMEOUT_MS",
    description: "Longest graceful shutdown (ms) after SIGTERM before the process exits anyway.",
    default: "10000",
    ...integer(100, 120000),
  },
  shutdownDrainMs: {
    name: "SHUTDOWN_DRAIN_MS",
    description:
      "After SIGTERM, how long (ms) the process keeps serving while /readyz already answers 503, so that a load balancer polling readiness stops routing to it before the listener closes. Set it above the gateway's check interval × fall count (compose and Kubernetes do); 0 suits a process with no load balancer in front. SIGINT (Ctrl-C) skips it.",
    default: "0",
    ...integer(0, 60000),
  },
  httpKeepAliveTimeoutMs: {
    name: "HTTP_KEEP_ALIVE_TIMEOUT_MS",
    description:
      "How long (ms) an idle keep-alive connection stays open. Keep it above the idle timeout of the gateway in front, so that the gateway, not the service, closes idle connections.",
    default: "65000",
    ...integer(1000, 600000),
  },
  httpHeadersTimeoutMs: {
    name: "HTTP_HEADERS_TIMEOUT_MS",
    description: "Longest time (ms) a client may take to send a request's headers (slow-loris guard).",
    default: "10000",
    ...integer(1000, 120000),
  },
  httpRequestTimeoutMs: {
    name: "HTTP_REQUEST_TIMEOUT_MS",
    description: "Longest time (ms) a client may take to send a whole request.",
    default: "30000",
    ...integer(1000, 600000),
  },
  httpMaxConnections: {
    name: "HTTP_MAX_CONNECTIONS",
    description: "Open connections accepted at once; further connections are refused until some close.",
    default: "10000",
    ...integer(1, 1000000),
  },
  embeddedPollIntervalMs: {
    name: "EMBEDDED_POLL_INTERVAL_MS",
    description:
      "How often (ms) the embedded stores look for writes made by other processes on the same DATA_DIR.",
    default: "100",
    ...integer(10, 10000),
  },
  authIssuer: {
    name: "AUTH_ISSUER",
    description:
      "Issuer (`iss`) of the OpenID Connect provider whose access tokens the API accepts, e.g. a Keycloak realm URL. Unset: the service is its own development issuer (key pair under DATA_DIR/auth, tokens from `npm run -s token`).",
    default: undefined,
    ...optional(issuerIdentifier),
  },
  authAudience: {
    name: "AUTH_AUDIENCE",
    description: "Audience (`aud`) every accepted access token must name.",
    default: "parking-reservations",
    ...audience,
  },
  authJwksUrl: {
    name: "AUTH_JWKS_URL",
    description:
      "URL of the issuer's JSON Web Key Set. Unset: found by OIDC discovery from AUTH_ISSUER (`/.well-known/openid-configuration`); the development issuer serves its own at `/.well-known/jwks.json`.",
    default: undefined,
    ...optional(httpUrl),
  },
  authRolesClaims: {
    name: "AUTH_ROLES_CLAIMS",
    description:
      "Claims (dot paths) holding the caller's roles: a string or an array of strings, through AUTH_ROLE_MAP (`customer`, `operator`); their union counts.",
    default: "realm_access.roles,roles",
    ...listOf(claimPath, "claim dot paths"),
  },
  authAlgorithms: {
    name: "AUTH_ALGORITHMS",
    description:
      "Signature algorithms accepted on tokens; asymmetric only (`none` and HS* are never accepted).",
    default: "RS256,PS256,ES256,EdDSA",
    ...listOf(algorithm, "asymmetric JWS algorithms"),
  },
  authClockSkewSeconds: {
    name: "AUTH_CLOCK_SKEW_SECONDS",
    description: "Clock skew (seconds) tolerated when checking a token's exp, nbf and iat.",
    default: "30",
    ...integer(0, 300),
  },
  authJwksCooldownMs: {
    name: "AUTH_JWKS_COOLDOWN_MS",
    description:
      "Least time (ms) between two fetches of the key set when a token names an unknown key id (rotation without restart, bounded refetching).",
    default: "30000",
    ...integer(0, 3600000),
  },
  authIssuerAllowHttp: {
    name: "AUTH_ISSUER_ALLOW_HTTP",
    description:
      "Accept an `http://` AUTH_ISSUER on a host other than localhost/127.0.0.1/[::1] (a development or compose network). Off: such an issuer is a configuration error; tokens and keys travel over https everywhere else. The page then also talks to the provider over http.",
    default: "false",
    ...boolean,
  },
  authRoleMap: {
    name: "AUTH_ROLE_MAP",
    description:
      "The provider's own role or group names that count as `customer` or `operator`, e.g. `ParkingAdmins=operator,app-user=customer`; the names `customer` and `operator` always count as themselves. `-`: no mapping.",
    default: "-",
    ...roleMap,
  },
  authCustomerIdClaim: {
    name: "AUTH_CUSTOMER_ID_CLAIM",
    description:
      "Claim (dot path) whose string value is a customer's id; any value a provider issues works (ids are opaque: printable ASCII without spaces or commas, at most 255 characters). A customer's token without it is refused; an operator's falls back to `sub`.",
    default: "sub",
    ...claimPath,
  },
  authTokenTypes: {
    name: "AUTH_TOKEN_TYPES",
    description:
      "JWS `typ` header values accepted on access tokens (case-insensitive, `application/` optional). A token without `typ` is accepted (Okta sets none); ID tokens (`at_hash`/`c_hash`, or Keycloak's `typ: ID` claim) never are.",
    default: "at+jwt,JWT",
    ...listOf(tokenType, "typ values"),
  },
  authMaxTokenLifetimeSeconds: {
    name: "AUTH_MAX_TOKEN_LIFETIME_SECONDS",
    description:
      "Longest validity (`exp` minus `iat`, or minus now without `iat`) an accepted access token may have; longer-lived tokens are refused.",
    default: "86400",
    ...integer(60, 31_536_000),
  },
  idempotencySecret: {
    name: "IDEMPOTENCY_SECRET",
    description:
      "Secret (32+ characters) of the HMAC that turns an Idempotency-Key into a reservation id; every API replica needs the same one. Unset: a random secret created once under DATA_DIR/auth (mode 0600).",
    default: undefined,
    ...optional(secret),
  },
  liveUpdateIntervalMs: {
    name: "LIVE_UPDATE_INTERVAL_MS",
    description:
      "How often (ms) the query API reads the projection checkpoints for the control-center page's live updates; a page gets at most one update per interval, however many events arrive.",
    default: "250",
    ...integer(50, 10000),
  },
  liveRefreshMs: {
    name: "LIVE_REFRESH_MS",
    description:
      "The longest (ms) the control-center view goes unread while someone listens though no projection moved: what the clock alone changes (a window ends, a car overstays, a closure begins) reaches the page within this. Sent only if what a listener sees changed.",
    default: "1000",
    ...integer(50, 60000),
  },
  liveHeartbeatMs: {
    name: "LIVE_HEARTBEAT_MS",
    description:
      "How often (ms) an idle live-update stream (Server-Sent Events) gets a heartbeat; keep it below the idle timeout of any proxy in front.",
    default: "15000",
    ...integer(10, 300000),
  },
  liveMaxStreams: {
    name: "LIVE_MAX_STREAMS",
    description:
      "Live-update streams (GET /control-center/events) one process serves at once, for all callers together; past it a new stream is answered 503 with Retry-After (each costs a connection and a copy of every update).",
    default: "1000",
    ...integer(1, 100000),
  },
  liveMaxStreamsPerPrincipal: {
    name: "LIVE_MAX_STREAMS_PER_PRINCIPAL",
    description:
      "Live-update streams one caller (token `sub`) may hold open at once in one process (a page holds one per tab); past it a new stream is answered 429 with Retry-After, so one operator cannot take every stream of LIVE_MAX_STREAMS.",
    default: "10",
    ...integer(1, 100000),
  },
  pageOidcClientId: {
    name: "PAGE_OIDC_CLIENT_ID",
    description:
      "Public client id of the control-center page at the external OpenID Connect provider (with AUTH_ISSUER set), for Authorization Code with PKCE; its redirect URI is {origin}/control-center.",
    default: "control-center",
    expects: "a client id: letters, digits and - _ . :",
    parse: (raw) => (raw !== undefined && /^[A-Za-z0-9._:-]{1,100}$/.test(raw) ? ok(raw) : fail()),
  },
  pageOidcScope: {
    name: "PAGE_OIDC_SCOPE",
    description:
      "Scope the control-center page asks the provider for, e.g. `openid offline_access` (a refresh token) or Entra's `openid offline_access api://<app id>/access`.",
    default: "openid",
    ...scope,
  },
  pageOidcAudience: {
    name: "PAGE_OIDC_AUDIENCE",
    description:
      "`audience` parameter of the page's authorization request: Auth0 issues a JWT access token for AUTH_AUDIENCE only when asked with it. Unset: not sent.",
    default: undefined,
    ...optional(audience),
  },
  pageOidcResource: {
    name: "PAGE_OIDC_RESOURCE",
    description:
      "`resource` parameter (RFC 8707 resource indicator) of the page's authorization and token requests, for providers that pick the access token's audience by it. Unset: not sent.",
    default: undefined,
    ...optional(absoluteUri),
  },
  publicUrl: {
    name: "PUBLIC_URL",
    description:
      "Origin (scheme://host[:port]) browsers and clients reach the service at. The development issuer's discovery names its keys under it (never the request's Host), and with https:// the session cookie is always `Secure`. Unset: the address the server listens at.",
    default: undefined,
    ...optional(webOrigin),
  },
  rateLimitWindowMs: {
    name: "RATE_LIMIT_WINDOW_MS",
    description: "Length (ms) of the fixed windows the rate limits count requests in.",
    default: "60000",
    ...integer(1000, 3_600_000),
  },
  rateLimitPerPrincipal: {
    name: "RATE_LIMIT_PER_PRINCIPAL",
    description:
      "Requests one authenticated caller (token `sub`) may make per window, from all addresses together; past it 429 with Retry-After. Health, readiness, metrics and page assets are not counted.",
    default: "1200",
    ...integer(1),
  },
  rateLimitPerAddress: {
    name: "RATE_LIMIT_PER_ADDRESS",
    description:
      "Requests one client address may make per window, anonymous or not; past it 429 with Retry-After. Behind a proxy set TRUST_PROXY_HOPS, or every client shares the proxy's address.",
    default: "3000",
    ...integer(1),
  },
  trustProxyHops: {
    name: "TRUST_PROXY_HOPS",
    description:
      "How many proxies in front of the service (a gateway, an ingress) append to X-Forwarded-For: the client address is read that many hops back. 0 = the TCP peer is the client. Never more than really exist, or clients can choose their own address.",
    default: "0",
    ...integer(0, 10),
  },
  corsOrigins: {
    name: "CORS_ORIGINS",
    description:
      "Browser origins (scheme://host[:port], comma-separated) allowed to call the API from their pages (CORS). Unset: no cross-origin access; the control center is same-origin and needs none.",
    default: undefined,
    ...optional(listOf(webOrigin, "origins like https://app.example.com")),
  },
  processorsThread: {
    name: "PROCESSORS_THREAD",
    description:
      "Where `ROLE=all` runs the processors (projectors, coupon policy, lot snapshotter): `worker` (a worker thread, so the request thread only serves the API and a second core does the read models; with the embedded event store its appends go through the request thread's single writer connection) or `main` (the request thread). See BENCHMARKS.md.",
    default: "worker",
    ...oneOf(PROCESSOR_THREADS),
  },
  otelExporterOtlpEndpoint: {
    name: "OTEL_EXPORTER_OTLP_ENDPOINT",
    description:
      "OpenTelemetry collector to export traces to over OTLP/HTTP with JSON (`{endpoint}/v1/traces`): each request's span (continuing a W3C `traceparent` it sends), the command's decision and append, each projection's apply, the coupon policy's reaction and the reservation's ack → visible lag, one trace carried through the events' metadata. Unset: no spans are made (an incoming `traceparent` is still carried in the events).",
    default: undefined,
    ...optional(httpUrl),
  },
  otelTracesSamplerArg: {
    name: "OTEL_TRACES_SAMPLER_ARG",
    description:
      "With OTEL_EXPORTER_OTLP_ENDPOINT: the share (0 to 1) of the traces this service starts that are recorded and exported (OpenTelemetry's parent-based trace-id ratio sampler: a request whose `traceparent` says sampled is always recorded, one that says not sampled never). Each recorded reservation makes about a dozen spans; on a busy machine 1 costs about half the reserve throughput (BENCHMARKS.md), 0.01 a few percent.",
    default: "1",
    ...ratio,
  },
};

const FIELDS = Object.keys(SPECS) as (keyof Config)[];

/** Every configuration variable, in documentation order. */
export const CONFIG_VARIABLES: readonly ConfigVariable[] = FIELDS.map((field) => {
  const { name, description, default: defaultValue, expects } = SPECS[field];
  return { name, field, description, default: defaultValue, expects };
});

/** Trimmed value, or undefined when unset or blank: empty strings count as unset. */
function given(raw: string | undefined): string | undefined {
  const trimmed = raw?.trim();
  return trimmed === undefined || trimmed === "" ? undefined : trimmed;
}

/**
 * Reads the configuration from `env`. Throws a `ConfigError` naming every bad variable, what it
 * expects and the value received.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const problems: ConfigProblem[] = [];

  const read = <K extends keyof Config>(field: K): Config[K] => {
    const spec: VariableSpec<Config[K]> = SPECS[field];
    const raw = env[spec.name];
    const value = given(raw);
    const result = spec.parse(value ?? spec.default);
    if (result.ok) return result.value;
    const shown = JSON.stringify(spec.display ? spec.display(raw ?? "") : raw);
    const reason = result.reason ? ` (${result.reason})` : "";
    problems.push({ variable: spec.name, message: `expected ${spec.expects}, got ${shown}${reason}` });
    // Carry on with the default so that every other variable is still checked.
    const fallback = spec.parse(spec.default);
    if (!fallback.ok) throw new Error(`The default of ${spec.name} is invalid`);
    return fallback.value;
  };

  const eventStoreUrl = read("eventStoreUrl");
  const mongodbUrl = read("mongodbUrl");
  const corsOrigins = read("corsOrigins");
  const authIssuer = read("authIssuer");
  const authJwksUrl = read("authJwksUrl");
  const otelExporterOtlpEndpoint = read("otelExporterOtlpEndpoint");
  const idempotencySecret = read("idempotencySecret");
  const pageOidcAudience = read("pageOidcAudience");
  const pageOidcResource = read("pageOidcResource");
  const publicUrl = read("publicUrl");
  const authIssuerAllowHttp = read("authIssuerAllowHttp");
  if (authIssuer?.startsWith("http://") && !authIssuerAllowHttp && !isLoopbackUrl(authIssuer)) {
    problems.push({
      variable: SPECS.authIssuer.name,
      message: `is http:// on a host that is not this machine (${JSON.stringify(authIssuer)}); use https://, or set AUTH_ISSUER_ALLOW_HTTP=true for a development network`,
    });
  }
  if (authJwksUrl !== undefined && authIssuer === undefined) {
    problems.push({
      variable: SPECS.authJwksUrl.name,
      message: "is set without AUTH_ISSUER; set both, or neither for the embedded development issuer",
    });
  }
  const config: Config = {
    role: read("role"),
    port: read("port"),
    host: read("host"),
    dataDir: read("dataDir"),
    ...(eventStoreUrl === undefined ? {} : { eventStoreUrl }),
    eventStoreSync: read("eventStoreSync"),
    ...(mongodbUrl === undefined ? {} : { mongodbUrl }),
    mongodbDatabase: read("mongodbDatabase"),
    logLevel: read("logLevel"),
    logFormat: read("logFormat"),
    maxInflightCommands: read("maxInflightCommands"),
    commandRetryLimit: read("commandRetryLimit"),
    lotCacheSize: read("lotCacheSize"),
    lotSnapshotEvery: read("lotSnapshotEvery"),
    projectionBatchSize: read("projectionBatchSize"),
    readyMaxLag: read("readyMaxLag"),
    processorLeaseTtlMs: read("processorLeaseTtlMs"),
    processorLeaseRenewMs: read("processorLeaseRenewMs"),
    readYourWritesTimeoutMs: read("readYourWritesTimeoutMs"),
    readYourWritesMaxWaiting: read("readYourWritesMaxWaiting"),
    shutdownTimeoutMs: read("shutdownTimeoutMs"),
    shutdownDrainMs: read("shutdownDrainMs"),
    httpKeepAliveTimeoutMs: read("httpKeepAliveTimeoutMs"),
    httpHeadersTimeoutMs: read("httpHeadersTimeoutMs"),
    httpRequestTimeoutMs: read("httpRequestTimeoutMs"),
    httpMaxConnections: read("httpMaxConnections"),
    embeddedPollIntervalMs: read("embeddedPollIntervalMs"),
    ...(authIssuer === undefined ? {} : { authIssuer }),
    authAudience: read("authAudience"),
    ...(authJwksUrl === undefined ? {} : { authJwksUrl }),
    ...(otelExporterOtlpEndpoint === undefined ? {} : { otelExporterOtlpEndpoint }),
    authRolesClaims: read("authRolesClaims"),
    authAlgorithms: read("authAlgorithms"),
    authClockSkewSeconds: read("authClockSkewSeconds"),
    otelTracesSamplerArg: read("otelTracesSamplerArg"),
    authJwksCooldownMs: read("authJwksCooldownMs"),
    authIssuerAllowHttp,
    authRoleMap: read("authRoleMap"),
    authCustomerIdClaim: read("authCustomerIdClaim"),
    authTokenTypes: read("authTokenTypes"),
    authMaxTokenLifetimeSeconds: read("authMaxTokenLifetimeSeconds"),
    ...(idempotencySecret === undefined ? {} : { idempotencySecret }),
    liveUpdateIntervalMs: read("liveUpdateIntervalMs"),
    liveRefreshMs: read("liveRefreshMs"),
    liveHeartbeatMs: read("liveHeartbeatMs"),
    liveMaxStreams: read("liveMaxStreams"),
    liveMaxStreamsPerPrincipal: read("liveMaxStreamsPerPrincipal"),
    pageOidcClientId: read("pageOidcClientId"),
    pageOidcScope: read("pageOidcScope"),
    ...(pageOidcAudience === undefined ? {} : { pageOidcAudience }),
    ...(pageOidcResource === undefined ? {} : { pageOidcResource }),
    ...(publicUrl === undefined ? {} : { publicUrl }),
    processorsThread: read("processorsThread"),
    rateLimitWindowMs: read("rateLimitWindowMs"),
    rateLimitPerPrincipal: read("rateLimitPerPrincipal"),
    rateLimitPerAddress: read("rateLimitPerAddress"),
    trustProxyHops: read("trustProxyHops"),
    ...(corsOrigins === undefined ? {} : { corsOrigins }),
  };
  if (config.processorLeaseRenewMs * 2 > config.processorLeaseTtlMs) {
    problems.push({
      variable: "PROCESSOR_LEASE_RENEW_MS",
      message: `expected at most half of PROCESSOR_LEASE_TTL_MS (${config.processorLeaseTtlMs}), got ${JSON.stringify(env.PROCESSOR_LEASE_RENEW_MS ?? String(config.processorLeaseRenewMs))}`,
    });
  }
  if (problems.length > 0) {
    const order = (p: ConfigProblem) => CONFIG_VARIABLES.findIndex((v) => v.name === p.variable);
    throw new ConfigError(problems.sort((a, b) => order(a) - order(b)));
  }
  return config;
}

/** Whether an http(s) URL names this machine (localhost, 127.0.0.0/8, [::1]). */
export function isLoopbackUrl(raw: string): boolean {
  try {
    const host = new URL(raw).hostname;
    return (
      host === "localhost" ||
      host.endsWith(".localhost") ||
      /^127\.\d+\.\d+\.\d+$/.test(host) ||
      host === "[::1]"
    );
  } catch {
    return false;
  }
}

/** The origin the service is reached at: PUBLIC_URL, else http://localhost:PORT. */
export const publicOrigin = (config: Pick<Config, "publicUrl" | "port">): string =>
  config.publicUrl ?? `http://localhost:${config.port}`;

/** The configuration as it may be logged: passwords in connection strings are masked. */
export function redactConfig(config: Config): Config {
  return {
    ...config,
    ...(config.eventStoreUrl === undefined ? {} : { eventStoreUrl: hidePassword(config.eventStoreUrl) }),
    ...(config.mongodbUrl === undefined ? {} : { mongodbUrl: hidePassword(config.mongodbUrl) }),
    ...(config.idempotencySecret === undefined ? {} : { idempotencySecret: "****" }),
  };
}

/**
 * The connection string in the form `@eventstore/db-client` parses: it knows only `esdb://` and
 * `esdb+discover://`, and KurrentDB servers speak the same protocol.
 */
export function toEsdbConnectionString(url: string): string {
  return url.replace(/^kurrentdb(\+discover)?:\/\//, "esdb$1://");
}
