import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions } from "node:dns";
import http from "node:http";
import https from "node:https";
import { isIP, type LookupFunction } from "node:net";
import { specialPurpose } from "./special-addresses.js";

/**
 * Requests to addresses the service does not control (webhook endpoints), safe by default: https
 * only, every address the host resolves to checked when the connection is made (a name that
 * resolves to a private address later, DNS rebinding, is refused then, not only when the URL was
 * accepted), redirects never followed, a deadline over the whole attempt, and at most
 * `maxBodyBytes` of the answer read. An IP literal in the URL is checked again before every
 * request (an endpoint stored before a range was added is refused when it is called). With
 * `allowPrivate` (development, tests), http and loopback/private addresses are allowed too.
 */

/**
 * Whether an IP address is not a public unicast address: any special-purpose range, in any
 * spelling (see special-addresses.ts).
 */
export function isPrivateAddress(address: string): boolean {
  return specialPurpose(address) !== undefined;
}

export class OutboundRefusedError extends Error {
  override name = "OutboundRefusedError";
}

/** Why a target URL is refused (undefined: acceptable): what a URL is checked against when it is given. */
export function targetUrlProblem(raw: string, allowPrivate: boolean): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return "is not an absolute URL";
  }
  if (url.protocol !== "https:" && !(allowPrivate && url.protocol === "http:"))
    return allowPrivate ? "must be an http or https URL" : "must be an https URL";
  if (url.username || url.password) return "must not carry credentials";
  if (url.hash) return "must not have a fragment";
  const host = url.hostname.replace(/^\[|\]$/g, "");
  if (!allowPrivate && (host === "localhost" || host.endsWith(".localhost")))
    return "must not name this machine";
  const special = allowPrivate || isIP(host) === 0 ? undefined : specialPurpose(host);
  if (special !== undefined)
    return `must not be a loopback, private or other special-purpose address (${host} is ${special})`;
  return undefined;
}

/** How names are resolved: the system's resolver (a test gives one that answers what it wants). */
export type Resolver = (
  hostname: string,
  options: LookupAllOptions,
  callback: (error: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void,
) => void;

/** A lookup that refuses private addresses unless allowed: what the agents connect through. */
export function guardedLookup(allowPrivate: boolean, resolve: Resolver = dnsLookup): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname, { ...options, all: true } as LookupAllOptions, (error, addresses) => {
      if (error) return callback(error, "", 0);
      const list = addresses as LookupAddress[];
      const refused = allowPrivate ? undefined : list.find((a) => isPrivateAddress(a.address));
      if (refused) {
        const reason = new OutboundRefusedError(
          `${hostname} resolves to a private address (${refused.address} is ${specialPurpose(refused.address)})`,
        );
        return callback(reason as NodeJS.ErrnoException, "", 0);
      }
      if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, list);
      const first = list[0];
      if (!first) return callback(new OutboundRefusedError(`${hostname} has no address`), "", 0);
      callback(null, first.address, first.family);
    });
  };
}

export interface OutboundOptions {
  readonly allowPrivate: boolean;
  readonly timeoutMs: number;
  readonly maxBodyBytes: number;
  /** Connections kept open per host (one endpoint's concurrency). */
  readonly maxSockets?: number;
  /** The resolver (default: the system's). */
  readonly resolve?: Resolver;
}

export interface OutboundAnswer {
  readonly status: number;
  /** The first `maxBodyBytes` of the body, as text. */
  readonly body: string;
  readonly latencyMs: number;
}

/** Posts to public (or allowed) addresses only; see the module's comment. */
export class OutboundClient {
  private readonly agents: { readonly http: http.Agent; readonly https: https.Agent };

  constructor(private readonly options: OutboundOptions) {
    const lookup = guardedLookup(options.allowPrivate, options.resolve);
    const common = { keepAlive: true, maxSockets: options.maxSockets ?? 8, lookup };
    this.agents = { http: new http.Agent(common), https: new https.Agent(common) };
  }

  /** POSTs `body`; resolves with the answer (any status), rejects when no answer came in time. */
  post(
    target: string,
    headers: Record<string, string>,
    body: string,
    stop?: AbortSignal,
  ): Promise<OutboundAnswer> {
    const problem = targetUrlProblem(target, this.options.allowPrivate);
    if (problem) return Promise.reject(new OutboundRefusedError(`the URL ${problem}`));
    const url = new URL(target);
    const started = performance.now();
    const secure = url.protocol === "https:";
    return new Promise((resolve, reject) => {
      const request = (secure ? https : http).request(
        url,
        {
          method: "POST",
          agent: secure ? this.agents.https : this.agents.http,
          headers: { ...headers, "content-length": String(Buffer.byteLength(body)) },
          signal: stop
            ? AbortSignal.any([AbortSignal.timeout(this.options.timeoutMs), stop])
            : AbortSignal.timeout(this.options.timeoutMs),
        },
        (response) => {
          const chunks: Buffer[] = [];
          let size = 0;
          const done = () => {
            resolve({
              status: response.statusCode ?? 0,
              body: Buffer.concat(chunks).subarray(0, this.options.maxBodyBytes).toString("utf8"),
              latencyMs: Math.round(performance.now() - started),
            });
          };
          response.on("data", (chunk: Buffer) => {
            chunks.push(chunk);
            size += chunk.length;
            // Enough read: the rest is not waited for (and the connection not reused).
            if (size >= this.options.maxBodyBytes) {
              response.destroy();
              done();
            }
          });
          response.on("end", done);
          response.on("error", reject);
        },
      );
      request.on("error", (error) => {
        if (error.name === "AbortError" || error.name === "TimeoutError")
          reject(new Error(`no answer within ${this.options.timeoutMs} ms`));
        else reject(error);
      });
      request.end(body);
    });
  }

  close(): void {
    this.agents.http.destroy();
    this.agents.https.destroy();
  }
}
