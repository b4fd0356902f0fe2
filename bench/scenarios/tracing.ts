import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { isAbsolute, join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { formatProfile, type ProfileSummary, profilesIn, summarizeCpuProfile } from "../lib/cpu-profile.js";
import { lotIds } from "../lib/domain.js";
import { HttpClient } from "../lib/http.js";
import { describeLoad, type LoadResult, runLoad } from "../lib/load.js";
import { log } from "../lib/log.js";
import { cpuSecondsOf } from "../lib/process-stats.js";
import { type BenchChild, benchDataDir, startService } from "../lib/processes.js";
import { registerLots, waitForCatchUp } from "../lib/service-api.js";
import { median, pct, round } from "../lib/stats.js";
import { CAPACITY, CONNECTIONS, spreadRequests } from "./reserve.js";
import type { Scenario, ScenarioResult } from "./scenario.js";

/*
 * Issue 22: what tracing costs reserve throughput, over HTTP as in `reserve` (64 connections,
 * spread over lots). Variants:
 * - off: OTEL_EXPORTER_OTLP_ENDPOINT unset, requests without a traceparent (the baseline);
 * - off + header: the same service, every request with a traceparent (parsed, carried in events);
 * - exporter set: a second service exporting to an OTLP sink in this process (it reads and drops
 *   the bodies), every request with a traceparent: all the spans made and exported;
 * - exporter set, trace not sampled: the same exporter-set service, every request with a traceparent
 *   whose sampled flag is off (no span made, the traceparent carried on): what recording costs,
 *   read within one process, free of what one process differs from another by;
 * - exporter set, 1% sampled: a third service with OTEL_TRACES_SAMPLER_ARG=0.01 that starts the
 *   traces itself (no traceparent), recording one in a hundred;
 * - off, second service: a fourth service as the first (tracing unset, with a traceparent): the
 *   control, what one process costs against another that runs the same code with the same load
 *   (the noise floor the other ratios are read against);
 * - exporter set, baseline build (only with BENCH_TRACING_BASELINE=<a checkout of another commit,
 *   its node_modules in place>): the "exporter set" service from that tree, so that a change is
 *   measured before/after in the same rounds.
 *
 * One round runs every variant once for ROUND seconds, the order reversed from round to round; each
 * round is read as ratios to that round's "off" (throughput, and the server's CPU per request from
 * the process's own CPU time over the load, the read models' catch-up and the export's next batch),
 * and the result is the median of the rounds' ratios with their spread (min–max): a disturbance of
 * the machine falls on one round's ratios, not on a variant.
 */

export const LOTS = 200;
const NOT_SAMPLED = "exporter set, trace not sampled";
/** After a variant's round has caught up: the export worker's next batch (every second) lands in it. */
const SETTLE_MS = 1_100;
/** Seconds of unmeasured load on a variant's service right before its round (see runRound). */
const LEAD_IN_SECONDS = 1;

const settings = (quick: boolean) => ({
  rounds: Number(process.env.BENCH_TRACING_ROUNDS ?? (quick ? 4 : 8)),
  roundSec: Number(process.env.BENCH_TRACING_ROUND_SECONDS ?? (quick ? 6 : 8)),
});

export function sink(): Promise<{ server: Server; url: string; bodies: () => number }> {
  let bodies = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      bodies++;
      // An empty ExportTraceServiceResponse in the request's encoding.
      const json = req.headers["content-type"] === "application/json";
      res.writeHead(200, { "content-type": json ? "application/json" : "application/x-protobuf" });
      res.end(json ? "{}" : "");
    });
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () =>
      resolve({
        server,
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        bodies: () => bodies,
      }),
    ),
  );
}

/**
 * The traceparents the load sends, made before the rounds and taken in turn: made per request, two
 * random draws and their hex cost the load generator, on the same two cores as the service, a
 * share of a core that was counted against every variant with a header (tracing's cost).
 */
