import { lotId } from "../lib/domain.js";
import { HttpClient } from "../lib/http.js";
import { describeLoad, type LoadResult, mergeLoads, runLoad, runLoadInto } from "../lib/load.js";
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
type Key = "ceiling" | "service" | "emmett";

/**
 * 7. The peer: the reserve workload of scenario 1 (64 connections, 1,000 lots) against the
 * service, against the same endpoints built on Emmett (its decider, command handler and SQLite
 * event store: bench/peers/emmett), and against the bare-express ceiling, all three running side
 * by side and loaded in rotating rounds. The service does everything it normally does (read
 * models, coupon policy, logs, metrics); the peer only appends the reservation.
 */
export const peersScenario: Scenario = {
  name: "peers",
  title: "The service beside an Emmett peer and the HTTP ceiling",
  async run(ctx): Promise<ScenarioResult> {
    ensureEmmettPeerInstalled();
    const lots = Array.from({ length: LOTS }, (_, i) => lotId(i + 1));
    const rounds = Math.max(1, Math.round(loadSeconds(ctx) / ROUND_SECONDS));
    const prof = profiler(ctx, "peers");
    const data = benchDataDir("peers-service");
    const peerData = benchDataDir("peers-emmett");
    const children: Partial<Record<Key, BenchChild>> = {};
    const clients: HttpClient[] = [];
    try {
      children.ceiling = await startCeilingServer(prof.spawn);
      children.service = await startService(data.dir, prof.spawn);
      children.emmett = await startEmmettPeer(peerData.dir, prof.spawn);
      const service = new HttpClient(children.service.url);
      const emmett = new HttpClient(children.emmett.url);
      clients.push(service, emmett);
      await registerLots(service, lots, CAPACITY);
      await registerLots(emmett, lots, CAPACITY);
      await waitForCatchUp(service, 60_000);
      const targets: [Key, BenchChild][] = [
        ["ceiling", children.ceiling],
        ["service", children.service],
        ["emmett", children.emmett],
      ];
      for (const [key, target] of targets) {
        await runLoad({
          title: `${key} warm-up`,
          url: target.url,
          connections: CONNECTIONS,
          durationSec: warmupSeconds(ctx),
          method: "POST",
          next: spreadRequests(lots, key === "ceiling" ? 0 : key === "service" ? 1_000_000 : 2_000_000),
        });
      }
      await waitForCatchUp(service, 120_000);

      const samples: Record<Key, [Sample, Sample]> = {
        ceiling: [new Sample(), new Sample()],
        service: [new Sample(), new Sample()],
        emmett: [new Sample(), new Sample()],
      };
      const runs: Record<Key, LoadResult[]> = { ceiling: [], service: [], emmett: [] };
      let offset = 10_000_000;
      for (let r = 0; r < rounds; r++) {
        // Rotate the order so that no target always follows the same one.
        const order = targets.map((_, i) => targets[(i + r) % targets.length] as [Key, BenchChild]);
        for (const [key, target] of order) {
          const [all, ok] = samples[key];
          const result = await prof.window(target.pid, `${key} under reserve load, round ${r + 1}`, () =>
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
          log(`  round ${r + 1} ${key}: ${describeLoad(result)}`);
          if (key === "service") await waitForCatchUp(service, 300_000);
        }
      }
      const merged = {
        ceiling: mergeLoads("ceiling", runs.ceiling, ...samples.ceiling),
        service: mergeLoads("service", runs.service, ...samples.service),
        emmett: mergeLoads("emmett", runs.emmett, ...samples.emmett),
      };
      for (const key of ["ceiling", "service", "emmett"] as const)
        log(`  ${key}, all rounds: ${describeLoad(merged[key])}`);
      const serviceVsCeiling = ratio(merged.service.rps2xx, merged.ceiling.rps2xx);
      const emmettVsCeiling = ratio(merged.emmett.rps2xx, merged.ceiling.rps2xx);
      const serviceVsEmmett = ratio(merged.service.rps2xx, merged.emmett.rps2xx);
      const failures = (l: LoadResult) => l.status["5xx"] + l.errors + l.timeouts;
      return {
        name: this.name,
        title: this.title,
        checks: [
          {
            target: "the three answered the same workload side by side (rotating rounds)",
            measured:
              `service ${merged.service.rps2xx}, emmett ${merged.emmett.rps2xx}, ceiling ${merged.ceiling.rps2xx} req/s; ` +
              `5xx/errors/timeouts: service ${failures(merged.service)}, emmett ${failures(merged.emmett)}`,
            pass: merged.service.rps2xx > 0 && merged.emmett.rps2xx > 0,
          },
          {
            target: "ratios reported",
            measured:
              `service/ceiling ${Math.round(serviceVsCeiling * 100)}%, emmett/ceiling ${Math.round(emmettVsCeiling * 100)}%, ` +
              `service/emmett ${serviceVsEmmett}× (p99: service ${merged.service.latency.p99} ms, emmett ${merged.emmett.latency.p99} ms)`,
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
          ratios: { serviceVsCeiling, emmettVsCeiling, serviceVsEmmett },
          perRound: {
            ceiling: runs.ceiling.map((r) => r.rps2xx),
            service: runs.service.map((r) => r.rps2xx),
            emmett: runs.emmett.map((r) => r.rps2xx),
          },
        },
        profiles: prof.summaries,
      };
    } finally {
      for (const client of clients) client.close();
      for (const child of [children.emmett, children.service, children.ceiling]) await child?.stop();
      data.remove();
      peerData.remove();
    }
  },
};
