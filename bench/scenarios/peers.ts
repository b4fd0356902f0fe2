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
  startEmmettPostgresPeer,
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

/** The two Emmett peers on SQLite and their EMMETT_CONNECTION (bench/peers/emmett/server.ts). */
const SQLITE_PEERS = { emmett: "per-call", emmettTuned: "kept-open" } as const;
type Key = string;

/**
 * 7. The peer: the reserve workload of scenario 1 (64 connections, 1,000 lots) against the
 * service, against the same endpoints built on Emmett (its decider, command handler and SQLite
 * event store: bench/peers/emmett) twice, as documented (a connection per call) and tuned by hand
 * (one connection kept open), and against the bare-express ceiling, all four running side by side
 * and loaded in rotating rounds. The service does everything it normally does (read models,
 * coupon policy, logs, metrics); the peers only append the reservation. With the service on
 * PostgreSQL (DATABASE_URL, as `bench/postgres.ts --only peers` runs it), the peer is Emmett on
 * its PostgreSQL event store (bench/peers/emmett-postgresql), in its own database of the same
 * server (BENCH_EMMETT_POSTGRES_URL).
 */
async function startPeers(dirs: { remove(): void }[]): Promise<Record<string, BenchChild>> {
  if (process.env.DATABASE_URL) {
    const url = process.env.BENCH_EMMETT_POSTGRES_URL;
    if (!url)
      throw new Error("the peers on PostgreSQL need BENCH_EMMETT_POSTGRES_URL (bench/postgres.ts sets it)");
    return { emmettPostgres: await startEmmettPostgresPeer(url) };
  }
  ensureEmmettPeerInstalled();
  const peers: Record<string, BenchChild> = {};
  for (const [peer, connection] of Object.entries(SQLITE_PEERS)) {
    const data = benchDataDir(`peers-${peer}`);
    dirs.push(data);
    peers[peer] = await startEmmettPeer(data.dir, connection);
  }
  return peers;
}

export const peersScenario: Scenario = {
  name: "peers",
  title: "The service beside an Emmett peer and the HTTP ceiling",
  async run(ctx): Promise<ScenarioOutcome> {
    const lots = lotIds(LOTS);
    const rounds = reserveRounds(ctx);
    const children: BenchChild[] = [];
    const dirs: { remove(): void }[] = [];
    try {
      const ceiling = await startCeilingServer();
      children.push(ceiling);
      const peers = await startPeers(dirs);
      children.push(...Object.values(peers));
      for (const peer of Object.values(peers)) {
        const client = new HttpClient(peer.url);
        await registerLots(client, lots, CAPACITY).finally(() => client.close());
      }
      return await withService("peers-service", lots, async (service, http) => {
        const servers: Record<Key, BenchChild> = { ceiling, service, ...peers };
        const keys = Object.keys(servers);
        for (const [index, key] of keys.entries())
          await warmUp(ctx, key, (servers[key] as BenchChild).url, spreadRequests(lots, index * 1_000_000));
        await waitForCatchUp(http, 120_000);
        const side = (key: Key) => ({
          title: key,
          server: servers[key] as BenchChild,
          line: key,
          requests: (_round: number, run: number) => ({
            next: spreadRequests(lots, 10_000_000 + run * 1_000_000),
          }),
          ...(key === "service" ? { after: () => caughtUpAfterRound(http) } : {}),
        });
        const sides = await loadInRounds(
          rounds,
          CONNECTIONS,
          Object.fromEntries(keys.map((k) => [k, side(k)])),
        );
        return report(sides, keys, rounds);
      });
    } finally {
      for (const child of children.reverse()) await child.stop();
      for (const dir of dirs) dir.remove();
    }
  },
};

function report(sides: Record<Key, SideLoad>, keys: readonly Key[], rounds: number): ScenarioOutcome {
  const merged = Object.fromEntries(keys.map((key) => [key, (sides[key] as SideLoad).load])) as Record<
    Key,
    LoadResult
  >;
  const rps = (key: Key) => (merged[key] as LoadResult).rps2xx;
  for (const key of keys) log(`  ${key}, all rounds: ${describeLoad(merged[key] as LoadResult)}`);
  const peers = keys.filter((k) => k !== "ceiling" && k !== "service");
  // Each round's ratio (the sides of one rotation ran within seconds of each other): their spread
  // is the interval to read the run's ratio with, on a machine whose speed drifts between minutes.
  const perRound = (a: Key, b: Key) =>
    (sides[a] as SideLoad).rounds.map((r, i) =>
      ratio(r.rps2xx, (sides[b] as SideLoad).rounds[i]?.rps2xx ?? 0),
    );
  const spread = (values: readonly number[]) => `rounds ${values.map((v) => `${v}×`).join(", ")}`;
  const roundRatios = Object.fromEntries(
    ["ceiling", ...peers].map((k) => [
      `serviceVs${k[0]?.toUpperCase()}${k.slice(1)}`,
      perRound("service", k),
    ]),
  );
  const ratios = Object.fromEntries([
    ...["ceiling", ...peers].map((k) => [
      `serviceVs${k[0]?.toUpperCase()}${k.slice(1)}`,
      ratio(rps("service"), rps(k)),
    ]),
    ...peers.map((k) => [`${k}VsCeiling`, ratio(rps(k), rps("ceiling"))]),
  ]);
  const failures = (l: LoadResult) => l.status["5xx"] + l.errors + l.timeouts;
  return {
    checks: [
      {
        target: "each answered the same workload side by side (rotating rounds); ratios",
        measured: [
          `${keys.map((k) => `${k} ${rps(k)}`).join(", ")} req/s`,
          `5xx/errors/timeouts: ${keys
            .filter((k) => k !== "ceiling")
            .map((k) => `${k} ${failures(merged[k] as LoadResult)}`)
            .join(", ")}`,
          ...["ceiling", ...peers].map((k) => {
            const name = `serviceVs${k[0]?.toUpperCase()}${k.slice(1)}`;
            return `service/${k} ${ratios[name]}× (${spread(roundRatios[name] ?? [])})`;
          }),
        ].join("; "),
        pass: keys.every((k) => rps(k) > 0),
      },
    ],
    figures: {
      lots: LOTS,
      rounds,
      roundSec: ROUND_SECONDS,
      ...merged,
      ratios,
      roundRatios,
      perRound: Object.fromEntries(
        keys.map((key) => [key, (sides[key] as SideLoad).rounds.map((r) => r.rps2xx)]),
      ),
    },
  };
}
