import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EventMetadata } from "../../schemas/events.js";
import { lotIds } from "../lib/domain.js";
import { HttpClient } from "../lib/http.js";
import { runLoad } from "../lib/load.js";
import { log } from "../lib/log.js";
import { benchDataDir, startService } from "../lib/processes.js";
import {
  type Attributed,
  addAttributed,
  attribute,
  busyUs,
  type CallFrame,
  type CpuProfile,
  isRuntimeFrame,
  markedByFunction,
  NOTHING,
  profileHas,
  profilesInDir,
  type Role,
  type Span,
} from "../lib/profile-attribution.js";
import { registerLots, waitForCatchUp } from "../lib/service-api.js";
import { batchMeans, type Interval, pct, round } from "../lib/stats.js";
import { CAPACITY, CONNECTIONS, spreadRequests } from "./reserve.js";
import type { Scenario, ScenarioResult } from "./scenario.js";
import { LOTS, sampledTraceparent, sink } from "./tracing.js";

/*
 * Issue 22: the cost of tracing (unset, and with an exporter set) read by attribution instead of
 * by timing. On this machine the same work takes 15–25% more or less CPU from one window to the
 * next (a shared host, lumps of garbage collection), so timed comparisons cannot resolve a few
 * percent (the `tracing-paired` scenario says how long they would need). A sampling profile does
 * not compare two runs: within one, it says what share of the CPU each code took, and a slower
 * host slows every code alike.
 *
 * Each service (tracing unset, then an exporter set) runs under `node --cpu-prof` (every thread:
 * the request thread, the processors' thread, the export thread) while every request carries a
 * sampled traceparent, as a traced caller's do, in WINDOWS windows of load. Each window's samples
 * (lined up by the monotonic clock) are charged to tracing where tracing's code is on the stack:
 * platform's tracing files (the spans, the OTLP writers, the HTTP middleware), the OpenTelemetry
 * packages, the call sites' own tracing functions (the decider's batch spans, the live push's read
 * of the log for its spans), and all of the export thread; what that code calls in the runtime (a
 * postMessage, a Buffer, crypto) is charged to it too, but not the application it calls back (the
 * HTTP middleware's `next()`). The garbage collector's share is apportioned as the rest of the busy
 * time is (tracing's spans are short-lived objects: this is an estimate, printed beside the raw
 * share). A CPU-bound service's throughput falls by the share of its CPU that tracing takes, so
 * the share is the cost.
 *
 * Left out: what tracing costs without running its code (the caches its spans evict, a larger heap
 * to mark; with tracing unset, bytes it would add to the log: none since nothing is carried, see
 * bench/tracing-carry.ts for what carrying cost), and the profiler's own cost (it samples every
 * thread every 500 µs).
 */

const windows = () => Number(process.env.BENCH_TRACING_ATTRIBUTED_WINDOWS ?? 5);
const windowSeconds = (quick: boolean) =>
  Number(process.env.BENCH_TRACING_ATTRIBUTED_SECONDS ?? (quick ? 12 : 20));

/** Tracing's own files: platform/tracing*.ts, platform/http/tracing.ts (or their builds). */
const TRACING_FILE = /\/platform\/(http\/)?tracing[\w-]*\.[jt]s$/;
/** Tracing's functions in the files that call it (each does nothing but tracing). */
const TRACING_FUNCTIONS: ReadonlyMap<string, RegExp> = new Map([
  ["spansOf", /\/write-side\/decider-runner\.[jt]s$/],
  ["tracePush", /\/read-api\/live-updates\.[jt]s$/],
]);

/**
 * The event schema's check of a carried traceparent (the regular expression V8 names by its
 * pattern): run on every traced event written and read, only because tracing carries one. The
 * rest of what carrying costs (its bytes in the JSON, the relay, the log) has no frame of its own:
 * bench/tracing-carry.ts measures it apart.
 */
const TRACEPARENT_CHECK = `RegExp: ${(EventMetadata.properties.traceparent as { pattern: string }).pattern}`;

/**
 * Tracing's code is "marked" (what it calls in the runtime is its cost, the application it calls
 * back, like the middleware's `next()`, is not); the call sites' tracing functions own all they call,
 * and so does the check of a carried traceparent.
 */
