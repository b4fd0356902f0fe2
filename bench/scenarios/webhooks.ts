import { setTimeout as sleep } from "node:timers/promises";
import { lotIds } from "../lib/domain.js";
import { achievedRate, fixedRate, nowMs } from "../lib/fixed-rate.js";
import type { HttpClient } from "../lib/http.js";
import { log } from "../lib/log.js";
import { spawnNode } from "../lib/processes.js";
import { reserve, withService } from "../lib/service-api.js";
import { median, ratio, Sample } from "../lib/stats.js";
import type { Scenario, ScenarioOutcome } from "./scenario.js";

const RATE = 500;
const LOTS = 200;
const ENDPOINTS = 10;
/** Round kinds, alternating: no endpoints, 10 endpoints one of which answers in 5 s, 10 fast ones. */
type Kind = "none" | "slow" | "fast";
const KINDS: readonly Kind[] = ["none", "slow", "fast"];
/** How long deliveries to the fast endpoints are waited for after a round. */
const DRAIN_MS = 4_000;

interface Round {
  readonly kind: Kind;
  readonly commandP99: number;
  /** p99 of ack → received at the fast endpoints (none: no endpoints). */
  readonly lagP99?: number;
  readonly missing: number;
  readonly rate: number;
}

/**
 * Webhooks (issue 35): 500 reservations a second with 10 endpoints subscribed to
 * `reservation.reserved`, one of which answers in 5 s. Alternating short rounds of three kinds (no
 * endpoints; 9 fast + 1 slow; 10 fast), each kind's commands' p99 read against the no-endpoint
 * rounds beside it, and the fast endpoints' delivery lag (ack → received) with the slow one against
 * without it. The receivers are a process of their own (bench/lib/webhook-sink.ts).
 */
export const webhooksScenario: Scenario = {
  name: "webhooks",
  title: "Webhooks at 500 reservations/s: a slow endpoint beside fast ones",
  onlyWhenNamed: true,
  async run(ctx): Promise<ScenarioOutcome> {
    const seconds = ctx.quick ? 4 : 8;
    const cycles = ctx.quick ? 1 : 3;
    const lots = lotIds(LOTS);
    const sink = await spawnNode({ label: "webhook-sink", script: "bench/lib/webhook-sink.ts" });
    const rounds: Round[] = [];
    let offset = 0;
    try {
      await withService(
        "webhooks",
        lots,
        async (_service, http) => {
          for (let cycle = 0; cycle < cycles; cycle++)
            for (const kind of KINDS) {
              const endpoints = await createEndpoints(http, sink.url, kind);
              rounds.push(await measure(http, sink.url, lots, kind, seconds, offset));
              offset += RATE * seconds;
              for (const id of endpoints) await http.send("DELETE", `/webhook-endpoints/${id}`);
              const last = rounds.at(-1) as Round;
              log(
                `  round ${kind}: ${last.rate}/s, command p99 ${last.commandP99} ms, fast endpoints' lag p99 ${last.lagP99 ?? "-"} ms (${last.missing} missing)`,
              );
            }
          rounds.push(await measure(http, sink.url, lots, "none", seconds, offset));
        },
        { env: { WEBHOOK_ALLOW_PRIVATE: "true" }, maxSockets: 256 },
      );
    } finally {
      await sink.stop();
    }
    return report(rounds);
  },
};

/** The endpoints of a round: none, ten fast ones, or nine beside the slow one. */
const endpointNames = (kind: Kind): string[] =>
  kind === "none"
    ? []
    : Array.from({ length: ENDPOINTS }, (_, i) => (kind === "slow" && i === 0 ? "slow" : `fast-${i}`));

async function createEndpoints(http: HttpClient, sink: string, kind: Kind): Promise<string[]> {
  const ids: string[] = [];
  for (const name of endpointNames(kind)) {
    const created = await http.json<{ id: string }>("POST", "/webhook-endpoints", {
      url: `${sink}/hooks/${name}`,
      eventTypes: ["reservation.reserved"],
    });
    ids.push(created.id);
  }
  return ids;
}