const TRACEPARENTS = 65_536;
const traceparents = (sampled: boolean): (() => string) => {
  let made: string[] | undefined;
  let next = 0;
  return () => {
    made ??= Array.from({ length: TRACEPARENTS }, () => {
      const ids = randomBytes(24).toString("hex");
      return `00-${ids.slice(0, 32)}-${ids.slice(32)}-${sampled ? "01" : "00"}`;
    });
    return made[next++ % TRACEPARENTS] as string;
  };
};
export const sampledTraceparent = traceparents(true);
export const unsampledTraceparent = traceparents(false);

interface Variant {
  readonly key: string;
  readonly service: BenchChild;
  readonly http: HttpClient;
  /** Whether requests carry a traceparent, and whether it says sampled. */
  readonly header: false | "sampled" | "not sampled";
}

/** One variant's round: its load, and the server's CPU per 2xx answer over the load and what followed it. */
interface Round {
  readonly load: LoadResult;
  readonly cpuMsPerRequest: number;
}

/** Ratios of a variant to "off", round by round: their median and spread. */
export interface Versus {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly perRound: readonly number[];
}

export function versus(rounds: readonly number[], base: readonly number[]): Versus {
  const perRound = rounds.map((value, i) => round(value / (base[i] as number), 3));
  return {
    median: round(median(perRound), 3),
    min: Math.min(...perRound),
    max: Math.max(...perRound),
    perRound,
  };
}

/**
 * One variant's round, after a lead-in of LEAD_IN_SECONDS on its service (not measured, caught up):
 * without it, a variant that follows its own service (off + header after off, and the one at each
 * end of the reversed order) ran on a warm process while the others ran on one that had been idle,
 * and a second identical service came out 13–30% below the first in every round.
 */
async function runRound(
  variant: Variant,
  seconds: number,
  lots: readonly string[],
  offset: number,
): Promise<Round> {
  const spread = spreadRequests(lots, offset);
  const options = {
    title: variant.key,
    url: variant.service.url,
    connections: CONNECTIONS,
    method: "POST" as const,
    next: () => ({
      ...spread(),
      ...(variant.header
        ? {
            headers: {
              traceparent: (variant.header === "sampled" ? sampledTraceparent : unsampledTraceparent)(),
            },
          }
        : {}),
    }),
    serverPid: variant.service.pid,
  };
  await runLoad({ ...options, durationSec: LEAD_IN_SECONDS });
  await waitForCatchUp(variant.http, 300_000);
  const cpuBefore = cpuSecondsOf(variant.service.pid);
  const load = await runLoad({ ...options, durationSec: seconds });
  await waitForCatchUp(variant.http, 300_000);
  await sleep(SETTLE_MS);
  const cpuMs = (cpuSecondsOf(variant.service.pid) - cpuBefore) * 1000;
  return { load, cpuMsPerRequest: round(cpuMs / Math.max(1, load.status["2xx"]), 3) };
}

/** Every variant once per round (a short warm-up round first), the order reversed each round. */
async function measure(
  variants: readonly Variant[],
  lots: readonly string[],
  quick: boolean,
): Promise<Map<string, Round[]>> {
  const { rounds, roundSec } = settings(quick);
  const results = new Map<string, Round[]>(variants.map((v) => [v.key, []]));
  let offset = 0;
  for (let r = -1; r < rounds; r++) {
    const order = r % 2 === 0 ? variants : [...variants].reverse();
    for (const variant of order) {
      offset += 1_000_000;
      const result = await runRound(variant, r < 0 ? 2 : roundSec, lots, offset);
      if (r >= 0) results.get(variant.key)?.push(result);
      log(
        `  ${r < 0 ? "warm-up" : `round ${r + 1}`} ${variant.key}: ${describeLoad(result.load)}; ` +
          `${result.cpuMsPerRequest} ms CPU per request with catch-up and export`,
      );
    }
  }
  return results;
}