export function tracingRole(frame: CallFrame): Role {
  if (frame.url === "" && frame.functionName === TRACEPARENT_CHECK) return "owner";
  if (isRuntimeFrame(frame)) return "runtime";
  if (TRACING_FUNCTIONS.get(frame.functionName)?.test(frame.url)) return "owner";
  if (TRACING_FILE.test(frame.url) || frame.url.includes("/node_modules/@opentelemetry/")) return "marked";
  return "application";
}

/** The export thread runs evaluated code (platform/tracing-export.ts) that names its port's handler. */
const isExportThread = (profile: CpuProfile) =>
  profileHas(profile, (frame) => frame.url === "[worker eval]") &&
  !profileHas(profile, (frame) => /\/(projections|app|write-side|read-api)\//.test(frame.url));

/** What one thread's profile is, by the code it ran. */
function threadOf(profile: CpuProfile, main: boolean): string {
  if (main) return "request";
  if (isExportThread(profile)) return "export";
  if (profileHas(profile, (frame) => frame.url.includes("/projections/runtime/"))) return "processors";
  return "other";
}

/** The share of busy time tracing took: raw, and with the collector's time apportioned. */
export function shares(a: Attributed): { raw: number; apportioned: number; gc: number } {
  const busy = busyUs(a);
  if (busy === 0) return { raw: 0, apportioned: 0, gc: 0 };
  const mutator = busy - a.gcUs;
  const apportionedGc = mutator > 0 ? a.gcUs * (a.markedUs / mutator) : 0;
  return { raw: a.markedUs / busy, apportioned: (a.markedUs + apportionedGc) / busy, gc: a.gcUs / busy };
}

/** Each window's CPU, every thread's profile read: tracing's shares, by window and by thread. */
function attributeProfiles(profileDir: string, spans: readonly Span[]) {
  const byThread = new Map<string, Attributed[]>();
  for (const { file, profile } of profilesInDir(profileDir)) {
    const thread = threadOf(profile, /\.0\.\d+\.cpuprofile$/.test(file));
    const everything = thread === "export" ? () => "owner" as const : tracingRole;
    const attributed = attribute(profile, spans, everything);
    if (thread === "request" || thread === "processors") {
      const top = [...markedByFunction(profile, spans, tracingRole)].slice(0, 12);
      const busy = attributed.reduce((sum, a) => sum + busyUs(a), 0);
      log(
        `  tracing in the ${thread} thread, by function (% of its busy time): ` +
          top.map(([name, us]) => `${name} ${((us / busy) * 100).toFixed(2)}%`).join(", "),
      );
    }
    const before = byThread.get(thread) ?? spans.map(() => NOTHING);
    byThread.set(
      thread,
      before.map((a, i) => addAttributed(a, attributed[i] as Attributed)),
    );
  }
  const perWindow = spans.map((_, i) =>
    [...byThread.values()].reduce((sum, thread) => addAttributed(sum, thread[i] as Attributed), NOTHING),
  );
  const windowShares = perWindow.map(shares);
  const apportioned = batchMeans(
    windowShares.map((s) => s.apportioned),
    windowShares.length,
  );
  const raw = batchMeans(
    windowShares.map((s) => s.raw),
    windowShares.length,
  );
  const threads = Object.fromEntries(
    [...byThread].map(([name, attributed]) => {
      const total = attributed.reduce(addAttributed, NOTHING);
      return [
        name,
        {
          busySeconds: round(busyUs(total) / 1e6, 2),
          tracing: round(shares(total).raw, 4),
          gc: round(shares(total).gc, 4),
        },
      ];
    }),
  );
  return { windowShares, raw, apportioned, threads };
}

const nowUs = () => Number(process.hrtime.bigint() / 1000n);

/**
 * One service under `node --cpu-prof`, every request carrying a sampled traceparent (a traced
 * caller), in windows of load: each window's spans of time and rates, then every thread's profile
 * attributed (written as the service exits gracefully).
 */
async function profiledWindows(label: string, env: Record<string, string>, quick: boolean) {
  const lots = lotIds(LOTS);
  const profileDir = mkdtempSync(join(tmpdir(), "bench-tracing-attributed-"));
  const data = benchDataDir("tracing-attributed");
  const spans: Span[] = [];
  const rates: number[] = [];
  try {
    const service = await startService(data.dir, {
      label,
      env,
      nodeArgs: ["--cpu-prof", `--cpu-prof-dir=${profileDir}`, "--cpu-prof-interval=500"],
    });
    const http = new HttpClient(service.url);
    try {
      await registerLots(http, lots, CAPACITY);
      await waitForCatchUp(http, 60_000);
      const load = (title: string, durationSec: number, offset: number) => {
        const spread = spreadRequests(lots, offset);
        return runLoad({
          title,
          url: service.url,
          connections: CONNECTIONS,
          method: "POST",
          durationSec,
          next: () => ({ ...spread(), headers: { traceparent: sampledTraceparent() } }),
        });
      };
      await load("warm-up", 5, 50_000_000);
      await waitForCatchUp(http, 300_000);
      for (let w = 0; w < windows(); w++) {
        const fromUs = nowUs();
        const result = await load(`window ${w + 1}`, windowSeconds(quick), w * 1_000_000);
        // The window ends when what its requests caused is in the read models and exported.
        await waitForCatchUp(http, 300_000);
        await new Promise((resolve) => setTimeout(resolve, 1_100));
        spans.push({ fromUs, toUs: nowUs() });
        rates.push(result.rps2xx);
        log(`    window ${w + 1}: ${result.rps2xx} reservations/s`);
      }
    } finally {
      http.close();
      await service.stop();
    }
    log(`  ${label}:`);
    const attributed = attributeProfiles(profileDir, spans);
    log(
      `  tracing's share of the busy CPU: ${interval(attributed.raw)}; with the collector apportioned ${interval(attributed.apportioned)}`,
    );
    log(`  by thread: ${JSON.stringify(attributed.threads)}`);
    return { ...attributed, rates };
  } finally {
    data.remove();
    rmSync(profileDir, { recursive: true, force: true });
  }
}

const interval = (i: Interval | undefined) =>
  i ? `${pct(i.mean)} (95% interval ${pct(i.low)} … ${pct(i.high)}, ${i.batches} windows)` : "no interval";

export const tracingAttributedScenario: Scenario = {
  name: "tracing-attributed",
  title: "the cost of tracing, unset and with an exporter set, read from profiles of every thread",
  async run(ctx): Promise<ScenarioResult> {
    const collector = await sink();
    try {
      const off = await profiledWindows("tracing unset, profiled", {}, ctx.quick);
      const on = await profiledWindows(
        "exporter set, profiled",
        { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url },
        ctx.quick,
      );
      const rates = (r: readonly number[]) => r.map((x) => Math.round(x)).join(", ");
      const figures = ({ rates: r, windowShares, raw, apportioned, threads }: typeof on) => ({
        reservationsPerSecond: r,
        shares: windowShares,
        raw,
        apportioned,
        threads,
      });
      return {
        name: this.name,
        title: this.title,
        checks: [
          {
            target:
              "tracing unset costs reserve throughput < 1% (requests from a traced caller; by attribution: tracing's share of every thread's busy CPU)",
            measured: `${interval(off.apportioned)} with the collector's time apportioned; ${rates(off.rates)} reservations/s profiled`,
            pass: off.apportioned !== undefined && off.apportioned.high < 0.01,
          },
          {
            target: `tracing with an exporter set costs reserve throughput < 5% (every trace recorded; by attribution: tracing's share of every thread's busy CPU, ${collector.bodies()} OTLP posts)`,
            measured: `${interval(on.apportioned)} with the collector's time apportioned; tracing's code alone ${interval(on.raw)}; ${rates(on.rates)} reservations/s profiled`,
            pass: on.apportioned !== undefined && on.apportioned.high < 0.05,
          },
        ],
        figures: {
          windows: windows(),
          windowSeconds: windowSeconds(ctx.quick),
          unset: figures(off),
          exporterSet: figures(on),
        },
      };
    } finally {
      await new Promise((resolve) => collector.server.close(resolve));
    }
  },
};
