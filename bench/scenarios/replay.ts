import { spawn } from "node:child_process";
import { join } from "node:path";
import { SqliteEventStore } from "../../event-store/embedded/sqlite-event-store.js";
import { PROJECT_ROOT } from "../../test-support/process.js";
import { lotIds } from "../lib/domain.js";
import { progress } from "../lib/log.js";
import { memoryOf } from "../lib/process-stats.js";
import { benchDataDir } from "../lib/processes.js";
import type { WorkerReport } from "../lib/replay-worker.js";
import { seedEventLog } from "../lib/seed-events.js";
import { fmtInt, ratio } from "../lib/stats.js";
import type { Scenario, ScenarioOutcome } from "./scenario.js";

/** Runs bench/lib/replay-worker.ts on the data directory; its peak memory is its own VmHWM at the end. */
function runWorker(dataDir: string) {
  return new Promise<{ report: WorkerReport; hwmMiB: number }>((resolve, reject) => {
    const child = spawn(process.execPath, ["--expose-gc", "--import", "tsx", "bench/lib/replay-worker.ts"], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, DATA_DIR: dataDir },
      stdio: ["ignore", "pipe", "inherit"],
    });
    let stdout = "";
    let hwmMiB = 0;
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      // The report is the last thing the worker does: read VmHWM before it exits.
      hwmMiB = memoryOf(child.pid as number)?.hwmMiB ?? hwmMiB;
    });
    child.once("exit", (code) => {
      if (code !== 0) return reject(new Error(`replay worker exited with ${code}`));
      resolve({ report: JSON.parse(stdout.trim().split("\n").pop() ?? "{}") as WorkerReport, hwmMiB });
    });
  });
}

/**
 * 4. Projection replay: rebuild every read model from the whole log (1,000,000 events; 100,000
 * with --quick), and in the same run read all events raw from the store; events/s of both and the
 * peak RSS of the process doing it.
 */
export const replayScenario: Scenario = {
  name: "replay",
  title: "Projection replay vs raw read of the log",
  async run(ctx): Promise<ScenarioOutcome> {
    const total = ctx.quick ? 100_000 : 1_000_000;
    const data = benchDataDir("replay");
    const lots = lotIds(1000);
    try {
      const store = SqliteEventStore.open({ file: join(data.dir, "events.sqlite") });
      const bar = progress("seeding the log");
      const started = Date.now();
      let seeded: { events: number; reservations: number };
      try {
        seeded = await seedEventLog(store, {
          lots,
          total,
          onProgress: (n) => bar.update(`${fmtInt(n)} / ${fmtInt(total)} events`),
        });
      } finally {
        await store.close();
      }
      const seedSec = (Date.now() - started) / 1000;
      bar.done(
        `${fmtInt(seeded.events)} events (${fmtInt(lots.length)} lots, ${fmtInt(seeded.reservations)} reservations with coupons, 1 in 10 canceled) in ${seedSec.toFixed(1)} s = ${fmtInt(seeded.events / seedSec)} events/s`,
      );

      const { report, hwmMiB } = await runWorker(data.dir);
      const share = ratio(report.rebuild.eventsPerSecond, report.raw.eventsPerSecond, 3);
      return {
        checks: [
          {
            target: "rebuild ≥ 50% of the raw read rate (and the worker's peak RSS)",
            measured: `${fmtInt(report.rebuild.eventsPerSecond)} vs ${fmtInt(report.raw.eventsPerSecond)} events/s = ${(share * 100).toFixed(1)}%; ${hwmMiB} MiB`,
            pass: share >= 0.5 && report.rebuild.events === seeded.events,
          },
        ],
        figures: {
          events: seeded.events,
          seedSec,
          raw: report.raw,
          readAndDecode: report.decoded,
          rebuild: report.rebuild,
          rebuildToRawRatio: share,
          workerVmHWMMiB: hwmMiB,
        },
      };
    } finally {
      data.remove();
    }
  },
};