/** "cost 4.1% (−2.0% … 9.3%), CPU/request 1.05× (0.98 … 1.12)": throughput cost from the ratio's median. */
const describeVersus = (rps: Versus, cpu: Versus) =>
  `cost ${pct(1 - rps.median)} (rounds ${pct(1 - rps.max)} … ${pct(1 - rps.min)}), ` +
  `CPU per request ${cpu.median.toFixed(3)}× (${cpu.min.toFixed(3)} … ${cpu.max.toFixed(3)})`;

function summarize(
  results: Map<string, Round[]>,
  posts: number,
  baseline: boolean,
): Omit<ScenarioResult, "name" | "title"> {
  const rpsOf = (key: string) => (results.get(key) ?? []).map((r) => r.load.rps2xx);
  const cpuOf = (key: string) => (results.get(key) ?? []).map((r) => r.cpuMsPerRequest);
  const keys = [...results.keys()].filter((key) => key !== "off");
  const against = Object.fromEntries(
    keys.map((key) => [
      key,
      { rps: versus(rpsOf(key), rpsOf("off")), cpu: versus(cpuOf(key), cpuOf("off")) },
    ]),
  );
  const control = against["off, second service"] as { rps: Versus; cpu: Versus };
  const noise = `noise floor (a second tracing-off service): ${describeVersus(control.rps, control.cpu)}`;
  // A target is met only where the run can tell: the control's own difference under the target.
  const check = (key: string, target: string, limit: number) => {
    const { rps, cpu } = against[key] as { rps: Versus; cpu: Versus };
    const resolved = Math.abs(1 - control.rps.median) < limit;
    return {
      target,
      measured: `${describeVersus(rps, cpu)}; ${noise}${resolved ? "" : " (the run cannot resolve this target)"}`,
      pass: resolved && 1 - rps.median < limit,
    };
  };
  const checks = [
    check("off + header", "tracing unset costs reserve throughput < 1% (requests with a traceparent)", 0.01),
    check(
      "exporter set",
      `tracing with an exporter set costs reserve throughput < 5% (${posts} OTLP posts)`,
      0.05,
    ),
    check("exporter set, 1% sampled", "tracing with an exporter set, 1% of traces sampled, costs < 5%", 0.05),
  ];
  // Before/after: this build's exporter-set service against the baseline build's, round by round.
  const change = baseline
    ? {
        rps: versus(rpsOf("exporter set"), rpsOf("exporter set, baseline build")),
        cpu: versus(cpuOf("exporter set"), cpuOf("exporter set, baseline build")),
      }
    : undefined;
  if (change) {
    const { rps, cpu } = against["exporter set, baseline build"] as { rps: Versus; cpu: Versus };
    log(`  baseline build, exporter set: ${describeVersus(rps, cpu)}`);
    log(
      `  this build ÷ baseline build, exporter set: throughput ${change.rps.median.toFixed(3)}× ` +
        `(${change.rps.min.toFixed(3)} … ${change.rps.max.toFixed(3)}), CPU per request ` +
        `${change.cpu.median.toFixed(3)}× (${change.cpu.min.toFixed(3)} … ${change.cpu.max.toFixed(3)})`,
    );
  }
  // Recording, read within the exporter-set process: its sampled rounds against its not-sampled ones.
  const recording = {
    rps: versus(rpsOf("exporter set"), rpsOf(NOT_SAMPLED)),
    cpu: versus(cpuOf("exporter set"), cpuOf(NOT_SAMPLED)),
  };
  log(
    `  recording every trace, within the exporter-set service (against its not-sampled requests): ${describeVersus(recording.rps, recording.cpu)}`,
  );
  log(`  ${noise}`);
  const byRound = (pick: (r: Round) => number) =>
    Object.fromEntries([...results].map(([k, v]) => [k, v.map(pick)]));
  return {
    checks,
    figures: {
      ...settings(false),
      lots: LOTS,
      againstOff: against,
      recordingWithinProcess: recording,
      ...(change ? { againstBaselineBuild: change } : {}),
      rpsPerRound: byRound((r) => r.load.rps2xx),
      cpuMsPerRequestPerRound: byRound((r) => r.cpuMsPerRequest),
      p99MsPerRound: byRound((r) => r.load.latency.p99),
      otlpPosts: posts,
    },
  };
}

