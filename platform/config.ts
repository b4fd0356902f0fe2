import { hidePassword } from "./config/connection-strings.js";
import type { Config } from "./config/schema.js";

/**
 * Process configuration, read once from environment variables at start-up.
 *
 * One TypeBox schema (`config/schema.ts`) defines every variable: its type (the `Config` type),
 * its environment variable, default, bounds and meaning. The parser is derived from it
 * (`config/variables.ts`), `CONFIG_VARIABLES` publishes it for the operations guide's table and
 * the deployment files' checks, and `loadConfig` reports every bad value at once (a `ConfigError`
 * listing them), never only the first.
 */

export {
  ConfigError,
  type ConfigProblem,
  configWarnings,
  isLoopbackUrl,
  loadConfig,
} from "./config/load.js";
export type { Config } from "./config/schema.js";
export {
  ASYMMETRIC_ALGORITHMS,
  EVENT_STORE_SYNC_MODES,
  EVENT_STORE_URL_SCHEMES,
  type EventStoreSync,
  LOG_FORMATS,
  LOG_LEVELS,
  type LogFormat,
  type LogLevel,
  MONGODB_URL_SCHEMES,
  PAYMENT_PROVIDERS,
  type PaymentProvider,
  PROCESSOR_THREADS,
  type ProcessorThread,
  ROLES,
  type Role,
} from "./config/values.js";
export { CONFIG_VARIABLES, type ConfigVariable } from "./config/variables.js";

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
    ...(config.stripeSecretKey === undefined ? {} : { stripeSecretKey: "****" }),
    ...(config.stripeWebhookSecret === undefined ? {} : { stripeWebhookSecret: "****" }),
  };
}

/**
 * The connection string in the form `@eventstore/db-client` parses: it knows only `esdb://` and
 * `esdb+discover://`, and KurrentDB servers speak the same protocol.
 */
export function toEsdbConnectionString(url: string): string {
  return url.replace(/^kurrentdb(\+discover)?:\/\//, "esdb$1://");
}
