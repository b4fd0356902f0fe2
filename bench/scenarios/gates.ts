import { carNumber, reserveBody } from "../lib/domain.js";
import { achievedRate, fixedRate } from "../lib/fixed-rate.js";
import { forEachConcurrently } from "../lib/http.js";
import { log } from "../lib/log.js";
import { withService } from "../lib/service-api.js";
import { summarize } from "../lib/stats.js";
import type { Scenario, ScenarioOutcome } from "./scenario.js";

const LOT = "gate-lot";
const RATE = 50;

/**
 * Issue 49, item 4: a barrier waits on the gate's answer. A lot of 20,000 active open-ended
 * bookings (2,000 with --quick), then plate reads at a fixed 50 per second (open loop): each an
 * entry of a booked plate (the lot finds it through its plate index and checks it in). p99 of the
 * answer, measured from when each read was due.
 */
export const gatesScenario: Scenario = {
  name: "gates",
  title: "Gate decisions at 50 reads/s on a lot of 20,000 bookings",
  async run(ctx): Promise<ScenarioOutcome> {
    const bookings = ctx.quick ? 2_000 : 20_000;
    const seconds = ctx.quick ? 5 : 20;
    return withService("gates", [LOT], async (_service, http) => {
      const ids = Array.from({ length: bookings }, (_, i) => i);
      await forEachConcurrently(ids, 32, async (i) => {
        const booked = await http.send(
          "POST",
          `/parking-lots/${LOT}/reservations`,
          JSON.parse(reserveBody(i)),
        );
        if (booked.status !== 201) throw new Error(`booking ${i}: ${booked.status} ${booked.body}`);
      });
      log(`  gates: ${bookings} bookings on ${LOT}`);
      const latencies: number[] = [];
      const decisions: Record<string, number> = {};
      const run = await fixedRate({
        rate: RATE,
        durationSec: seconds,
        maxInFlight: 200,
        task: async (index, scheduledAt) => {
          const answer = await http.send("POST", `/parking-lots/${LOT}/gate-events`, {
            eventId: `bench-${index}`,
            gateId: "north",
            direction: "entry",
            plate: carNumber((index * 7919) % bookings),
            confidence: 0.95,
            at: new Date().toISOString(),
          });
          latencies.push(Number(process.hrtime.bigint()) / 1e6 - scheduledAt);
          const decision =
            answer.status === 200
              ? (JSON.parse(answer.body) as { decision: string }).decision
              : `${answer.status}`;
          decisions[decision] = (decisions[decision] ?? 0) + 1;
        },
      });
      const latency = summarize(latencies);
      log(`  gates: ${JSON.stringify(latency)} ${JSON.stringify(decisions)}`);
      return {
        checks: [
          {
            target: `gate decision p99 ≤ 100 ms at ${RATE} reads/s on ${bookings} bookings`,
            measured: `p50 ${latency.p50} ms, p99 ${latency.p99} ms at ${achievedRate(run)} reads/s (${run.dropped} dropped; ${JSON.stringify(decisions)})`,
            pass: latency.p99 <= 100 && run.dropped === 0 && decisions.open === latencies.length,
          },
        ],
        figures: { bookings, rate: RATE, seconds, latency, decisions, achievedRate: achievedRate(run) },
      };
    });
  },
};
