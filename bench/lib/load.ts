import autocannon from "autocannon";
import { authHeadersFor } from "./auth.js";
import { cpuMeter, type MachineCpu, machineCpuMeter } from "./process-stats.js";
import { type LatencySummary, round, Sample } from "./stats.js";

/**
 * Closed-loop HTTP load with autocannon: `connections` keep-alive connections, each sending its
 * next request as soon as the previous answer arrives, for `durationSec`. Each request is built
 * by `next()`, so bodies (customer, car, lot) vary per request. Latencies are recorded exactly
 * (from autocannon's per-response timings, every status), not from its integer histogram.
 */

export interface NextRequest {
  readonly path: string;
  readonly body?: string;
}

export interface LoadOptions {
  readonly title: string;
  readonly url: string;
  readonly connections: number;
  readonly durationSec: number;
  readonly method: "GET" | "POST";
  readonly next: () => NextRequest;
  /** Receives every response body (costs the load generator a little CPU: use only when needed). */
  readonly onBody?: (status: number, body: string) => void;
  /** The server process, to measure its CPU use during the load. */
  readonly serverPid?: number;
  /** Sees every response's latency and status (to merge samples across runs). */
  readonly onLatency?: (ms: number, status: number) => void;
}

export interface StatusCounts {
  readonly "2xx": number;
  readonly "409": number;
  readonly "5xx": number;
  readonly non2xx: number;
  readonly byCode: Readonly<Record<string, number>>;
}

export interface LoadResult {
  readonly title: string;
  readonly connections: number;
  readonly durationSec: number;
  readonly requests: number;
  /** Responses per second (every status). */
  readonly rps: number;
  /** 2xx responses per second. */
  readonly rps2xx: number;
  readonly status: StatusCounts;
  /** Connection errors and timeouts. */
  readonly errors: number;
  readonly timeouts: number;
  /** Every response's latency. */
  readonly latency: LatencySummary;
  /** CPU use (% of one core) of the server process and of this load-generating process. */
  readonly serverCpuPct?: number;
  /** Server CPU time per response (ms): a figure less disturbed by other work on the machine than the rate. */
  readonly serverCpuMsPerRequest?: number;
  readonly loadGeneratorCpuPct: number;
  /** The whole machine meanwhile (other processes included) and the hypervisor's steal. */
  readonly machineCpu: MachineCpu;
}

const JSON_HEADERS = { "content-type": "application/json" };

export function runLoad(options: LoadOptions): Promise<LoadResult> {
  const all = new Sample();
  const byCode: Record<string, number> = {};
  const serverCpu = options.serverPid === undefined ? undefined : cpuMeter(options.serverPid);
  const selfStart = process.cpuUsage();
  const machine = machineCpuMeter();
  const wallStart = process.hrtime.bigint();
  const auth = authHeadersFor(options.url);
  const bodyHeaders = { ...auth, ...JSON_HEADERS };
  return new Promise<LoadResult>((resolve, reject) => {
    const instance = autocannon(
      {
        url: options.url,
        connections: options.connections,
        duration: options.durationSec,
        timeout: 30,
        requests: [
          {
            method: options.method,
            setupRequest: (request) => {
              const next = options.next();
              return {
                ...request,
                path: next.path,
                ...(next.body === undefined
                  ? { headers: { ...request.headers, ...auth } }
                  : { body: next.body, headers: { ...request.headers, ...bodyHeaders } }),
              };
            },
            ...(options.onBody
              ? {
                  onResponse: (status: number, body: string) => options.onBody?.(status, body),
                }
              : {}),
          },
        ],
      },
      (error, result) => {
        if (error) {
          reject(error);
          return;
        }
        const wallSec = Number(process.hrtime.bigint() - wallStart) / 1e9;
        const self = process.cpuUsage(selfStart);
        resolve(
          resultOf(options, {
            durationSec: result.duration,
            byCode,
            errors: result.errors,
            timeouts: result.timeouts,
            latency: all,
            ...(serverCpu ? { serverCpu: serverCpu(), wallSec } : {}),
            loadGeneratorCpuPct: Math.round(((self.user + self.system) / 1e6 / wallSec) * 100),
            machineCpu: machine(),
          }),
        );
      },
    );
    instance.on("response", (_client, statusCode, _bytes, responseTime) => {
      all.add(responseTime);
      options.onLatency?.(responseTime, statusCode);
      const key = String(statusCode);
      byCode[key] = (byCode[key] ?? 0) + 1;
    });
  });
}

