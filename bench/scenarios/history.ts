import { join } from "node:path";
import { SqliteDocumentStore } from "../../document-store/embedded/sqlite-document-store.js";
import { SqliteEventStore } from "../../event-store/embedded/sqlite-event-store.js";
import { COUPON_POLICY } from "../../projections/coupon-policy/coupon-policy.js";
import { checkpointOp } from "../../projections/runtime/checkpoints.js";
import { LOT_SNAPSHOTS } from "../../write-side/document-snapshot-store.js";
import { reserveBody } from "../lib/domain.js";
import { HttpClient } from "../lib/http.js";
import { log, progress } from "../lib/log.js";
import { benchDataDir, startService } from "../lib/processes.js";
import { seedEventLog } from "../lib/seed-events.js";
import { waitForCatchUp } from "../lib/service-api.js";
import { fmtInt, median, round } from "../lib/stats.js";
import type { Scenario, ScenarioOutcome } from "./scenario.js";

/** 20,000 and 100,000 past reservations, each reserved and canceled (its coupon issued and revoked). */
const MID_LOT = "history-20k";
const MID_RESERVATIONS = 20_000;
const LONG_LOT = "history-100k";
const LONG_RESERVATIONS = 100_000;

/**
 * The first command on a long lot in a fresh process (nothing cached, nothing warmed by an earlier
 * request: the command is the process's first request, so the process's own warm-up is included),
 * `rounds` times per lot, the lots' order alternating. LOT_SNAPSHOT_EVERY=0 meanwhile, so that no
 * snapshot is made (or remade) while measuring; the lots load from the snapshots the catch-up made.
 */
async function coldFirstCommands(dataDir: string, rounds: number): Promise<Record<string, number[]>> {
  const cold: Record<string, number[]> = { [MID_LOT]: [], [LONG_LOT]: [] };
  let i = 0;
  for (let r = 0; r < rounds; r++) {
    for (const lot of r % 2 === 0 ? [MID_LOT, LONG_LOT] : [LONG_LOT, MID_LOT]) {
      const service = await startService(dataDir, {
        env: { LOT_SNAPSHOT_EVERY: "0" },
        label: `service (cold, ${lot})`,
      });
      const http = new HttpClient(service.url);
      try {
        const response = await http.post(
          `/parking-lots/${lot}/reservations`,
          JSON.parse(reserveBody(4_000_000 + i++)),
        );
        if (response.status !== 201)
          throw new Error(`cold reservation on ${lot}: ${response.status} ${response.body}`);
        cold[lot]?.push(round(response.ms));
      } finally {
        http.close();
        await service.stop();
      }
      log(`  cold round ${r + 1}: the first request of a fresh process, on ${lot}: ${cold[lot]?.at(-1)} ms`);
    }
  }
  return cold;
}

/**
 * 3. The cold lot: the first command on a lot of 20,000 and of 100,000 past reservations (40,000
 * and 200,000 events, seeded straight into the event store before the service starts) as the
 * first request of a fresh process (issue 21, target 5), the lots alternating.
 */
export const historyScenario: Scenario = {
  name: "history",
  title: "The first command on a lot of 20,000 and of 100,000 past reservations, in a fresh process",
  async run(ctx): Promise<ScenarioOutcome> {
    const data = benchDataDir("history");
    const store = SqliteEventStore.open({ file: join(data.dir, "events.sqlite") });
    const seedStarted = Date.now();
    const bar = progress("seeding");
    try {
      try {
        for (const [lot, reservations] of [
          [MID_LOT, MID_RESERVATIONS],
          [LONG_LOT, LONG_RESERVATIONS],
        ] as const)
          await seedEventLog(store, {
            lots: [lot],
            total: 1 + 4 * reservations,
            cancelEvery: 1,
            onProgress: (n) => bar.update(`${lot}: ${fmtInt(n)} / ${fmtInt(1 + 4 * reservations)} events`),
          });
        // The coupons of the seeded reservations are in the log already: the coupon policy starts at
        // the head, as it would have if it had issued them itself (the projectors still catch up).
        const head = await store.headPosition();
        const documents = SqliteDocumentStore.open({ file: join(data.dir, "read-models.sqlite") });
        try {
          await documents.write([checkpointOp(COUPON_POLICY, 1, { position: head, state: "running" })]);
        } finally {
          await documents.close();
        }
      } finally {
        await store.close();
      }
      const seedSec = (Date.now() - seedStarted) / 1000;
      bar.done(
        `${LONG_LOT} has ${fmtInt(2 * LONG_RESERVATIONS)} reservation events, ${MID_LOT} ${fmtInt(2 * MID_RESERVATIONS)} (plus their coupon streams) in ${seedSec.toFixed(1)} s`,
      );
      const catchUpMs = await catchUpAndSnapshot(data.dir);
      const cold = await coldFirstCommands(data.dir, ctx.quick ? 1 : 3);
      const coldMid = cold[MID_LOT] ?? [];
      const coldLong = cold[LONG_LOT] ?? [];
      return {
        checks: [
          {
            target:
              "first command on a lot of 20,000 and of 100,000 past reservations ≤ 50 ms (the first request of a fresh process)",
            measured: `median ${median(coldMid)} ms (${coldMid.join(", ")}) and ${median(coldLong)} ms (${coldLong.join(", ")})`,
            pass: median(coldMid) <= 50 && median(coldLong) <= 50,
          },
        ],
        figures: {
          seedSec,
          catchUpOnStartMs: catchUpMs,
          coldFirstCommandMs: cold,
          coldFirstCommandMedianMs: { [MID_LOT]: median(coldMid), [LONG_LOT]: median(coldLong) },
        },
      };
    } finally {
      data.remove();
    }
  },
};

/**
 * A first process catches up on the seeded history: the projections, and the lot snapshotter,
 * which snapshots the long lot (it has grown by far more than LOT_SNAPSHOT_EVERY). Returns how
 * long the catch-up took.
 */
async function catchUpAndSnapshot(dataDir: string): Promise<number> {
  const first = await startService(dataDir, { label: "service (catching up)" });
  const http = new HttpClient(first.url);
  let catchUpMs: number;
  try {
    const catchUp = progress("service catching up on the seeded history");
    catchUpMs = await waitForCatchUp(http, 600_000, (lag) => catchUp.update(`lag ${fmtInt(lag)} events`));
    catchUp.done(`caught up in ${(catchUpMs / 1000).toFixed(1)} s (projections and lot snapshots)`);
  } finally {
    http.close();
    await first.stop();
  }
  const documents = SqliteDocumentStore.open({ file: join(dataDir, "read-models.sqlite") });
  try {
    const header = await documents.findById(LOT_SNAPSHOTS, LONG_LOT);
    if (!header) throw new Error(`no snapshot of ${LONG_LOT} after the catch-up`);
    log(`  ${LONG_LOT} snapshotted at revision ${fmtInt(Number(header.revision))}`);
  } finally {
    await documents.close();
  }
  return catchUpMs;
}
