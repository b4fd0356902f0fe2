import { lotIds } from "../lib/domain.js";
import { HttpClient } from "../lib/http.js";
import { describeLoad } from "../lib/load.js";
import { log } from "../lib/log.js";
import { type BenchChild, benchDataDir, startService } from "../lib/processes.js";
import { profiler } from "../lib/profiling.js";
import { loadInRounds, perRoundRps, ROUND_SECONDS } from "../lib/rounds.js";
import { registerLots, waitForCatchUp } from "../lib/service-api.js";
import { ratio } from "../lib/stats.js";
import {
  CAPACITY,
  CONNECTIONS,
  LOTS,
  reserveRounds,
  spreadRequests,
  summarizeLoad,
  warmUp,
} from "./reserve.js";
import type { Scenario, ScenarioResult } from "./scenario.js";

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
    const lots = lotIds(LOTS);
    const rounds = reserveRounds(ctx);
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
        await warmUp(ctx, mode, child.url, spreadRequests(lots, mode === "worker" ? 0 : 1_000_000));
        await waitForCatchUp(http, 120_000);
      }
      const catchUp: Record<Mode, number[]> = { worker: [], main: [] };
      const side = (mode: Mode) => ({
        title: mode,
        server: children[mode] as BenchChild,
        window: `service (${mode}) under reserve load`,
        line: `PROCESSORS_THREAD=${mode}`,
        requests: (_round: number, run: number) => ({
          next: spreadRequests(lots, 10_000_000 + run * 1_000_000),
        }),
        after: async () => {
          const waited = await waitForCatchUp(clients[mode] as HttpClient, 300_000);
          catchUp[mode].push(waited);
          return `read models caught up ${(waited / 1000).toFixed(1)} s after`;
        },
      });
      const sides = await loadInRounds(prof, rounds, CONNECTIONS, {
        worker: side("worker"),
        main: side("main"),
      });
      const worker = sides.worker.load;
      const main = sides.main.load;
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
          perRound: perRoundRps(sides),
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
