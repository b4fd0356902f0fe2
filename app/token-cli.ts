import { existsSync } from "node:fs";
import { parseArgs } from "node:util";
import { claimPathSegments } from "../platform/auth/claim-path.js";
import { hasSigningKey, mintDevToken } from "../platform/auth/dev-issuer.js";
import { SIGN_IN_LINK_MAX_AGE_SECONDS, SIGN_IN_PATH } from "../platform/auth/session.js";
import { CUSTOMER_ID_PATTERN, SIGN_IN_TOKEN_TYPE } from "../platform/auth/verifier.js";
import { ConfigError, loadConfig } from "../platform/config.js";
import { ACCESS_ROLES } from "../schemas/actor.js";

/**
 * `npm run -s token -- --role customer --sub CUST1 [--ttl SECONDS]` prints an access token of the
 * embedded development issuer, alone on stdout. With `--sign-in-url <service URL>` it prints a
 * browser sign-in link instead (valid 5 minutes, once; the session lasts --ttl). The key is read
 * from DATA_DIR (same variable and default as `npm start`): only whoever can read DATA_DIR can
 * mint tokens.
 */

const USAGE = `Usage: npm run -s token -- --role customer|attendant|operator|admin|gate --sub ID [--lots LOTS] [--ttl SECONDS] [--sign-in-url URL]

  --role          customer (sub is the customer id); attendant (checks cars in and out at its
                  lots); operator (runs its lots); admin (every lot); gate (a gate integration's
                  credential: only sends its lots' plate reads, POST .../gate-events)
  --sub           the token's subject, e.g. CUST1 or ops-1 (default "gate" for a gate)
  --lots          an attendant's, gate's or operator's lots, comma-separated: ids (gangnam-1), id
                  prefixes (gangnam-*) or * (every lot); default * for an operator, required for
                  an attendant or a gate
  --ttl           lifetime in seconds (default 3600); with --sign-in-url, the browser session's
  --sign-in-url   print a sign-in link for this service URL (e.g. http://localhost:8080) instead

Reads the signing key under DATA_DIR (default ./data), as created by the first \`npm start\`.
`;

function fail(message: string): never {
  process.stderr.write(`${message}\n\n${USAGE}`);
  process.exit(2);
}

type Config = ReturnType<typeof loadConfig>;

/** What the command line asks for, each option checked (a wrong one ends the process with the usage). */
interface TokenRequest {
  readonly role: string;
  readonly sub: string;
  readonly ttl: number;
  /** The lots granted (attendant, gate, operator): put in the token at AUTH_LOTS_CLAIM with AUTH_LOTS_PREFIX. */
  readonly lots: readonly string[];
  readonly signInUrl: string | undefined;
}

/** The options, or undefined when only the usage was asked for (--help). */
function parseRequest(): TokenRequest | undefined {
  let args: ReturnType<typeof parse>;
  const parse = () =>
    parseArgs({
      options: {
        role: { type: "string" },
        sub: { type: "string" },
        ttl: { type: "string" },
        lots: { type: "string" },
        "sign-in-url": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    });
  try {
    args = parse();
  } catch (error) {
    fail(error instanceof Error ? error.message : String(error));
  }
  const { values } = args;
  if (values.help) {
    process.stdout.write(USAGE);
    return undefined;
  }
  const role = values.role;
  if (!role || !(ACCESS_ROLES as readonly string[]).includes(role)) {
    fail(`--role must be one of ${ACCESS_ROLES.join(", ")}`);
  }
  const sub = values.sub ?? (role === "gate" ? "gate" : undefined);
  if (!sub || !CUSTOMER_ID_PATTERN.test(sub)) {
    fail(
      "--sub must be 1-255 printable ASCII characters without spaces or commas (e.g. CUST1, auth0|customer-7)",
    );
  }
  const ttl = values.ttl === undefined ? 3600 : Number(values.ttl);
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > 30 * 24 * 3600)
    fail("--ttl must be whole seconds, 1 to 2592000");
  return { role, sub, ttl, lots: lotsOf(role, values.lots), signInUrl: values["sign-in-url"] };
}

