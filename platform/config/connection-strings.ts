import { fail, ok, type Parser } from "./parsers.js";
import { EVENT_STORE_URL_SCHEMES, MONGODB_URL_SCHEMES, POSTGRES_URL_SCHEMES } from "./values.js";

/** Host names, listen addresses and the stores' connection strings, checked as their clients read them. */

const HOST_NAME =
  /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;
const IPV6 = /^[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*(?:%[A-Za-z0-9_.-]+)?$/;

export const listenHost: Parser<string> = {
  expects: "a host name or IP address (0.0.0.0 or :: for every interface)",
  parse: (raw) => {
    if (raw === undefined) return fail();
    const unbracketed = raw.startsWith("[") && raw.endsWith("]") ? raw.slice(1, -1) : raw;
    return HOST_NAME.test(unbracketed) || IPV6.test(unbracketed) ? ok(unbracketed) : fail();
  },
};

const MONGODB_DATABASE_FORBIDDEN = /[/\\. "$*<>:|?\0]/;

export const mongodbDatabaseName: Parser<string> = {
  expects: 'a MongoDB database name: at most 63 bytes, without spaces or any of / \\ . " $ * < > : | ?',
  parse: (raw) => {
    if (raw === undefined || MONGODB_DATABASE_FORBIDDEN.test(raw)) return fail();
    return Buffer.byteLength(raw, "utf8") <= 63 ? ok(raw) : fail("longer than 63 bytes");
  },
};

/** `scheme://[user:password@]` prefix; the password is hidden when a value is shown. */
const URL_PREFIX = /^(?<scheme>[a-z][a-z0-9+.-]*):\/\/(?:(?<userinfo>[^@/?#\s]*)@)?(?<rest>.*)$/s;

export function hidePassword(raw: string): string {
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
  /** The values a `target_session_attrs` in the query may take (libpq's multi-host URLs). */
  readonly sessionAttrs?: readonly string[];
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
      if (query) return fail(query);
      const attrs = new URLSearchParams(parts.query ?? "").get("target_session_attrs");
      if (attrs !== null && !rules.sessionAttrs?.includes(attrs))
        return fail(`target_session_attrs takes ${rules.sessionAttrs?.join(", ") ?? "no value here"}`);
      return ok(raw);
    },
  };
}

export const eventStoreConnectionString = connectionString({
  schemes: EVENT_STORE_URL_SCHEMES,
  example: "esdb://localhost:2113?tls=false",
  ipv6: false,
  path: "slash",
  singleHostSchemes: [],
  passwordRequired: true,
});

export const mongodbConnectionString = connectionString({
  schemes: MONGODB_URL_SCHEMES,
  example: "mongodb://localhost:27017/?replicaSet=rs0",
  ipv6: true,
  path: "database",
  singleHostSchemes: ["mongodb+srv"],
  passwordRequired: false,
});

/**
 * pg reads one host (TLS from `sslmode=` and the rest of the query, as libpq does); a list of hosts
 * with `target_session_attrs` is libpq's multi-host URL, which platform/postgres/hosts.ts serves.
 */
export const postgresConnectionString = connectionString({
  schemes: POSTGRES_URL_SCHEMES,
  example: "postgres://parking:secret@db:5432/parking?sslmode=verify-full",
  ipv6: true,
  path: "database",
  singleHostSchemes: [],
  passwordRequired: false,
  sessionAttrs: ["any", "read-write", "primary"],
});
