import { spawnSync } from "node:child_process";
import { startPostgres } from "../test-support/postgres/cluster.js";

/*
 * Bench scenarios with the service on PostgreSQL (issue 70): a server of Debian's PostgreSQL in a
 * temporary folder on loopback (durable: fsync and synchronous commit on, as in production; `--fast`
 * turns them off as the tests do), a fresh database per scenario, and `bench/run.ts` run once per
 * scenario with DATABASE_URL set, so its service keeps its log and read models there. `--alternate`
 * runs each scenario on the embedded stores too, before and after, in the same run, for the ratio.
 * `--only peers`: the service on PostgreSQL beside Emmett on its PostgreSQL event store
 * (bench/peers/emmett-postgresql, its own database on the same server) and the HTTP ceiling.
 *
 *   npx tsx bench/postgres.ts --only reserve,lag [--quick] [--alternate] [--fast]
 */

const args = process.argv.slice(2);
const flag = (name: string) => args.includes(name);
const onlyAt = args.indexOf("--only");
const scenarios = (onlyAt >= 0 ? (args[onlyAt + 1] ?? "") : "reserve,lag").split(",").filter(Boolean);
const passOn = args.filter(
  (a, i) => !["--only", "--alternate", "--fast"].includes(a) && (onlyAt < 0 || i !== onlyAt + 1),
);

const cluster = await startPostgres({ durable: !flag("--fast") });
const run = async (scenario: string, url?: string) => {
  console.log(`\n=== ${scenario} on ${url ? "PostgreSQL" : "the embedded stores"} ===`);
  const out = spawnSync("npx", ["tsx", "bench/run.ts", "--only", scenario, "--no-wait-load", ...passOn], {
    stdio: "inherit",
    env: {
      ...process.env,
      ...(url ? { DATABASE_URL: url } : {}),
      // The peers scenario's Emmett on PostgreSQL, in a database of its own on the same server.
      ...(url && scenario === "peers"
        ? { BENCH_EMMETT_POSTGRES_URL: await cluster.createDatabase(`bench_emmett_${n++}`) }
        : {}),
    },
  });
  if (out.status !== 0) throw new Error(`bench/run.ts --only ${scenario} exited ${out.status}`);
};
let n = 0;
try {
  for (const scenario of scenarios) {
    if (flag("--alternate")) await run(scenario);
    await run(scenario, await cluster.createDatabase(`bench_${scenario.replace(/\W/g, "_")}_${n++}`));
    if (flag("--alternate")) {
      await run(scenario);
      await run(scenario, await cluster.createDatabase(`bench_${scenario.replace(/\W/g, "_")}_${n++}`));
    }
  }
} finally {
  await cluster.stop();
}
