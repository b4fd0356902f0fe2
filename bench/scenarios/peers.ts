import { lotIds } from "../lib/domain.js";
import { HttpClient } from "../lib/http.js";
import { describeLoad, type LoadResult } from "../lib/load.js";
import { log } from "../lib/log.js";
import {
  type BenchChild,
  benchDataDir,
  ensureEmmettPeerInstalled,
  startCeilingServer,
  startEmmettPeer,
  startService,
} from "../lib/processes.js";
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

type Key = "ceiling" | "service" | "emmett" | "emmettTuned";

/**
 * 7. The peer: the reserve workload of scenario 1 (64 connections, 1,000 lots) against the
 * service, against the same endpoints built on Emmett (its decider, command handler and SQLite
 * event store: bench/peers/emmett) twice, as documented (a connection per call) and tuned by hand
 * (one connection kept open), and against the bare-express ceiling, all four running side by side
 * and loaded in rotating rounds. The service does everything it normally does (read models,
 * coupon policy, logs, metrics); the peers only append the reservation.
 */
export const peersScenario: Scenario = {
  name: "peers",
  title: "The service beside an Emmett peer and the HTTP ceiling",
  async run(ctx): Promise<ScenarioResult> {
    ensureEmmettPeerInstalled();
    const lots = lotIds(LOTS);
    const rounds = reserveRounds(ctx);
    const prof = profiler(ctx, "peers");
    const data = benchDataDir("peers-service");
    const peerData = benchDataDir("peers-emmett");
    const tunedPeerData = benchDataDir("peers-emmett-tuned");
    const children: Partial<Record<Key, BenchChild>> = {};
    const clients: HttpClient[] = [];
    try {
      children.ceiling = await startCeilingServer(prof.spawn);
      children.service = await startService(data.dir, prof.spawn);
      children.emmett = await startEmmettPeer(peerData.dir, prof.spawn);
      children.emmettTuned = await startEmmettPeer(tunedPeerData.dir, {
        ...prof.spawn,
        env: { ...prof.spawn.env, EMMETT_CONNECTION: "kept-open" },
      });
      const service = new HttpClient(children.service.url);
      const emmett = new HttpClient(children.emmett.url);
      const emmettTuned = new HttpClient(children.emmettTuned.url);
      clients.push(service, emmett, emmettTuned);
      await registerLots(service, lots, CAPACITY);
      await registerLots(emmett, lots, CAPACITY);
      await registerLots(emmettTuned, lots, CAPACITY);
      await waitForCatchUp(service, 60_000);
      const targets: [Key, BenchChild][] = [
        ["ceiling", children.ceiling],
        ["service", children.service],
        ["emmett", children.emmett],
        ["emmettTuned", children.emmettTuned],
      ];
      for (const [index, [key, target]] of targets.entries()) {
        const offset = index * 1_000_000;
        await warmUp(ctx, key, target.url, spreadRequests(lots, offset));
      }
      await waitForCatchUp(service, 120_000);

      const side = (key: Key, server: BenchChild) => ({
        title: key,
        server,
        window: `${key} under reserve load`,
        line: key,
        requests: (_round: number, run: number) => ({
          next: spreadRequests(lots, 10_000_000 + run * 1_000_000),
        }),
      });
      const sides = await loadInRounds(prof, rounds, CONNECTIONS, {
        ceiling: side("ceiling", children.ceiling),
        service: {
          ...side("service", children.service),
          after: async () => {
            await waitForCatchUp(service, 300_000);
            return undefined;
          },
        },
        emmett: side("emmett", children.emmett),
        emmettTuned: side("emmettTuned", children.emmettTuned),
      });
      const merged = {
        ceiling: sides.ceiling.load,
        service: sides.service.load,
        emmett: sides.emmett.load,
        emmettTuned: sides.emmettTuned.load,
      };
      for (const key of ["ceiling", "service", "emmett", "emmettTuned"] as const)
        log(`  ${key}, all rounds: ${describeLoad(merged[key])}`);
      const serviceVsCeiling = ratio(merged.service.rps2xx, merged.ceiling.rps2xx);
      const emmettVsCeiling = ratio(merged.emmett.rps2xx, merged.ceiling.rps2xx);
      const serviceVsEmmett = ratio(merged.service.rps2xx, merged.emmett.rps2xx);
      const serviceVsEmmettTuned = ratio(merged.service.rps2xx, merged.emmettTuned.rps2xx);
      const failures = (l: LoadResult) => l.status["5xx"] + l.errors + l.timeouts;
      return {
        name: this.name,
        title: this.title,
        checks: [
          {
            target: "each answered the same workload side by side (rotating rounds)",
            measured:
              `service ${merged.service.rps2xx}, emmett ${merged.emmett.rps2xx}, emmett tuned ${merged.emmettTuned.rps2xx}, ` +
              `ceiling ${merged.ceiling.rps2xx} req/s; 5xx/errors/timeouts: service ${failures(merged.service)}, ` +
              `emmett ${failures(merged.emmett)}, emmett tuned ${failures(merged.emmettTuned)}`,
            pass: merged.service.rps2xx > 0 && merged.emmett.rps2xx > 0 && merged.emmettTuned.rps2xx > 0,
          },
          {
            target: "ratios reported",
            measured:
              `service/ceiling ${Math.round(serviceVsCeiling * 100)}%, emmett/ceiling ${Math.round(emmettVsCeiling * 100)}%, ` +
              `service/emmett ${serviceVsEmmett}×, service/emmett tuned ${serviceVsEmmettTuned}× ` +
              `(p99: service ${merged.service.latency.p99} ms, emmett ${merged.emmett.latency.p99} ms, ` +
              `emmett tuned ${merged.emmettTuned.latency.p99} ms)`,
            pass: true,
          },
        ],
        figures: {
          lots: LOTS,
          rounds,
          roundSec: ROUND_SECONDS,
          ceiling: summarizeLoad(merged.ceiling),
          service: summarizeLoad(merged.service),
          emmett: summarizeLoad(merged.emmett),
          emmettTuned: summarizeLoad(merged.emmettTuned),
          ratios: { serviceVsCeiling, emmettVsCeiling, serviceVsEmmett, serviceVsEmmettTuned },
          perRound: perRoundRps(sides),
        },
        profiles: prof.summaries,
      };
    } finally {
      for (const client of clients) client.close();
      for (const child of [children.emmettTuned, children.emmett, children.service, children.ceiling])
        await child?.stop();
      data.remove();
      peerData.remove();
      tunedPeerData.remove();
    }
  },
};
