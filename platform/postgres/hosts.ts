import pg from "pg";

/**
 * libpq's multi-host connection strings for the pure-JS `pg` driver, which reads one host only
 * (node-postgres has no multi-host support as of 8.23): `postgres://user:pw@h1:5432,h2:5433/db
 * ?target_session_attrs=read-write`. The hosts are tried in order, as libpq does; with
 * `read-write` (or `primary`) a host that answers as a standby is passed over. The host found is
 * kept for every new connection until one to it fails or is lost, and then they are tried again:
 * after a failover, the pool's next connections go to the promoted standby by themselves.
 * `any` (the default) takes the first host that accepts a connection.
 */

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

export interface ParsedUrl {
  /** The URL with one host (the first) and without `target_session_attrs`: what `pg` can read. */
  readonly connectionString: string;
  readonly hosts: readonly HostPort[];
  /** Whether only a writable server will do. */
  readonly readWrite: boolean;
  /** The one-host URL of one of the hosts. */
  readonly urlOf: (host: HostPort) => string;
}

const SESSION_ATTRS = new Set(["any", "read-write", "primary"]);

/** Splits a postgres URL's host list; a single-host URL comes back with one host. */
export function parsePostgresUrl(url: string): ParsedUrl {
  const match = /^(postgres(?:ql)?:\/\/)(?:([^@/?#]*)@)?([^/?#]*)(.*)$/.exec(url);
  if (!match) throw new RangeError("not a postgres:// URL");
  const [, scheme, auth, hostList = "", rest = ""] = match;
  const hosts = hostList.split(",").map((entry): HostPort => {
    const ipv6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
    const [host, port] = ipv6 ? [ipv6[1] as string, ipv6[2]] : (entry.split(":") as [string, string?]);
    if (host === "") throw new RangeError("a host of the postgres URL is empty");
    if (port !== undefined && !/^\d{1,5}$/.test(port)) throw new RangeError(`not a port: ${port}`);
    return { host, port: port === undefined ? 5432 : Number(port) };
  });
  const [path, query = ""] = rest.split("?", 2) as [string, string?];
  const params = new URLSearchParams(query);
  const attrs = params.get("target_session_attrs") ?? "any";
  if (!SESSION_ATTRS.has(attrs))
    throw new RangeError(`target_session_attrs ${attrs} is not supported (any, read-write or primary)`);
  params.delete("target_session_attrs");
  const search = params.toString();
  const urlOf = ({ host, port }: HostPort) =>
    `${scheme}${auth !== undefined ? `${auth}@` : ""}${host.includes(":") ? `[${host}]` : host}:${port}${path}${search ? `?${search}` : ""}`;
  return { connectionString: urlOf(hosts[0] as HostPort), hosts, readWrite: attrs !== "any", urlOf };
}

/** Which of the URL's hosts new connections go to, found by trying them in order. */
export class HostSelector {
  private chosen: HostPort | undefined;
  private finding: Promise<HostPort> | undefined;

  constructor(
    private readonly url: ParsedUrl,
    private readonly connectTimeoutMs = 5000,
  ) {}

  /** The host to connect to: the one kept, or the first in order that serves as asked. */
  pick(): Promise<HostPort> {
    if (this.chosen) return Promise.resolve(this.chosen);
    this.finding ??= this.find().finally(() => {
      this.finding = undefined;
    });
    return this.finding;
  }

  /** A connection to `host` failed or was lost: the hosts are tried again for the next one. */
  forget(host: HostPort): void {
    if (this.chosen === host) this.chosen = undefined;
  }

  private async find(): Promise<HostPort> {
    const failures: string[] = [];
    for (const host of this.url.hosts) {
      const probe = new pg.Client({
        connectionString: this.url.urlOf(host),
        connectionTimeoutMillis: this.connectTimeoutMs,
      });
      probe.on("error", () => undefined);
      try {
        await probe.connect();
        if (this.url.readWrite) {
          const { rows } = await probe.query<{ standby: boolean }>("SELECT pg_is_in_recovery() AS standby");
          if (rows[0]?.standby) {
            failures.push(`${host.host}:${host.port} is a standby`);
            continue;
          }
        }
        this.chosen = host;
        return host;
      } catch (error) {
        failures.push(`${host.host}:${host.port}: ${error instanceof Error ? error.message : String(error)}`);
      } finally {
        await probe.end().catch(() => undefined);
      }
    }
    // ECONNREFUSED: the stores read it as "unavailable" (platform/postgres/failures.ts): retry later.
    throw Object.assign(new Error(`no PostgreSQL host serves as asked (${failures.join("; ")})`), {
      code: "ECONNREFUSED",
    });
  }
}

type ConnectCallback = (error: Error | null) => void;

/**
 * A `pg.Pool`'s configuration for `url`: as is for one host; for several, a Client that connects
 * to the host the selector picks (and makes it forget a host whose connection fails or is lost).
 */
export function poolConfig(url: string, extra: pg.PoolConfig = {}): pg.PoolConfig {
  const parsed = parsePostgresUrl(url);
  if (parsed.hosts.length === 1 && !parsed.readWrite) return { connectionString: url, ...extra };
  const selector = new HostSelector(parsed, extra.connectionTimeoutMillis);
  const connectOnce = pg.Client.prototype.connect as (this: pg.Client) => Promise<unknown>;
  class MultiHostClient extends pg.Client {}
  // pg's connect has two forms (a promise, or a callback the pool passes): one body serves both.
  Object.defineProperty(MultiHostClient.prototype, "connect", {
    value(this: pg.Client, callback?: ConnectCallback): Promise<void> | undefined {
      const connecting = selector.pick().then(async (host) => {
        const self = this as unknown as { host: string; port: number; connectionParameters: HostPort };
        self.host = host.host;
        self.port = host.port;
        Object.assign(self.connectionParameters, { host: host.host, port: host.port });
        this.on("error", () => selector.forget(host));
        try {
          await connectOnce.call(this);
        } catch (error) {
          selector.forget(host);
          throw error;
        }
      });
      if (!callback) return connecting;
      connecting.then(
        () => callback(null),
        (error: Error) => callback(error),
      );
      return undefined;
    },
  });
  return {
    connectionString: parsed.connectionString,
    ...extra,
    Client: MultiHostClient as unknown as pg.PoolConfig["Client"],
  };
}
