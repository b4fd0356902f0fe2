/** The values some configuration variables take: what the schema, the parsers and the service share. */

export const ROLES = ["all", "command-api", "projector", "query-api"] as const;
/** Where ROLE=all runs the projectors and the coupon policy. */
export const PROCESSOR_THREADS = ["worker", "main"] as const;
export type ProcessorThread = (typeof PROCESSOR_THREADS)[number];
/** Which parts of the service one process runs. */
export type Role = (typeof ROLES)[number];

/** OTLP/HTTP's encodings (OTEL_EXPORTER_OTLP_PROTOCOL); gRPC is not offered. */
export const OTLP_PROTOCOLS = ["http/protobuf", "http/json"] as const;
export type OtlpProtocol = (typeof OTLP_PROTOCOLS)[number];

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
export const POSTGRES_URL_SCHEMES = ["postgres", "postgresql"] as const;

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

/** Who takes the money (PAYMENTS): no provider, or Stripe. */
export const PAYMENT_PROVIDERS = ["none", "stripe"] as const;
export type PaymentProvider = (typeof PAYMENT_PROVIDERS)[number];