/** BENCH_TRACING_BASELINE: the tree whose app/main.ts is the baseline build (absolute, or from here). */
const baselineScript = (): string | undefined => {
  const tree = process.env.BENCH_TRACING_BASELINE;
  if (!tree) return undefined;
  return join(isAbsolute(tree) ? tree : resolve(tree), "app", "main.ts");
};

export const tracingScenario: Scenario = {
  name: "tracing",
  title: "the cost of tracing on reserve throughput (exporter set, and unset)",
  async run(ctx): Promise<ScenarioResult> {
    const lots = lotIds(LOTS);
    const collector = await sink();
    const dirs: { readonly dir: string; readonly remove: () => void }[] = [];
    const services: BenchChild[] = [];
    const clients: HttpClient[] = [];
    // --profile: the traced services run under --cpu-prof (a profile per thread, on exit), each in its dir.
    const profileDir = ctx.profile ? join(ctx.profileRoot, "tracing") : undefined;
    const profiled = (name: string) => {
      if (!profileDir) return {};
      mkdirSync(join(profileDir, name), { recursive: true });
      return { nodeArgs: ["--cpu-prof", `--cpu-prof-dir=${join(profileDir, name)}`] };
    };
    const start = async (label: string, options: Parameters<typeof startService>[1] = {}) => {
      const data = benchDataDir(label.replace(/\W+/g, "-"));
      dirs.push(data);
      const service = await startService(data.dir, { label, ...options });
      services.push(service);
      const http = new HttpClient(service.url);
      clients.push(http);
      await registerLots(http, lots, CAPACITY);
      await waitForCatchUp(http, 60_000);
      return { service, http };
    };
    const profiles: ProfileSummary[] = [];
    try {
      const exporter = { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url };
      const plain = await start("tracing off", profiled("off"));
      const traced = await start("tracing on", { env: exporter, ...profiled("exporter") });
      const share = await start("tracing 1%", {
        env: { ...exporter, OTEL_TRACES_SAMPLER_ARG: "0.01" },
        ...profiled("sampled"),
      });
      const second = await start("tracing off (control)");
      const script = baselineScript();
      const base = script
        ? await start("tracing on (baseline build)", { env: exporter, script, ...profiled("baseline") })
        : undefined;
      const variants: Variant[] = [
        { key: "off", ...plain, header: false },
        { key: "off + header", ...plain, header: "sampled" },
        { key: "exporter set", ...traced, header: "sampled" },
        { key: NOT_SAMPLED, ...traced, header: "not sampled" },
        { key: "exporter set, 1% sampled", ...share, header: false },
        { key: "off, second service", ...second, header: "sampled" },
        ...(base ? [{ key: "exporter set, baseline build", ...base, header: "sampled" as const }] : []),
      ];
      const results = await measure(variants, lots, ctx.quick);
      const summary = summarize(results, collector.bodies(), base !== undefined);
      // Filled in as the services stop (below), before the result is read.
      return {
        name: this.name,
        title: this.title,
        ...summary,
        figures: { ...summary.figures, ...settings(ctx.quick) },
        profiles,
      };
    } finally {
      for (const http of clients) http.close();
      for (const service of services) await service.stop();
      const names = ["off", "exporter", "sampled", "baseline"];
      for (const file of profileDir ? names.flatMap((name) => profilesIn(join(profileDir, name))) : []) {
        const summary = { ...summarizeCpuProfile(file, 25), label: file };
        profiles.push(summary);
        log(formatProfile(summary));
      }
      await new Promise((resolve) => collector.server.close(resolve));
      for (const dir of dirs) dir.remove();
    }
  },
};
