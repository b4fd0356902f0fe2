import { lotId } from "../lib/domain.js";
import { HttpClient } from "../lib/http.js";
import { describeLoad, type LoadResult, mergeLoads, runLoad, runLoadInto } from "../lib/load.js";
import { log } from "../lib/log.js";
import { type BenchChild, benchDataDir, startService } from "../lib/processes.js";
import { profiler } from "../lib/profiling.js";
import { registerLots, waitForCatchUp } from "../lib/service-api.js";
import { ratio, Sample } from "../lib/stats.js";
import {
  CAPACITY,
  CONNECTIONS,
  LOTS,
  loadSeconds,
  spreadRequests,
  summarizeLoad,
  warmupSeconds,
} from "./reserve.js";
import type { Scenario, ScenarioResult } from "./scenario.js";

const ROUND_SECONDS = 5;
const MODES = ["worker", "main"] as const;
type Mode = (typeof MODES)[number];

/**
 * 1b. What the processors thread buys: the reserve load of scenario 1 against two all-in-one
 * services side by side, one running its projections and coupon policy in a worker thread
 * (PROCESSORS_THREAD=worker, the default) and one on the request thread (main), in alternating
 * rounds, each round followed by a wait until the service's read models have caught up.
 */
export const threadsScenario: Scenario = {
  name: "threads",
  title: "Processors in a worker thread vs on the request thread",
  async run(ctx): Promise<ScenarioResult> {
    const lots = Array.from({ length: LOTS }, (_, i) => lotId(i + 1));
    const rounds = Math.max(1, Math.round(loadSeconds(ctx) / ROUND_SECONDS));
    const prof = profiler(ctx, "threads");
    const dirs = { worker: benchDataDir("threads-worker"), main: benchDataDir("threads-main") };
    const children: Partial<Record<Mode, BenchChild>> = {};
    const clients: Partial<Record<Mode, HttpClient>> = {};
    try {
      for (const mode of MODES) {
        const child = await startService(dirs[mode].dir, {
          ...prof.spawn,
          env: { ...prof.spawn.env, PROCESSORS_THREAD: mode },
          label: `service (${mode})`,
        });
        children[mode] = child;
        const http = new HttpClient(child.url);
        clients[mode] = http;
        await registerLots(http, lots, CAPACITY);
        await waitForCatchUp(http, 60_000);
        await runLoad({
          title: `${mode} warm-up`,
          url: child.url,
          connections: CONNECTIONS,
          durationSec: warmupSeconds(ctx),
          method: "POST",
          next: spreadRequests(lots, mode === "worker" ? 0 : 1_000_000),
        });
        await waitForCatchUp(http, 120_000);
      }
      const samples: Record<Mode, [Sample, Sample]> = {
        worker: [new Sample(), new Sample()],
        main: [new Sample(), new Sample()],
      };
      const runs: Record<Mode, LoadResult[]> = { worker: [], main: [] };
      const catchUp: Record<Mode, number[]> = { worker: [], main: [] };
      let offset = 10_000_000;
      for (let r = 0; r < rounds; r++) {
        const order: readonly Mode[] = r % 2 === 0 ? MODES : [...MODES].reverse();
        for (const mode of order) {
          const child = children[mode] as BenchChild;
          const [all, ok] = samples[mode];
          const result = await prof.window(
            child.pid,
            `service (${mode}) under reserve load, round ${r + 1}`,
            () =>
              runLoadInto(
                {
                  title: mode,
                  url: child.url,
                  connections: CONNECTIONS,
                  durationSec: ROUND_SECONDS,
                  method: "POST",
                  next: spreadRequests(lots, offset),
                  serverPid: child.pid,
                },
                all,
                ok,
              ),
          );
          offset += 1_000_000;
          runs[mode].push(result);
          const waited = await waitForCatchUp(clients[mode] as HttpClient, 300_000);
          catchUp[mode].push(waited);
          log(
            `  round ${r + 1} PROCESSORS_THREAD=${mode}: ${describeLoad(result)}; read models caught up ${(waited / 1000).toFixed(1)} s after`,
          );
        }
      }
      const worker = mergeLoads("worker", runs.worker, ...samples.worker);
      const main = mergeLoads("main", runs.main, ...samples.main);
      log(`  worker thread, all rounds: ${describeLoad(worker)}`);
      log(`  request thread, all rounds: ${describeLoad(main)}`);
      const gain = ratio(worker.rps2xx, main.rps2xx);
      return {
        name: this.name,
        title: this.title,
        checks: [
          {
            target: "reserve throughput with the processors in a worker thread vs on the request thread",
            measured: `${worker.rps2xx} vs ${main.rps2xx} req/s = ${gain}× (p99 ${worker.latency.p99} vs ${main.latency.p99} ms, p99.9 ${worker.latency.p999} vs ${main.latency.p999} ms)`,
            pass: worker.status["5xx"] === 0 && main.status["5xx"] === 0,
          },
        ],
        figures: {
          rounds,
          roundSec: ROUND_SECONDS,
          worker: summarizeLoad(worker),
          main: summarizeLoad(main),
          ratio: gain,
          catchUpMs: catchUp,
          perRound: { worker: runs.worker.map((r) => r.rps2xx), main: runs.main.map((r) => r.rps2xx) },
        },
        profiles: prof.summaries,
      };
    } finally {
      for (const client of Object.values(clients)) client?.close();
      for (const child of Object.values(children)) await child?.stop();
      for (const dir of Object.values(dirs)) dir.remove();
    }
  },
};
