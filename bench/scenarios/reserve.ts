import { lotId, reserveBody } from "../lib/domain.js";
import { HttpClient } from "../lib/http.js";
import { describeLoad, type LoadResult, mergeLoads, runLoad, runLoadInto } from "../lib/load.js";
import { log } from "../lib/log.js";
import { memoryOf } from "../lib/process-stats.js";
import { type BenchChild, benchDataDir, startCeilingServer, startService } from "../lib/processes.js";
import { profiler } from "../lib/profiling.js";
import { registerLots, waitForCatchUp } from "../lib/service-api.js";
import { ratio, Sample } from "../lib/stats.js";
import type { BenchContext, Scenario, ScenarioResult } from "./scenario.js";

export const LOTS = 1000;
export const CONNECTIONS = 64;
export const CAPACITY = 100_000;

/** Measured seconds of a load (in rounds of 5 s in the full run). */
export const loadSeconds = (ctx: BenchContext) => (ctx.quick ? 5 : 15);
export const warmupSeconds = (ctx: BenchContext) => (ctx.quick ? 2 : 5);
const ROUND_SECONDS = 5;

/** Reservations spread over many lots: a pseudo-random lot per request, a new customer and car each time. */
export function spreadRequests(lots: readonly string[], offset: number) {
  let i = 0;
  return () => {
    const n = offset + i++;
    const lot = lots[(n * 7919) % lots.length] as string;
    return { path: `/parking-lots/${lot}/reservations`, body: reserveBody(n) };
  };
}

export function summarizeLoad(r: LoadResult) {
  return {
    rps: r.rps2xx,
    requests: r.requests,
    durationSec: r.durationSec,
    connections: r.connections,
    latencyMs: r.latency,
    status: r.status.byCode,
    errors: r.errors,
    timeouts: r.timeouts,
    serverCpuPct: r.serverCpuPct,
    serverCpuMsPerRequest: r.serverCpuMsPerRequest,
    loadGeneratorCpuPct: r.loadGeneratorCpuPct,
    machineCpu: r.machineCpu,
  };
}

/**
 * 1. Reserve throughput and latency over HTTP against the all-in-one service on the embedded
 * stores (64 connections, 1000 lots), and the HTTP ceiling: a bare express app parsing the same
 * body and answering 201, measured the same way in the same run. Both run side by side and are
 * loaded in alternating 5 s rounds, so that a disturbance on the machine hits both alike.
 */
export const reserveScenario: Scenario = {
  name: "reserve",
  title: "Reserve throughput vs the HTTP ceiling",
  async run(ctx): Promise<ScenarioResult> {
    const lots = Array.from({ length: LOTS }, (_, i) => lotId(i + 1));
    const rounds = Math.max(1, Math.round(loadSeconds(ctx) / ROUND_SECONDS));
    const prof = profiler(ctx, "reserve");
    const data = benchDataDir("reserve");
    let ceiling: BenchChild | undefined;
    let service: BenchChild | undefined;
    let http: HttpClient | undefined;
    try {
      ceiling = await startCeilingServer(prof.spawn);
      service = await startService(data.dir, prof.spawn);
      http = new HttpClient(service.url);
      await registerLots(http, lots, CAPACITY);
      await waitForCatchUp(http, 60_000);
      for (const target of [ceiling, service]) {
        await runLoad({
          title: `${target.label} warm-up`,
          url: target.url,
          connections: CONNECTIONS,
          durationSec: warmupSeconds(ctx),
          method: "POST",
          next: spreadRequests(lots, target === ceiling ? 0 : 1_000_000),
        });
      }
      await waitForCatchUp(http, 120_000);

      const samples = {
        ceiling: [new Sample(), new Sample()],
        service: [new Sample(), new Sample()],
      } as const;
      const runs: { ceiling: LoadResult[]; service: LoadResult[] } = { ceiling: [], service: [] };
      let offset = 10_000_000;
      for (let r = 0; r < rounds; r++) {
        const order: BenchChild[] = r % 2 === 0 ? [ceiling, service] : [service, ceiling];
        for (const target of order) {
          const key = target === ceiling ? "ceiling" : "service";
          const [all, ok] = samples[key];
          const result = await prof.window(
            target.pid,
            `${target.label} under reserve load, round ${r + 1}`,
            () =>
              runLoadInto(
                {
                  title: key,
                  url: target.url,
                  connections: CONNECTIONS,
                  durationSec: ROUND_SECONDS,
                  method: "POST",
                  next: spreadRequests(lots, offset),
                  serverPid: target.pid,
                },
                all,
                ok,
              ),
          );
          offset += 1_000_000;
          runs[key].push(result);
          log(
            `  round ${r + 1} ${key === "ceiling" ? "ceiling (bare express, same body)" : `reserve (service, ${LOTS} lots)`}: ${describeLoad(result)}`,
          );
          // The projectors and the coupon policy share the service's process: let them catch up
          // before the next round (the time it takes is reported below).
          if (target === service) {
            const lagAfter = Date.now();
            await waitForCatchUp(http, 300_000);
            log(
              `  projections and coupon policy caught up ${((Date.now() - lagAfter) / 1000).toFixed(1)} s after the round`,
            );
          }
        }
      }
      const ceilingLoad = mergeLoads("ceiling", runs.ceiling, ...samples.ceiling);
      const load = mergeLoads("reserve", runs.service, ...samples.service);
      const memory = memoryOf(service.pid);
      const share = ratio(load.rps2xx, ceilingLoad.rps2xx);
      ctx.shared.set("reserve.rps", load.rps2xx);
      log(`  ceiling, all rounds: ${describeLoad(ceilingLoad)}`);
      log(`  reserve, all rounds: ${describeLoad(load)}`);
      return {
        name: this.name,
        title: this.title,
        checks: [
          {
            target: "reserve throughput ≥ 50% of the HTTP ceiling",
            measured: `${load.rps2xx} vs ${ceilingLoad.rps2xx} req/s = ${Math.round(share * 100)}%`,
            pass: share >= 0.5 && load.status["5xx"] === 0 && load.errors === 0,
          },
          {
            target: "reserve p99 latency reported",
            measured: `p50 ${load.latency.p50} ms, p99 ${load.latency.p99} ms (ceiling p50 ${ceilingLoad.latency.p50}, p99 ${ceilingLoad.latency.p99} ms)`,
            pass: true,
          },
        ],
        figures: {
          lots: LOTS,
          rounds,
          roundSec: ROUND_SECONDS,
          reserve: summarizeLoad(load),
          ceiling: summarizeLoad(ceilingLoad),
          throughputRatio: share,
          serviceMemory: memory,
          perRound: {
            reserve: runs.service.map((r) => r.rps2xx),
            ceiling: runs.ceiling.map((r) => r.rps2xx),
          },
        },
        profiles: prof.summaries,
      };
    } finally {
      http?.close();
      await service?.stop();
      await ceiling?.stop();
      data.remove();
    }
  },
};
