import { setTimeout as sleep } from "node:timers/promises";
import type { ReservationView } from "../../schemas/read-models.js";
import { lotIds, reserveBody } from "../lib/domain.js";
import { achievedRate, fixedRate, nowMs, rateFigures } from "../lib/fixed-rate.js";
import { HttpClient } from "../lib/http.js";
import { log } from "../lib/log.js";
import { cpuMeter } from "../lib/process-stats.js";
import { benchDataDir, startService } from "../lib/processes.js";
import { registerLots, waitForCatchUp } from "../lib/service-api.js";
import { fmtInt, Sample } from "../lib/stats.js";
import { CAPACITY, LOTS } from "./reserve.js";
import type { Scenario, ScenarioResult } from "./scenario.js";

const RATE = 500;
const COUPON_SAMPLE_EVERY = 25;
/** Reservations made one at a time on the idle service (after the warm-up), ack→visible each. */
const IDLE_RESERVATIONS = 400;

interface Accepted {
  readonly reservationId: string;
  readonly position: string;
}

/**
 * 5. End-to-end lag at a steady 500 reservations/s (open loop, spread over 1000 lots): for each
 * acknowledged reservation, the time from the acknowledgement until the query API shows it. The
 * query asks GET /reservations/{id}?minPosition={the command's position}, which the service answers
 * as soon as the reservations projection has applied that position. For 1 in 25 reservations, the
 * time until its coupon (issued asynchronously by the coupon policy) shows too, by polling.
 */
export const lagScenario: Scenario = {
  name: "lag",
  title: "End-to-end lag at 500 reservations/s",
  async run(ctx): Promise<ScenarioResult> {
    const durationSec = ctx.quick ? 5 : 30;
    const lots = lotIds(LOTS);
    const data = benchDataDir("lag");
    const service = await startService(data.dir);
    const http = new HttpClient(service.url, 256);
    const ack = new Sample();
    const visible = new Sample();
    const idleVisible = new Sample();
    const coupon = new Sample();
    const failures: Record<string, number> = {};
    const fail = (what: string) => {
      failures[what] = (failures[what] ?? 0) + 1;
    };
    let run: Awaited<ReturnType<typeof fixedRate>>;
    let serverCpuPct = 0;
    const drive = (offset: number, record: boolean) => (index: number, scheduledAt: number) =>
      (async () => {
        const n = offset + index;
        const lot = lots[(n * 7919) % lots.length] as string;
        const reserved = await http.post(`/parking-lots/${lot}/reservations`, JSON.parse(reserveBody(n)));
        const ackedAt = nowMs();
        if (reserved.status !== 201) return fail(`reserve ${reserved.status}`);
        if (record) ack.add(ackedAt - scheduledAt);
        const { reservationId, position } = JSON.parse(reserved.body) as Accepted;
        const seen = await http.get(`/reservations/${reservationId}?minPosition=${position}`);
        const seenAt = nowMs();
        if (seen.status !== 200) return fail(`read-your-writes ${seen.status}`);
        if ((JSON.parse(seen.body) as ReservationView).status !== "RESERVED") return fail("wrong status");
        if (record) visible.add(seenAt - ackedAt);
        if (record && index % COUPON_SAMPLE_EVERY === 0) {
          // Poll with a pause of a tenth of the time waited so far (≥ 5 ms): ≤ 10% error, bounded load.
          while (nowMs() - ackedAt < 10_000) {
            const view = await http.get(`/reservations/${reservationId}`);
            if (
              view.status === 200 &&
              (JSON.parse(view.body) as ReservationView).coupon?.status === "ISSUED"
            ) {
              coupon.add(nowMs() - ackedAt);
              return;
            }
            await sleep(Math.max(5, (nowMs() - ackedAt) / 10));
          }
          fail("coupon not visible within 10 s");
        }
      })().catch((error: unknown) =>
        fail(`request failed: ${error instanceof Error ? error.message : String(error)}`),
      );
    try {
      await registerLots(http, lots, CAPACITY);
      await waitForCatchUp(http, 60_000);
      await fixedRate({
        rate: RATE,
        durationSec: ctx.quick ? 2 : 5,
        maxInFlight: 1000,
        task: drive(0, false),
      });
      await waitForCatchUp(http, 60_000);
      await oneAtATime(http, lots, ctx.quick ? 100 : IDLE_RESERVATIONS, idleVisible, fail);
      await waitForCatchUp(http, 60_000);
      const cpu = cpuMeter(service.pid);
      run = await fixedRate({ rate: RATE, durationSec, maxInFlight: 1000, task: drive(10_000_000, true) });
      serverCpuPct = cpu();
    } finally {
      http.close();
      await service.stop();
      data.remove();
    }
    const lag = visible.summary();
    const idle = idleVisible.summary();
    const acks = ack.summary();
    const coupons = coupon.summary();
    const achieved = achievedRate(run);
    log(
      `  one at a time on the idle service: ack→visible p50 ${idle.p50} / p99 ${idle.p99} / max ${idle.max} ms`,
    );
    log(
      `  ${fmtInt(run.launched)} reservations at ${achieved}/s (server cpu ${serverCpuPct}%): ack p50 ${acks.p50} / p99 ${acks.p99} ms; ack→visible p50 ${lag.p50} / p99 ${lag.p99} / max ${lag.max} ms; ack→coupon visible p50 ${coupons.p50} / p99 ${coupons.p99} ms`,
    );
    const failed = Object.values(failures).reduce((a, b) => a + b, 0);
    return {
      name: this.name,
      title: this.title,
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
        ...rateFigures(RATE, durationSec, run),
        failures,
        ackLatencyMs: acks,
        ackToVisibleMs: lag,
        idleAckToVisibleMs: idle,
        ackToCouponVisibleMs: coupons,
        serverCpuPct,
      },
    };
  },
};

/** One reservation at a time (the next once the previous is visible): ack→visible on an idle service. */
async function oneAtATime(
  http: HttpClient,
  lots: readonly string[],
  count: number,
  visible: Sample,
  fail: (what: string) => void,
): Promise<void> {
  for (let i = 0; i < count; i++) {
    const n = 20_000_000 + i;
    const lot = lots[(n * 7919) % lots.length] as string;
    const reserved = await http.post(`/parking-lots/${lot}/reservations`, JSON.parse(reserveBody(n)));
    const ackedAt = nowMs();
    if (reserved.status !== 201) {
      fail(`reserve ${reserved.status}`);
      continue;
    }
    const { reservationId, position } = JSON.parse(reserved.body) as Accepted;
    const seen = await http.get(`/reservations/${reservationId}?minPosition=${position}`);
    if (seen.status !== 200) fail(`read-your-writes ${seen.status}`);
    else visible.add(nowMs() - ackedAt);
    await sleep(2); // idle between reservations: the processors have nothing else to do
  }
}
