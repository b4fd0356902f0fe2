import { Agent, request } from "node:http";
import { authHeadersFor } from "./auth.js";

/**
 * A small keep-alive HTTP client for set-up calls, sequential latency loops and the fixed-rate
 * driver: node:http with a pooled agent, much cheaper per request than fetch.
 */

export interface HttpResponse {
  readonly status: number;
  readonly body: string;
  /** From just before the request is written to the last byte of the answer. */
  readonly ms: number;
}

export class HttpClient {
  private readonly agent: Agent;
  private readonly host: string;
  private readonly port: number;
  private readonly auth: Readonly<Record<string, string>>;

  constructor(baseUrl: string, maxSockets = 64) {
    const url = new URL(baseUrl);
    this.auth = authHeadersFor(baseUrl);
    this.host = url.hostname;
    this.port = Number(url.port);
    this.agent = new Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
  }

  send(method: string, path: string, body?: unknown): Promise<HttpResponse> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise<HttpResponse>((resolve, reject) => {
      const started = process.hrtime.bigint();
      const req = request(
        {
          host: this.host,
          port: this.port,
          method,
          path,
          agent: this.agent,
          headers: payload
            ? { ...this.auth, "content-type": "application/json", "content-length": String(payload.length) }
            : this.auth,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("end", () =>
            resolve({
              status: res.statusCode ?? 0,
              body: Buffer.concat(chunks).toString("utf8"),
              ms: Number(process.hrtime.bigint() - started) / 1e6,
            }),
          );
          res.on("error", reject);
        },
      );
      req.setTimeout(30_000, () => req.destroy(new Error(`${method} ${path} timed out`)));
      req.on("error", reject);
      req.end(payload);
    });
  }

  get(path: string): Promise<HttpResponse> {
    return this.send("GET", path);
  }

  post(path: string, body: unknown): Promise<HttpResponse> {
    return this.send("POST", path, body);
  }

  /** A call that must answer 2xx, its answer parsed. */
  async json<T>(method: "GET" | "POST", path: string, body?: unknown): Promise<T> {
    const response = await this.send(method, path, body);
    if (response.status < 200 || response.status >= 300)
      throw new Error(`${method} ${path}: ${response.status} ${response.body.slice(0, 300)}`);
    return JSON.parse(response.body) as T;
  }

  close(): void {
    this.agent.destroy();
  }
}

/** Runs `task` over `items` with at most `concurrency` at once. */
export async function forEachConcurrently<T>(
  items: readonly T[],
  concurrency: number,
  task: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      await task(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}
