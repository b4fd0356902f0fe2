import type { Config } from "./schema.js";
import { SETTINGS, type Setting } from "./variables.js";

export interface ConfigProblem {
  readonly variable: string;
  readonly message: string;
}

/**
 * Thrown by `loadConfig` with every bad variable; the message has one line per problem, each whole
 * on its own (the variable, what it takes, the value received): a log collector or a supervisor
 * showing the last line still shows what to fix (issue 67).
 */
export class ConfigError extends Error {
  override name = "ConfigError";
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[]) {
    super(problems.map((p) => `Invalid configuration: ${p.variable}: ${p.message}`).join("\n"));
    this.problems = problems;
  }
}

/** Trimmed value, or undefined when unset or blank: empty strings count as unset. */
function given(raw: string | undefined): string | undefined {
  const trimmed = raw?.trim();
  return trimmed === undefined || trimmed === "" ? undefined : trimmed;
}

/** One setting's value; a bad one is reported and its default used, so that the others are still checked. */
function read(setting: Setting, env: NodeJS.ProcessEnv, problems: ConfigProblem[]): unknown {
  const { parser, name } = setting;
  const raw = env[name];
  const result = parser.parse(given(raw) ?? setting.default);
  if (result.ok) return result.value;
  const shown = JSON.stringify(parser.display ? parser.display(raw ?? "") : raw);
  const reason = result.reason ? ` (${result.reason})` : "";
  problems.push({ variable: name, message: `expected ${setting.expects}, got ${shown}${reason}` });
  const fallback = parser.parse(setting.default);
  if (!fallback.ok) throw new Error(`The default of ${name} is invalid`);
  return fallback.value;
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

/** The rules that tie variables together (each value alone is checked by its schema). */
function crossChecks(config: Config, env: NodeJS.ProcessEnv): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const { authIssuer } = config;
  if (authIssuer?.startsWith("http://") && !config.authIssuerAllowHttp && !isLoopbackUrl(authIssuer)) {
    problems.push({
      variable: "AUTH_ISSUER",
      message: `is http:// on a host that is not this machine (${JSON.stringify(authIssuer)}); use https://, or set AUTH_ISSUER_ALLOW_HTTP=true for a development network`,
    });
  }
  if (config.authJwksUrl !== undefined && authIssuer === undefined) {
    problems.push({
      variable: "AUTH_JWKS_URL",
      message: "is set without AUTH_ISSUER; set both, or neither for the embedded development issuer",
    });
  }
  if (config.processorLeaseRenewMs * 2 > config.processorLeaseTtlMs) {
    problems.push({
      variable: "PROCESSOR_LEASE_RENEW_MS",
      message: `expected at most half of PROCESSOR_LEASE_TTL_MS (${config.processorLeaseTtlMs}), got ${JSON.stringify(env.PROCESSOR_LEASE_RENEW_MS ?? String(config.processorLeaseRenewMs))}`,
    });
  }
  const servers = [
    ["EVENTSTORE_URL", config.eventStoreUrl],
    ["MONGODB_URL", config.mongodbUrl],
  ].flatMap(([name, value]) => (value === undefined ? [] : [name]));
  if (config.databaseUrl !== undefined && servers.length > 0) {
    problems.push({
      variable: "DATABASE_URL",
      message: `cannot be set with ${servers.join(" or ")}: PostgreSQL holds everything the service keeps; unset ${servers.length > 1 ? "them" : "it"}, or DATABASE_URL`,
    });
  }
  problems.push(...paymentChecks(config));
  return problems;
}

/** PAYMENTS=stripe cannot take money without Stripe's key, nor trust a webhook without its secret. */
function paymentChecks(config: Config): ConfigProblem[] {
  if (config.payments !== "stripe") return [];
  const missing: ConfigProblem[] = [];
  if (config.stripeSecretKey === undefined)
    missing.push({
      variable: "STRIPE_SECRET_KEY",
      message:
        "is required with PAYMENTS=stripe: set the secret key of the Stripe account (sk_test_... in test mode), or PAYMENTS=none",
    });
  if (config.stripeWebhookSecret === undefined)
    missing.push({
      variable: "STRIPE_WEBHOOK_SECRET",
      message:
        "is required with PAYMENTS=stripe: set the signing secret (whsec_...) of the webhook endpoint that calls POST /payments/webhooks/stripe, or PAYMENTS=none",
    });
  // Issue 71: live money on the default name would act on any unnamed deployment's intents.
  if (/^(sk|rk)_live_/.test(config.stripeSecretKey ?? "") && config.stripeInstance === "parking-reservations")
    missing.push({
      variable: "STRIPE_INSTANCE",
      message:
        "must name this deployment with a live Stripe key (sk_live_...): the default parking-reservations is every unnamed deployment's, whose webhooks and reconciliation would act on each other's intents",
    });
  return missing;
}

/**
 * Reads the configuration from `env`. Throws a `ConfigError` naming every bad variable, what it
 * expects and the value received.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const problems: ConfigProblem[] = [];
  const values: Record<string, unknown> = {};
  for (const setting of SETTINGS) {
    const value = read(setting, env, problems);
    // An optional setting that is unset is absent, not undefined.
    if (value !== undefined) values[setting.field] = value;
  }
  const config = values as Config;
  problems.push(...crossChecks(config, env));
  if (problems.length > 0) {
    const order = (p: ConfigProblem) => SETTINGS.findIndex((v) => v.name === p.variable);
    throw new ConfigError(problems.sort((a, b) => order(a) - order(b)));
  }
  return config;
}

/**
 * What a valid configuration holds that is most likely a mistake (each setting's parser says what
 * it doubts, e.g. a claim path with an unquoted URL): logged at WARN at start, one per value.
 */
export function configWarnings(config: Config): ConfigProblem[] {
  const warnings: ConfigProblem[] = [];
  for (const { parser, name, field } of SETTINGS) {
    if (!parser.advise) continue;
    const value: unknown = config[field];
    for (const item of Array.isArray(value) ? value : [value]) {
      const message = typeof item === "string" ? parser.advise(item) : undefined;
      if (message !== undefined) warnings.push({ variable: name, message });
    }
  }
  return warnings;
}