/** What a load (or several runs of one, added up) counted, made into its result. */
function resultOf(
  load: { readonly title: string; readonly connections: number },
  counted: {
    readonly durationSec: number;
    readonly byCode: Record<string, number>;
    readonly errors: number;
    readonly timeouts: number;
    readonly latency: Sample;
    /** The server's CPU use, % of one core. */
    readonly serverCpu?: number;
    readonly wallSec?: number;
    readonly loadGeneratorCpuPct: number;
    readonly machineCpu: MachineCpu;
  },
): LoadResult {
  const { durationSec, byCode, serverCpu } = counted;
  const count = (predicate: (code: number) => boolean) =>
    Object.entries(byCode).reduce((n, [code, c]) => (predicate(Number(code)) ? n + c : n), 0);
  const requests = counted.latency.count;
  const ok2xx = count((c) => c >= 200 && c < 300);
  const msPerRequest = (pct: number) =>
    round(((pct / 100) * (counted.wallSec ?? durationSec) * 1000) / Math.max(1, requests), 3);
  return {
    title: load.title,
    connections: load.connections,
    durationSec: round(durationSec),
    requests,
    rps: round(requests / durationSec, 0),
    rps2xx: round(ok2xx / durationSec, 0),
    status: {
      "2xx": ok2xx,
      "409": count((c) => c === 409),
      "5xx": count((c) => c >= 500),
      non2xx: requests - ok2xx,
      byCode,
    },
    errors: counted.errors,
    timeouts: counted.timeouts,
    latency: counted.latency.summary(),
    ...(serverCpu !== undefined && {
      serverCpuPct: serverCpu,
      serverCpuMsPerRequest: msPerRequest(serverCpu),
    }),
    loadGeneratorCpuPct: counted.loadGeneratorCpuPct,
    machineCpu: counted.machineCpu,
  };
}

/** One line describing a load result, for progress output. */
export function describeLoad(r: LoadResult): string {
  const codes = Object.entries(r.status.byCode)
    .map(([code, n]) => `${code}×${n}`)
    .join(" ");
  const cpu =
    r.serverCpuPct === undefined
      ? ""
      : `, cpu: server ${r.serverCpuPct}% (${r.serverCpuMsPerRequest} ms/req), load gen ${r.loadGeneratorCpuPct}%, whole machine ${r.machineCpu.busyPct}% of 200%, steal ${r.machineCpu.stealPct}%`;
  return `${r.rps} req/s, p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms, max ${r.latency.max} ms [${codes}${r.errors ? ` errors×${r.errors}` : ""}]${cpu}`;
}

/**
 * Several runs of the same load as one (e.g. rounds alternated with another target so that both
 * see the same conditions on a shared machine): rates over the summed time, latencies merged.
 */
export function mergeLoads(title: string, runs: readonly LoadResult[], all: Sample): LoadResult {
  const first = runs[0];
  if (!first) throw new Error("nothing to merge");
  const duration = runs.reduce((s, r) => s + r.durationSec, 0);
  const byCode: Record<string, number> = {};
  for (const r of runs)
    for (const [code, n] of Object.entries(r.status.byCode)) byCode[code] = (byCode[code] ?? 0) + n;
  const sum = (f: (r: LoadResult) => number) => runs.reduce((s, r) => s + f(r), 0);
  const weighted = (f: (r: LoadResult) => number) => Math.round(sum((r) => f(r) * r.durationSec) / duration);
  return resultOf(
    { title, connections: first.connections },
    {
      durationSec: duration,
      byCode,
      errors: sum((r) => r.errors),
      timeouts: sum((r) => r.timeouts),
      latency: all,
      ...(first.serverCpuPct !== undefined && {
        serverCpu: weighted((r) => r.serverCpuPct ?? 0),
      }),
      loadGeneratorCpuPct: weighted((r) => r.loadGeneratorCpuPct),
      machineCpu: {
        busyPct: weighted((r) => r.machineCpu.busyPct),
        stealPct: weighted((r) => r.machineCpu.stealPct),
      },
    },
  );
}
