import { mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { type Callgrind, type Counts, callgrind, steady, valgrindAvailable } from "../lib/callgrind.js";
import { lotIds } from "../lib/domain.js";
import { HttpClient } from "../lib/http.js";
import { runLoad } from "../lib/load.js";
import { log } from "../lib/log.js";
import { type BenchChild, benchDataDir, startService } from "../lib/processes.js";
import { registerLots, waitForCatchUp } from "../lib/service-api.js";
import { againstNeighbours, median, pct, round } from "../lib/stats.js";
import { CAPACITY, spreadRequests } from "./reserve.js";
import type { Check, Scenario, ScenarioResult } from "./scenario.js";
import { LOTS, sampledTraceparent, sink, unsampledTraceparent } from "./tracing.js";

/*
 * Issue 22: what tracing costs, counted rather than timed. On this 2-core machine the service, its
 * processors' thread and the load generator contend for the cores, and a saturated service's
 * throughput swings ±15–25% from one second to the next: a few percent cannot be read from timed
 * rounds or windows (tracing, tracing-paired) without a quiet hour of them. Here each service runs
 * under Valgrind's callgrind, which counts every instruction of every thread and simulates the
 * caches, so what a batch of requests costs does not depend on what else the machine does. The
 * same design as tracing-paired, in counts: one load of REQUESTS reservations at a time against
 * one service while what they carry alternates (tracing off: no traceparent / a traceparent;
 * exporter set: a traceparent not sampled / sampled), the counters zeroed before each load and
 * dumped once its read models have caught up and its spans have been exported; each load of the
 * second kind is read against the mean of its two neighbours.
 *
 * V8's compilers and its major collections are left out of each count (their functions are native
 * and named): under Valgrind the compilers were still 8–33% of a load's instructions after a
 * warm-up of 1,800 requests, varying from load to load, while a service in production compiled
 * its hot code long ago; a major collection is a lump of about 6% of a 600-request load, and
 * a load has none to three. Minor (scavenge) collections stay in: they follow what the requests
 * allocate. What tracing's spans add to the major collections is therefore not counted here.
 *
 * What this leaves out: the machine's own behaviour (branch prediction, the real caches, the
 * kernel's side of the sockets and SQLite's writes). Estimated cycles weigh the simulated caches'
 * misses; under CPU saturation throughput goes as 1 / (work per request), so a work ratio r costs
 * 1 − 1/r of the throughput.
 */

const CONNECTIONS = 16;
/** After a load has caught up: the export thread's next batch (every second) lands in its count. */
const SETTLE_MS = 2_500;
/**
 * How long the service's idle work (timers, polling, the export thread's clock) is counted alone:
 * under Valgrind a load takes a minute, so what the service does per second without requests is
 * taken out of each load's count, as it would be a fiftieth of it at full speed.
 */
const IDLE_MS = 10_000;
/** What one call may take under Valgrind (the first ones compile what they run). */
const SLOW_CALL_MS = 600_000;

interface Load {
  readonly second: boolean;
  readonly requests: number;
  /** Less the idle service's work, V8's compilers' and its major collections'. */
  readonly perRequest: Counts;
  /** V8's compilers' and major collections' shares of the load's count (left out of `perRequest`). */
  readonly compilerShare?: number;
  readonly majorCollectionShare?: number;
}

/** A service under callgrind, and what it counts per millisecond with no requests. */
interface CountedService {
  readonly service: BenchChild;
  readonly counter: Callgrind;
  readonly idlePerMs: Counts;
}

interface Ratio {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

/** Per second kind of load, its counts per request against the mean of its two neighbours. */
export function countedRatios(loads: readonly Load[]): {
  instructions: Ratio;
  cycles: Ratio;
  pairs: number;
  noise: number;
} {
  const second = (load: Load) => load.second;
  const ratios = {
    instructions: againstNeighbours(loads, second, (load) => load.perRequest.instructions),
    cycles: againstNeighbours(loads, second, (load) => load.perRequest.estimatedCycles),
  };
  const summary = (values: number[]): Ratio => ({
    median: round(median(values), 4),
    min: round(values.length ? Math.min(...values) : Number.NaN, 4),
    max: round(values.length ? Math.max(...values) : Number.NaN, 4),
  });
  // The noise floor: how far apart the first kind's loads, the same work, were counted.
  const same = summary(loads.filter((load) => !load.second).map((load) => load.perRequest.estimatedCycles));
  return {
    instructions: summary(ratios.instructions),
    cycles: summary(ratios.cycles),
    pairs: ratios.instructions.length,
    noise: round((same.max - same.min) / same.median, 4),
  };
}

/** Alternating loads on one counted service: first kind, second, first, … first. */
async function countedLoads(
  { service, counter, idlePerMs }: CountedService,
  lots: readonly string[],
  options: { readonly pairs: number; readonly requests: number },
  header: (second: boolean) => Record<string, string> | undefined,
): Promise<Load[]> {
  const http = new HttpClient(service.url, 64, SLOW_CALL_MS);
  const loads: Load[] = [];
  try {
    for (let i = 0; i < 2 * options.pairs + 1; i++) {
      const second = i % 2 === 1;
      const spread = spreadRequests(lots, (i + 1) * 1_000_000);
      let answered = 0;
      await counter.zero(service.pid);
      const from = performance.now();
      await runLoad({
        title: `${service.label} load ${i + 1}`,
        url: service.url,
        connections: CONNECTIONS,
        method: "POST",
        durationSec: 3_600,
        amount: options.requests,
        timeoutSec: SLOW_CALL_MS / 1000,
        next: () => {
          const headers = header(second);
          return headers ? { ...spread(), headers } : spread();
        },
        onLatency: (_ms, status) => {
          if (status >= 200 && status < 300) answered++;
        },
      });
      await waitForCatchUp(http, 600_000);
      await sleep(SETTLE_MS);
      const dump = await counter.dump(service.pid);
      const counts = steady(dump);
      const ms = performance.now() - from;
      const perRequest = {
        instructions: Math.round((counts.instructions - idlePerMs.instructions * ms) / Math.max(1, answered)),
        estimatedCycles: Math.round(
          (counts.estimatedCycles - idlePerMs.estimatedCycles * ms) / Math.max(1, answered),
        ),
      };
      const compilerShare = round(dump.compilers.instructions / dump.all.instructions, 4);
      const majorCollectionShare = round(dump.majorCollections.instructions / dump.all.instructions, 4);
      loads.push({ second, requests: answered, perRequest, compilerShare, majorCollectionShare });
      log(
        `  ${service.label}, load ${i + 1} (${second ? "second" : "first"} kind): ${answered} answered, ` +
          `${(perRequest.instructions / 1e6).toFixed(3)} M instructions, ${(perRequest.estimatedCycles / 1e6).toFixed(3)} M estimated cycles per request ` +
          `(left out: V8's compilers ${pct(compilerShare)} of the count, major collections ${pct(majorCollectionShare)})`,
      );
    }
    return loads;
  } finally {
    http.close();
  }
}

/** Throughput cost of a work ratio under CPU saturation. */
const cost = (ratio: number) => 1 - 1 / ratio;
const describe = (r: ReturnType<typeof countedRatios>) =>
  `estimated cycles ${r.cycles.median.toFixed(4)}× (${r.cycles.min.toFixed(4)} … ${r.cycles.max.toFixed(4)}), ` +
  `instructions ${r.instructions.median.toFixed(4)}× (${r.instructions.min.toFixed(4)} … ${r.instructions.max.toFixed(4)}), ${r.pairs} loads; the first kind's loads ${pct(r.noise)} apart`;

export const tracingCountedScenario: Scenario = {
  name: "tracing-counted",
  title: "the cost of tracing, counted in instructions and estimated cycles under callgrind",
  onlyWhenNamed: true,
  async run(ctx): Promise<ScenarioResult> {
    if (!valgrindAvailable()) {
      return {
        name: this.name,
        title: this.title,
        checks: [],
        figures: { skipped: "Valgrind is not installed (Debian: apt-get install valgrind)" },
      };
    }
    const lots = lotIds(LOTS);
    const options = {
      pairs: Number(process.env.BENCH_TRACING_COUNTED_PAIRS ?? (ctx.quick ? 2 : 3)),
      requests: Number(process.env.BENCH_TRACING_COUNTED_REQUESTS ?? (ctx.quick ? 300 : 1_000)),
    };
    const collector = await sink();
    const outDir = join(tmpdir(), `bench-callgrind-${process.pid}`);
    mkdirSync(outDir, { recursive: true });
    const started: { service: BenchChild; remove: () => void }[] = [];
    const start = async (label: string, env: Record<string, string> = {}) => {
      const counter = callgrind(join(outDir, label.replace(/\W+/g, "-")), { cacheSim: true });
      const data = benchDataDir(label.replace(/\W+/g, "-"));
      // Under callgrind the service starts in minutes, not seconds.
      const service = await startService(data.dir, {
        label,
        env,
        wrapper: counter.wrapper,
        readyTimeoutMs: 900_000,
      });
      started.push({ service, remove: data.remove });
      const http = new HttpClient(service.url, 64, SLOW_CALL_MS);
      await registerLots(http, lots, CAPACITY);
      // Warmed (most of the compilers' work done) before anything is counted: three loads' worth.
      await runLoad({
        title: `${label} warm-up`,
        url: service.url,
        connections: CONNECTIONS,
        method: "POST",
        durationSec: 3_600,
        amount: 3 * options.requests,
        timeoutSec: SLOW_CALL_MS / 1000,
        next: spreadRequests(lots, 50_000_000),
      });
      await waitForCatchUp(http, 600_000);
      http.close();
      await sleep(SETTLE_MS);
      await counter.zero(service.pid);
      await sleep(IDLE_MS);
      const idle = steady(await counter.dump(service.pid));
      const idlePerMs = {
        instructions: idle.instructions / IDLE_MS,
        estimatedCycles: idle.estimatedCycles / IDLE_MS,
      };
      log(`  ${label}: ${(idlePerMs.instructions / 1e3).toFixed(1)} M instructions per idle second`);
      return { service, counter, idlePerMs };
    };
    try {
      // Each service runs on one core under Valgrind (it serializes threads): both at once.
      const [carrying, recording] = await Promise.all([
        (async () => {
          const loads = await countedLoads(await start("tracing off"), lots, options, (second) =>
            second ? { traceparent: sampledTraceparent() } : undefined,
          );
          return { loads, ...countedRatios(loads) };
        })(),
        (async () => {
          const traced = await start("exporter set", { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url });
          const loads = await countedLoads(traced, lots, options, (second) => ({
            traceparent: second ? sampledTraceparent() : unsampledTraceparent(),
          }));
          return { loads, ...countedRatios(loads) };
        })(),
      ]);
      log(`  carrying a traceparent, tracing off: ${describe(carrying)}`);
      log(`  recording and exporting every trace, exporter set: ${describe(recording)}`);
      // The exporter-set cost compounds both; the verdict takes the worst load of each, and none is
      // given where loads of the same work were counted further apart than the target.
      const setWorst = cost(carrying.cycles.max * recording.cycles.max);
      const setMedian = cost(carrying.cycles.median * recording.cycles.median);
      const verdict = (worst: number, noise: number, limit: number) => ({
        pass: worst < limit && noise < limit,
        note:
          noise < limit
            ? ""
            : ` (cannot resolve the target: loads of the same work counted up to ${pct(noise)} apart)`,
      });
      const unset = verdict(cost(carrying.cycles.max), carrying.noise, 0.01);
      const set = verdict(setWorst, Math.max(carrying.noise, recording.noise), 0.05);
      const checks: Check[] = [
        {
          target:
            "tracing unset costs reserve throughput < 1% (requests with a traceparent, counted under callgrind)",
          measured: `${pct(cost(carrying.cycles.median))} (worst load ${pct(cost(carrying.cycles.max))}): ${describe(carrying)}${unset.note}`,
          pass: unset.pass,
        },
        {
          target: `tracing with an exporter set costs reserve throughput < 5% (counted under callgrind; ${collector.bodies()} OTLP posts)`,
          measured: `${pct(setMedian)} (worst loads ${pct(setWorst)}): carrying ${pct(cost(carrying.cycles.median))}, recording ${describe(recording)}${set.note}`,
          pass: set.pass,
        },
      ];
      return {
        name: this.name,
        title: this.title,
        checks,
        figures: {
          ...options,
          connections: CONNECTIONS,
          carrying,
          recording,
          exporterSetCost: { median: setMedian, worst: setWorst },
        },
      };
    } finally {
      for (const { service, remove } of started) {
        await service.stop();
        remove();
      }
      await new Promise((resolve) => collector.server.close(resolve));
      // The dumps stay, for callgrind_annotate (native code by function; JIT-compiled JS as addresses).
      log(`  callgrind's dumps: ${outDir}`);
    }
  },
};