/** One round: reservations at RATE for `seconds`, then the fast endpoints' deliveries collected. */
async function measure(
  http: HttpClient,
  sink: string,
  lots: readonly string[],
  kind: Kind,
  seconds: number,
  offset: number,
): Promise<Round> {
  await fetch(`${sink}/reset`, { method: "POST" });
  const acks = new Sample();
  const ackedAt = new Map<string, number>();
  const run = await fixedRate({
    rate: RATE,
    durationSec: seconds,
    maxInFlight: 1000,
    task: async (index, scheduledAt) => {
      const reserved = await reserve(http, lots, offset + index);
      if (reserved.status !== 201) return;
      acks.add(nowMs() - scheduledAt);
      ackedAt.set((JSON.parse(reserved.body) as { reservationId: string }).reservationId, Date.now());
    },
  });
  if (kind !== "none") await sleep(DRAIN_MS);
  const records = (await (await fetch(`${sink}/records`)).json()) as Record<string, Record<string, number>>;
  const lag = new Sample();
  let missing = 0;
  // Every fast endpoint of the round, whether or not it got anything.
  for (const name of endpointNames(kind).filter((n) => n !== "slow")) {
    const seen = records[name] ?? {};
    for (const [id, acked] of ackedAt) {
      const at = seen[id];
      if (at === undefined) missing++;
      else lag.add(Math.max(0, at - acked));
    }
  }
  return {
    kind,
    commandP99: acks.summary().p99,
    ...(kind === "none" ? {} : { lagP99: lag.summary().p99 }),
    missing,
    rate: achievedRate(run),
  };
}

/** Each round of a kind against the no-endpoint rounds on either side of its cycle. */
function report(rounds: readonly Round[]): ScenarioOutcome {
  const against = (kind: Kind) =>
    rounds.flatMap((round, i) => {
      if (round.kind !== kind) return [];
      const before = rounds.slice(0, i).findLast((r) => r.kind === "none");
      const after = rounds.slice(i + 1).find((r) => r.kind === "none");
      if (!before || !after) return [];
      return [round.commandP99 / ((before.commandP99 + after.commandP99) / 2)];
    });
  const slow = rounds.filter((r) => r.kind === "slow");
  const fast = rounds.filter((r) => r.kind === "fast");
  const lagRatios = slow.flatMap((s, i) => {
    const f = fast[i];
    return f?.lagP99 && s.lagP99 !== undefined ? [s.lagP99 / f.lagP99] : [];
  });
  const commandSlow = median(against("slow"));
  const commandFast = median(against("fast"));
  const lagRatio = median(lagRatios);
  const missing = rounds.reduce((a, r) => a + r.missing, 0);
  return {
    checks: [
      {
        target: "commands' p99 with 10 endpoints (one answering in 5 s) vs none: unchanged within noise",
        measured: `median ratio ${ratio(commandSlow, 1)} (rounds: ${against("slow")
          .map((r) => ratio(r, 1))
          .join(", ")}); 10 fast endpoints: ${ratio(commandFast, 1)}`,
        pass: commandSlow < 1.5,
      },
      {
        target:
          "the 9 fast endpoints' delivery-lag p99 with the slow one vs 10 fast ones: unchanged within noise",
        measured: `median ratio ${ratio(lagRatio, 1)} (rounds: ${lagRatios.map((r) => ratio(r, 1)).join(", ")}); ${missing} deliveries missing after ${DRAIN_MS} ms`,
        pass: lagRatio < 1.5 && missing === 0,
      },
    ],
    figures: {
      rounds,
      commandP99RatioSlow: commandSlow,
      commandP99RatioFast: commandFast,
      lagP99RatioSlowVsFast: lagRatio,
    },
  };
}
