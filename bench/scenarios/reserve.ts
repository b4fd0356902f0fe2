import { lotIds, reserveBody } from "../lib/domain.js";
import type { HttpClient } from "../lib/http.js";
import { describeLoad, type NextRequest, runLoad } from "../lib/load.js";
import { log } from "../lib/log.js";
import { cpuSecondsOf, threadCpuSecondsOf, threadSplit } from "../lib/process-stats.js";
import { type BenchChild, startCeilingServer } from "../lib/processes.js";
import { loadInRounds, ROUND_SECONDS, roundsOf } from "../lib/rounds.js";
import { caughtUpAfterRound, spreadLot, waitForCatchUp, withService } from "../lib/service-api.js";
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
    const ceiling = await startCeilingServer();
    try {
      return await withService("reserve", lots, async (service, http) => {
        for (const target of [ceiling, service])
          await warmUp(
            ctx,
            target.label,
            target.url,
            spreadRequests(lots, target === ceiling ? 0 : 1_000_000),
          );
        await waitForCatchUp(http, 120_000);
        return await measureReserve(reserveRounds(ctx), ceiling, service, http);
      });
    } finally {
      await ceiling.stop();
    }
  },
};

/** The rounds of scenario 1 on a warmed-up ceiling and service, and what they come to. */
async function measureReserve(
  rounds: number,
  ceiling: BenchChild,
  service: BenchChild,
  http: HttpClient,
): Promise<ScenarioOutcome> {
  const spread = (_round: number, run: number) => ({
    next: spreadRequests(lotIds(LOTS), 10_000_000 + run * 1_000_000),
  });
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
      after: () => caughtUpAfterRound(http),
    },
  });
  const ceilingLoad = sides.ceiling.load;
  const load = sides.reserve.load;
  const perReservation = (seconds: number) => round((seconds * 1000) / Math.max(1, load.status["2xx"]), 3);
  const threads = threadSplit(service.pid, cpuBefore.threads, threadCpuSecondsOf(service.pid));
  const cpuMs = {
    wholeProcess: perReservation(cpuSecondsOf(service.pid) - cpuBefore.all),
    requestThread: perReservation(threads.main),
    processorsThread: perReservation(threads.busiestOther),
    otherThreads: perReservation(threads.rest),
  };
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
      perRound: {
        ceiling: sides.ceiling.rounds.map((r) => r.rps2xx),
        reserve: sides.reserve.rounds.map((r) => r.rps2xx),
      },
    },
  };
}
