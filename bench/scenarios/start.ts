import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SqliteEventStore } from "../../event-store/embedded/sqlite-event-store.js";
import { PROJECT_ROOT } from "../../test-support/process.js";
import { ensureBuilt, PARTS } from "../../tools/build.js";
import { lotIds } from "../lib/domain.js";
import { log, progress } from "../lib/log.js";
import { benchDataDir, spawnNode } from "../lib/processes.js";
import { seedEventLog } from "../lib/seed-events.js";
import { fmtInt, median } from "../lib/stats.js";
import type { Scenario, ScenarioOutcome } from "./scenario.js";

const ROUNDS = 3;

/**
 * One start of the production build (`node dist/app/main.js`, as `npm start` and the image run it)
 * on `dataDir`: milliseconds from spawn to the first 200 of /healthz (asked every 10 ms), then a
 * graceful stop.
 */
async function startToHealthy(dataDir: string, env: Record<string, string> = {}): Promise<number> {
  const started = performance.now();
  const service = await spawnNode({
    label: "service (dist)",
    script: "dist/app/main.js",
    plainNode: true,
    pollMs: 10,
    env: { ROLE: "all", DATA_DIR: dataDir, SHUTDOWN_DRAIN_MS: "0", ...env },
  });
  const ms = performance.now() - started;
  await service.stop();
  return Math.round(ms);
}

/** Waits until /readyz answers 200 (the projections within READY_MAX_LAG of the head). */
async function untilReady(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const response = await fetch(`${url}/readyz`).catch(() => undefined);
    await response?.arrayBuffer();
    if (response?.ok) return;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  throw new Error("the service did not catch up with the seeded log in time");
}

/**
 * The DATA_DIR of a service that has written `total` events and caught up with them, built once
 * and kept under bench/results (a million events take minutes to seed and project): the log
 * seeded as in the replay scenario, then the service started on it until /readyz says its
 * projections reached the head (READY_MAX_LAG=0), and stopped.
 */
async function seededDataDir(total: number): Promise<string> {
  const dir = join(PROJECT_ROOT, "bench", "results", `start-data-${total}`);
  const done = join(dir, ".complete");
  if (existsSync(done)) return dir;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const store = SqliteEventStore.open({ file: join(dir, "events.sqlite") });
  const bar = progress(`seeding ${fmtInt(total)} events for the start`);
  try {
    await seedEventLog(store, {
      lots: lotIds(1000),
      total,
      onProgress: (n) => bar.update(`${fmtInt(n)} / ${fmtInt(total)} events`),
    });
  } finally {
    await store.close();
  }
  bar.done(`${fmtInt(total)} events seeded`);
  const catchUp = Date.now();
  const service = await spawnNode({
    label: "service (catching up)",
    script: "dist/app/main.js",
    plainNode: true,
    env: { ROLE: "all", DATA_DIR: dir, READY_MAX_LAG: "0", SHUTDOWN_DRAIN_MS: "0" },
  });
  try {
    await untilReady(service.url, 60 * 60_000);
  } finally {
    await service.stop();
  }
  log(
    `projections caught up with ${fmtInt(total)} events in ${((Date.now() - catchUp) / 1000).toFixed(0)} s`,
  );
  writeFileSync(done, `${new Date().toISOString()}\n`);
  return dir;
}

/**
 * Start to healthy (issue 50): the production build on the embedded stores, on an empty DATA_DIR
 * (a new one each round: the first start also creates the stores and the development issuer's
 * key) and on one holding 1,000,000 events its projections have caught up with (100,000 with
 * --quick). Targets: ≤ 1 s empty, ≤ 2 s with the million.
 */
export const startScenario: Scenario = {
  name: "start",
  title: "Start to healthy (production build, embedded stores)",
  async run(ctx): Promise<ScenarioOutcome> {
    await ensureBuilt(PARTS.server);
    const total = ctx.quick ? 100_000 : 1_000_000;
    const empty: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const data = benchDataDir("start");
      try {
        empty.push(await startToHealthy(data.dir));
      } finally {
        data.remove();
      }
    }
    const seeded = await seededDataDir(total);
    const full: number[] = [];
    for (let round = 0; round < ROUNDS; round++) full.push(await startToHealthy(seeded));
    const emptyMs = median(empty);
    const fullMs = median(full);
    return {
      checks: [
        {
          target: "start to healthy ≤ 1 s on an empty DATA_DIR (median of 3)",
          measured: `${emptyMs} ms (${empty.join(" · ")})`,
          pass: emptyMs <= 1000,
        },
        {
          target: `start to healthy ≤ 2 s with ${fmtInt(total)} events (median of 3)`,
          measured: `${fullMs} ms (${full.join(" · ")})`,
          pass: fullMs <= 2000,
        },
      ],
      figures: { emptyMs: empty, events: total, withEventsMs: full },
    };
  },
};
