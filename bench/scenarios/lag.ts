import { setTimeout as sleep } from "node:timers/promises";
import type { ReservationView } from "../../schemas/read-models.js";
import { lotIds } from "../lib/domain.js";
import { achievedRate, fixedRate, nowMs } from "../lib/fixed-rate.js";
import type { HttpClient } from "../lib/http.js";
import { log } from "../lib/log.js";
import { cpuMeter } from "../lib/process-stats.js";
import { reserve, waitForCatchUp, withService } from "../lib/service-api.js";
import { fmtInt, Sample } from "../lib/stats.js";
import { LOTS } from "./reserve.js";
import type { Scenario, ScenarioOutcome } from "./scenario.js";

const RATE = 500;
/** Reservations made one at a time on the idle service (after the warm-up), ack→visible each. */
const IDLE_RESERVATIONS = 400;

/**
 * Reservation `n`, then the query that sees it: GET /reservations/{id}?minPosition={the command's
 * position}, which the service answers as soon as the reservations projection has applied that
 * position. Returns when it was acknowledged and seen (ms), or what failed.
 */
async function reserveAndSee(
  http: HttpClient,
  lots: readonly string[],
  n: number,
): Promise<{ ackedAt: number; seenAt: number } | string> {
  const reserved = await reserve(http, lots, n);
  const ackedAt = nowMs();
  if (reserved.status !== 201) return `reserve ${reserved.status}`;
  const { reservationId, position } = JSON.parse(reserved.body) as {
    reservationId: string;
    position: string;
  };
  const seen = await http.get(`/reservations/${reservationId}?minPosition=${position}`);
  const seenAt = nowMs();
  if (seen.status !== 200) return `read-your-writes ${seen.status}`;
  if ((JSON.parse(seen.body) as ReservationView).status !== "RESERVED") return "wrong status";
  return { ackedAt, seenAt };
}

/**
 * 5. End-to-end lag: for each acknowledged reservation, the time from the acknowledgement until
 * the query API shows it, one at a time on the idle service, then at a steady 500 reservations/s
 * (open loop, spread over 1000 lots).
 */
export const lagScenario: Scenario = {
  name: "lag",
  title: "End-to-end lag at 500 reservations/s",
  run: (ctx) =>
    withService(
      "lag",
      lotIds(LOTS),
      async (service, http): Promise<ScenarioOutcome> => {
        const durationSec = ctx.quick ? 5 : 30;
        const lots = lotIds(LOTS);
        const visible = new Sample();
        const idleVisible = new Sample();
        const failures: Record<string, number> = {};
        const fail = (what: string) => {
          failures[what] = (failures[what] ?? 0) + 1;
        };
        const drive = (offset: number, record: boolean) => async (index: number) => {
          const seen = await reserveAndSee(http, lots, offset + index).catch(
            (error: unknown) => `request failed: ${error instanceof Error ? error.message : String(error)}`,
          );
          if (typeof seen === "string") return fail(seen);
          if (record) visible.add(seen.seenAt - seen.ackedAt);
        };
        await fixedRate({
          rate: RATE,
          durationSec: ctx.quick ? 2 : 5,
          maxInFlight: 1000,
          task: drive(0, false),
        });
        await waitForCatchUp(http, 60_000);
        // One at a time (the next once the previous is visible), idle in between.
        for (let i = 0; i < (ctx.quick ? 100 : IDLE_RESERVATIONS); i++) {
          const seen = await reserveAndSee(http, lots, 20_000_000 + i);
          if (typeof seen === "string") fail(seen);
          else idleVisible.add(seen.seenAt - seen.ackedAt);
          await sleep(2);
        }
        await waitForCatchUp(http, 60_000);
        const cpu = cpuMeter(service.pid);
        const run = await fixedRate({
          rate: RATE,
          durationSec,
          maxInFlight: 1000,
          task: drive(10_000_000, true),
        });
        const serverCpuPct = cpu();
        const lag = visible.summary();
        const idle = idleVisible.summary();
        const achieved = achievedRate(run);
        log(
          `  one at a time on the idle service: ack→visible p50 ${idle.p50} / p99 ${idle.p99} / max ${idle.max} ms`,
        );
        log(
          `  ${fmtInt(run.launched)} reservations at ${achieved}/s (server cpu ${serverCpuPct}%): ack→visible p50 ${lag.p50} / p99 ${lag.p99} / max ${lag.max} ms`,
        );
        const failed = Object.values(failures).reduce((a, b) => a + b, 0);
        return {
          checks: [
            {
              target: "ack→visible p99 ≤ 15 ms one at a time on an idle service",
              measured: `p99 ${idle.p99} ms (p50 ${idle.p50}, max ${idle.max}) over ${fmtInt(idle.count)} reservations`,
              pass: idle.p99 <= 15 && failed === 0,
            },
            {
              target: "ack→visible p99 ≤ 100 ms at 500 req/s",
              measured: `p99 ${lag.p99} ms (p50 ${lag.p50}, max ${lag.max}) over ${fmtInt(lag.count)} reservations at ${achieved}/s`,
              pass: lag.p99 <= 100 && failed === 0 && run.dropped === 0 && achieved >= RATE * 0.95,
            },
          ],
          figures: {
            rate: RATE,
            achievedRate: achieved,
            durationSec,
            reservations: run.launched,
            dropped: run.dropped,
            failures,
            ackToVisibleMs: lag,
            idleAckToVisibleMs: idle,
            serverCpuPct,
          },
        };
      },
      { maxSockets: 256 },
    ),
};
