import { lotIds, reserveBody } from "../lib/domain.js";
import { HttpClient } from "../lib/http.js";
import { describeLoad, type NextRequest, runLoad } from "../lib/load.js";
import { log } from "../lib/log.js";
import { cpuSecondsOf, memoryOf, threadCpuSecondsOf, threadSplit } from "../lib/process-stats.js";
import { type BenchChild, benchDataDir, startCeilingServer, startService } from "../lib/processes.js";
import { loadInRounds, ROUND_SECONDS, roundsOf } from "../lib/rounds.js";
import { CAPACITY, registerLots, spreadLot, waitForCatchUp } from "../lib/service-api.js";
import { ratio, round } from "../lib/stats.js";
import type { BenchContext, Scenario, ScenarioOutcome } from "./scenario.js";

export const LOTS = 1000;
export const CONNECTIONS = 64;

/** Measured seconds of a load (in rounds of 5 s in the full run). */
const loadSeconds = (ctx: BenchContext) => (ctx.quick ? 5 : 15);
const warmupSeconds = (ctx: BenchContext) => (ctx.quick ? 2 : 5);
/** How many rounds a measured reserve load runs. */
export const reserveRounds = (ctx: BenchContext) => roundsOf(loadSeconds(ctx));

/** Warms a server up: `next`'s reservations from every connection for the warm-up's seconds. */
export const warmUp = (ctx: BenchContext, title: string, url: string, next: () => NextRequest) =>
  runLoad({
    title: `${title} warm-up`,
    url,
    connections: CONNECTIONS,
    durationSec: warmupSeconds(ctx),
    method: "POST",
    next,
  });

/** Reservations spread over many lots: a pseudo-random lot per request, a new customer and car each time. */
export function spreadRequests(lots: readonly string[], offset: number) {
  let i = 0;
  return () => {
    const n = offset + i++;
    return { path: `/parking-lots/${spreadLot(lots, n)}/reservations`, body: reserveBody(n) };
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
  async run(ctx): Promise<ScenarioOutcome> {
    const lots = lotIds(LOTS);
    const rounds = reserveRounds(ctx);
    const data = benchDataDir("reserve");
    let ceiling: BenchChild | undefined;
    let service: BenchChild | undefined;
    let http: HttpClient | undefined;
    try {
      ceiling = await startCeilingServer();
      service = await startService(data.dir);
      http = new HttpClient(service.url);
      await registerLots(http, lots, CAPACITY);
      await waitForCatchUp(http, 60_000);
      for (const target of [ceiling, service]) {
        await warmUp(ctx, target.label, target.url, spreadRequests(lots, target === ceiling ? 0 : 1_000_000));
      }
      await waitForCatchUp(http, 120_000);

      const spread = (_round: number, run: number) => ({
        next: spreadRequests(lots, 10_000_000 + run * 1_000_000),
      });
      const caughtUp = http;
      // The service's CPU over every round and every catch-up after one: what a reservation costs
      // the whole process, the processors' work that outlasts the round included.
      const cpuBefore = { all: cpuSecondsOf(service.pid), threads: threadCpuSecondsOf(service.pid) };
      const sides = await loadInRounds(rounds, CONNECTIONS, {
        ceiling: {
          title: "ceiling",
          server: ceiling,
          line: "ceiling (bare express, same body)",
          requests: spread,
        },
        reserve: {
          title: "reserve",
          server: service,
          line: `reserve (service, ${LOTS} lots)`,
          requests: spread,
          // The projectors and the coupon policy share the service's process: let them catch up
          // before the next round (the time it takes is reported).
          after: async () => {
            const lagAfter = Date.now();
            await waitForCatchUp(caughtUp, 300_000);
            return `projections and coupon policy caught up ${((Date.now() - lagAfter) / 1000).toFixed(1)} s after the round`;
          },
        },
      });
      const ceilingLoad = sides.ceiling.load;
      const load = sides.reserve.load;
      const perReservation = (seconds: number) =>
        round((seconds * 1000) / Math.max(1, load.status["2xx"]), 3);
      const threads = threadSplit(service.pid, cpuBefore.threads, threadCpuSecondsOf(service.pid));
      const cpuMs = {
        wholeProcess: perReservation(cpuSecondsOf(service.pid) - cpuBefore.all),
        requestThread: perReservation(threads.main),
        processorsThread: perReservation(threads.busiestOther),
        otherThreads: perReservation(threads.rest),
      };
      const memory = memoryOf(service.pid);
      const share = ratio(load.rps2xx, ceilingLoad.rps2xx);
      log(`  ceiling, all rounds: ${describeLoad(ceilingLoad)}`);
      log(`  reserve, all rounds: ${describeLoad(load)}`);
      return {
        checks: [
          {
            target: "reserve throughput ≥ 50% of the HTTP ceiling",
            measured: `${load.rps2xx} vs ${ceilingLoad.rps2xx} req/s = ${Math.round(share * 100)}%`,
            pass: share >= 0.5 && load.status["5xx"] === 0 && load.errors === 0,
          },
          {
            target: "CPU per reservation ≤ 0.3 ms (whole process, catch-up after each round included)",
            measured: `${cpuMs.wholeProcess} ms: request thread ${cpuMs.requestThread} ms, processors' thread ${cpuMs.processorsThread} ms, the others (GC helpers, libuv) ${cpuMs.otherThreads} ms (the ceiling: ${ceilingLoad.serverCpuMsPerRequest} ms per request)`,
            pass: cpuMs.wholeProcess <= 0.3,
          },
        ],
        figures: {
          lots: LOTS,
          rounds,
          roundSec: ROUND_SECONDS,
          reserve: load,
          ceiling: ceilingLoad,
          throughputRatio: share,
          cpuMsPerReservation: cpuMs,
          serviceMemory: memory,
          perRound: {
            ceiling: sides.ceiling.rounds.map((r) => r.rps2xx),
            reserve: sides.reserve.rounds.map((r) => r.rps2xx),
          },
        },
      };
    } finally {
      http?.close();
      await service?.stop();
      await ceiling?.stop();
      data.remove();
    }
  },
};