/** The grant of `--lots`: an operator without it runs every lot (`*`); an attendant or a gate must name theirs. */
function lotsOf(role: string, lots: string | undefined): string[] {
  if (role === "customer" || role === "admin") {
    if (lots !== undefined)
      fail(
        `--lots is for an attendant, a gate or an operator (a${role === "admin" ? "n admin has every lot" : " customer runs no lot"})`,
      );
    return [];
  }
  if (lots === undefined) {
    if (role === "attendant" || role === "gate")
      fail(`--lots is required for a${role === "gate" ? " gate" : "n attendant"}, e.g. --lots gangnam-1`);
    return ["*"];
  }
  const grants = lots.split(",").map((l) => l.trim());
  const bad = grants.find((g) => !/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}\*?$|^\*$/.test(g));
  if (bad !== undefined) fail(`--lots: "${bad}" is not a lot id, an id prefix ending in * or *`);
  return grants;
}

/** The grant claim of a token: the lots (with AUTH_LOTS_PREFIX) at AUTH_LOTS_CLAIM's path. */
function grantClaims(config: Config, lots: readonly string[]): Record<string, unknown> {
  if (lots.length === 0) return {};
  const path = claimPathSegments(config.authLotsClaim) ?? ["lots"];
  let claims: unknown = lots.map((lot) => `${config.authLotsPrefix}${lot}`);
  for (const key of [...path].reverse()) claims = { [key]: claims };
  return claims as Record<string, unknown>;
}

/** The service's configuration, if this CLI can mint for it: the embedded issuer, its key present. */
function issuerConfig(request: TokenRequest): Config {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) fail(error.message);
    throw error;
  }
  if (config.authIssuer !== undefined) {
    fail(`AUTH_ISSUER is set (${config.authIssuer}): tokens come from that issuer, not from this CLI.`);
  }
  if (request.signInUrl === undefined && request.ttl > config.authMaxTokenLifetimeSeconds) {
    fail(
      `--ttl ${request.ttl} is longer than the service accepts (AUTH_MAX_TOKEN_LIFETIME_SECONDS=${config.authMaxTokenLifetimeSeconds}).`,
    );
  }
  if (!existsSync(config.dataDir) || !hasSigningKey(config.dataDir)) {
    fail(
      `No signing key under ${config.dataDir}/auth: start the service once (npm start) with the same DATA_DIR, then run this again.`,
    );
  }
  return config;
}

/** A browser sign-in link: a one-time sign-in token (5 minutes) naming the session's lifetime. */
async function signInLink(config: Config, request: TokenRequest, signInBase: string): Promise<string> {
  let url: URL;
  try {
    url = new URL(SIGN_IN_PATH, signInBase);
  } catch {
    fail("--sign-in-url must be the service's URL, e.g. http://localhost:8080");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") fail("--sign-in-url must be http(s)");
  const token = await mintDevToken(config.dataDir, {
    sub: request.sub,
    roles: [request.role],
    audience: config.authAudience,
    ttlSeconds: SIGN_IN_LINK_MAX_AGE_SECONDS,
    typ: SIGN_IN_TOKEN_TYPE,
    claims: { ...grantClaims(config, request.lots), session_ttl: request.ttl },
  });
  url.searchParams.set("token", token);
  return url.href;
}

async function main(): Promise<void> {
  const request = parseRequest();
  if (!request) return;
  const config = issuerConfig(request);
  if (request.signInUrl !== undefined) {
    process.stdout.write(`${await signInLink(config, request, request.signInUrl)}\n`);
    return;
  }
  const token = await mintDevToken(config.dataDir, {
    sub: request.sub,
    roles: [request.role],
    audience: config.authAudience,
    ttlSeconds: request.ttl,
    claims: grantClaims(config, request.lots),
  });
  process.stdout.write(`${token}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`token: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
