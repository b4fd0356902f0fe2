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
} from "../lib/processes.js";
import { loadInRounds, ROUND_SECONDS, type SideLoad } from "../lib/rounds.js";
import {
  CAPACITY,
  caughtUpAfterRound,
  registerLots,
  waitForCatchUp,
  withService,
} from "../lib/service-api.js";
import { ratio } from "../lib/stats.js";
import { CONNECTIONS, LOTS, reserveRounds, spreadRequests, warmUp } from "./reserve.js";
import type { Scenario, ScenarioOutcome } from "./scenario.js";

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
  async run(ctx): Promise<ScenarioOutcome> {
    ensureEmmettPeerInstalled();
    const lots = lotIds(LOTS);
    const rounds = reserveRounds(ctx);
    const peerData = {
      emmett: benchDataDir("peers-emmett"),
      emmettTuned: benchDataDir("peers-emmett-tuned"),
    };
    const children: BenchChild[] = [];
    try {
      const ceiling = await startCeilingServer();
      children.push(ceiling);
      const peers = {} as Record<Peer, BenchChild>;
      for (const [peer, connection] of Object.entries(PEERS) as [Peer, string][]) {
        peers[peer] = await startEmmettPeer(peerData[peer].dir, connection);
        children.push(peers[peer]);
        const client = new HttpClient(peers[peer].url);
        await registerLots(client, lots, CAPACITY).finally(() => client.close());
      }
      return await withService("peers-service", lots, async (service, http) => {
        const servers: Record<Key, BenchChild> = { ceiling, service, ...peers };
        for (const [index, key] of KEYS.entries())
          await warmUp(ctx, key, servers[key].url, spreadRequests(lots, index * 1_000_000));
        await waitForCatchUp(http, 120_000);
        const side = (key: Key) => ({
          title: key,
          server: servers[key],
          line: key,
          requests: (_round: number, run: number) => ({
            next: spreadRequests(lots, 10_000_000 + run * 1_000_000),
          }),
        });
        const sides = await loadInRounds(rounds, CONNECTIONS, {
          ceiling: side("ceiling"),
          service: { ...side("service"), after: () => caughtUpAfterRound(http) },
          emmett: side("emmett"),
          emmettTuned: side("emmettTuned"),
        });
        return report(sides, rounds);
      });
    } finally {
      for (const child of children.reverse()) await child.stop();
      for (const dir of Object.values(peerData)) dir.remove();
    }
  },
};

function report(sides: Record<Key, SideLoad>, rounds: number): ScenarioOutcome {
  const merged = Object.fromEntries(KEYS.map((key) => [key, sides[key].load])) as Record<Key, LoadResult>;
  for (const key of KEYS) log(`  ${key}, all rounds: ${describeLoad(merged[key])}`);
  const serviceVsCeiling = ratio(merged.service.rps2xx, merged.ceiling.rps2xx);
  const emmettVsCeiling = ratio(merged.emmett.rps2xx, merged.ceiling.rps2xx);
  const serviceVsEmmett = ratio(merged.service.rps2xx, merged.emmett.rps2xx);
  const serviceVsEmmettTuned = ratio(merged.service.rps2xx, merged.emmettTuned.rps2xx);
  // Each round's ratio (the sides of one rotation ran within seconds of each other): their spread
  // is the interval to read the run's ratio with, on a machine whose speed drifts between minutes.
  const perRound = (a: Key, b: Key) =>
    sides[a].rounds.map((r, i) => ratio(r.rps2xx, sides[b].rounds[i]?.rps2xx ?? 0));
  const spread = (values: readonly number[]) => `rounds ${values.map((v) => `${v}×`).join(", ")}`;
  const roundRatios = {
    serviceVsEmmettTuned: perRound("service", "emmettTuned"),
    serviceVsCeiling: perRound("service", "ceiling"),
  };
  const failures = (l: LoadResult) => l.status["5xx"] + l.errors + l.timeouts;
  return {
    checks: [
      {
        target: "each answered the same workload side by side (rotating rounds); ratios",
        measured:
          `service ${merged.service.rps2xx}, emmett ${merged.emmett.rps2xx}, emmett tuned ${merged.emmettTuned.rps2xx}, ` +
          `ceiling ${merged.ceiling.rps2xx} req/s; 5xx/errors/timeouts: service ${failures(merged.service)}, ` +
          `emmett ${failures(merged.emmett)}, emmett tuned ${failures(merged.emmettTuned)}; ` +
          `service/ceiling ${Math.round(serviceVsCeiling * 100)}% (${spread(roundRatios.serviceVsCeiling)}), ` +
          `service/emmett ${serviceVsEmmett}×, service/emmett tuned ${serviceVsEmmettTuned}× (${spread(roundRatios.serviceVsEmmettTuned)})`,
        pass: merged.service.rps2xx > 0 && merged.emmett.rps2xx > 0 && merged.emmettTuned.rps2xx > 0,
      },
    ],
    figures: {
      lots: LOTS,
      rounds,
      roundSec: ROUND_SECONDS,
      ...Object.fromEntries(KEYS.map((key) => [key, merged[key]])),
      ratios: { serviceVsCeiling, emmettVsCeiling, serviceVsEmmett, serviceVsEmmettTuned },
      roundRatios,
      perRound: Object.fromEntries(KEYS.map((key) => [key, sides[key].rounds.map((r) => r.rps2xx)])),
    },
  };
}
