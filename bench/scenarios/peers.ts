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
import { loadInRounds, perRoundRps, ROUND_SECONDS } from "../lib/rounds.js";
import { CAPACITY, registerLots, waitForCatchUp } from "../lib/service-api.js";
import { ratio } from "../lib/stats.js";
import { CONNECTIONS, LOTS, reserveRounds, spreadRequests, summarizeLoad, warmUp } from "./reserve.js";
import type { Scenario, ScenarioResult } from "./scenario.js";

/** The two Emmett peers and their EMMETT_CONNECTION (bench/peers/emmett/server.ts). */
const PEERS = { emmett: "per-call", emmettTuned: "kept-open" } as const;
type Peer = keyof typeof PEERS;
type Key = "ceiling" | "service" | Peer;
const KEYS: readonly Key[] = ["ceiling", "service", ...(Object.keys(PEERS) as Peer[])];

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
    const data = benchDataDir("peers-service");
    const peerData = {
      emmett: benchDataDir("peers-emmett"),
      emmettTuned: benchDataDir("peers-emmett-tuned"),
    } satisfies Record<Peer, unknown>;
    const children: Partial<Record<Key, BenchChild>> = {};
    const started = (key: Key): BenchChild => {
      const child = children[key];
      if (!child) throw new Error(`the ${key} side did not start`);
      return child;
    };
    const clients: HttpClient[] = [];
    try {
      children.ceiling = await startCeilingServer();
      children.service = await startService(data.dir);
      const service = new HttpClient(children.service.url);
      clients.push(service);
      await registerLots(service, lots, CAPACITY);
      for (const [peer, connection] of Object.entries(PEERS) as [Peer, string][]) {
        const child = await startEmmettPeer(peerData[peer].dir, connection);
        children[peer] = child;
        const client = new HttpClient(child.url);
        clients.push(client);
        await registerLots(client, lots, CAPACITY);
      }
      await waitForCatchUp(service, 60_000);
      for (const [index, key] of KEYS.entries())
        await warmUp(ctx, key, started(key).url, spreadRequests(lots, index * 1_000_000));
      await waitForCatchUp(service, 120_000);

      const side = (key: Key, server: BenchChild) => ({
        title: key,
        server,
        line: key,
        requests: (_round: number, run: number) => ({
          next: spreadRequests(lots, 10_000_000 + run * 1_000_000),
        }),
      });
      const sides = await loadInRounds(rounds, CONNECTIONS, {
        ceiling: side("ceiling", started("ceiling")),
        service: {
          ...side("service", started("service")),
          after: async () => {
            await waitForCatchUp(service, 300_000);
            return undefined;
          },
        },
        emmett: side("emmett", started("emmett")),
        emmettTuned: side("emmettTuned", started("emmettTuned")),
      });
      const merged = Object.fromEntries(KEYS.map((key) => [key, sides[key].load])) as Record<Key, LoadResult>;
      for (const key of KEYS) log(`  ${key}, all rounds: ${describeLoad(merged[key])}`);
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
      };
    } finally {
      for (const client of clients) client.close();
      for (const child of Object.values(children).reverse()) await child?.stop();
      data.remove();
      for (const dir of Object.values(peerData)) dir.remove();
    }
  },
};
