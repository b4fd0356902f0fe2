import { setTimeout as sleep } from "node:timers/promises";
import { operatorToken } from "../lib/auth.js";
import { lotIds } from "../lib/domain.js";
import { fixedRate, nowMs } from "../lib/fixed-rate.js";
import type { HttpClient } from "../lib/http.js";
import { log } from "../lib/log.js";
import { cpuSecondsOf } from "../lib/process-stats.js";
import { reserve, waitForCatchUp, withService } from "../lib/service-api.js";
import { round } from "../lib/stats.js";
import type { Scenario, ScenarioOutcome } from "./scenario.js";

const RATE = 500;
const LISTENERS = 100;
const LOTS = 100;
/** What 100 listeners may add to the service's CPU at 500 reservations a second (issue 19). */
const MAX_LISTENER_COST_PCT = 5;

/** One control-center stream read to the end, counting its events. */
interface Listener {
  events: number;
  readonly first: Promise<void>;
  close(): void;
}

async function listen(url: string, token: string): Promise<Listener> {
  const controller = new AbortController();
  const response = await fetch(`${url}/control-center/events`, {
    headers: { accept: "text/event-stream", authorization: `Bearer ${token}` },
    signal: controller.signal,
  });
  if (response.status !== 200 || !response.body) throw new Error(`stream refused: ${response.status}`);
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let gotFirst: () => void = () => {};
  const listener: Listener = {
    events: 0,
    first: new Promise((resolve) => {
      gotFirst = resolve;
    }),
    close: () => controller.abort(),
  };
  void (async () => {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        const text = decoder.decode(value, { stream: true });
        const events = text.split("event: control-center").length - 1;
        listener.events += events;
        if (events) gotFirst();
      }
    } catch {
      // Aborted at the end of the scenario.
    }
  })();
  return listener;
}

/**
 * The service's CPU over `run`: the seconds it used, and in % of one core over the wall time. On a
 * busy machine the service is starved and the wall time stretches, so the listeners' cost is
 * compared in CPU seconds for the same reservations, not in % of the wall time.
 */
async function measured<T>(
  pid: number,
  run: () => Promise<T>,
): Promise<{ result: T; cpuPct: number; cpuSeconds: number }> {
  const cpu = cpuSecondsOf(pid);
  const started = nowMs();
  const result = await run();
  const wall = (nowMs() - started) / 1000;
  const cpuSeconds = cpuSecondsOf(pid) - cpu;
  return { result, cpuSeconds, cpuPct: round((cpuSeconds / wall) * 100, 1) };
}

/**
 * 11. What listeners cost: the service's CPU at 500 reservations a second without a listener and
 * with 100 control-center streams open (each its own operator), alternated twice after a warm-up,
 * then those 100 on an idle service. The difference is what the streams cost (one view read per interval shared by all,
 * framed once, written to each); idle, they should get heartbeats only.
 */
export const listenersScenario: Scenario = {
  name: "listeners",
  title: "100 live-update listeners at 500 reservations/s",
  run: (ctx) =>
    withService(
      "listeners",
      lotIds(LOTS),
      async (service, http, dataDir) => {
        const listeners: Listener[] = [];
        try {
          return await measureListeners(
            ctx.quick ? 5 : 20,
            service.pid,
            service.url,
            http,
            dataDir,
            listeners,
          );
        } finally {
          for (const l of listeners) l.close();
        }
      },
      { maxSockets: 256 },
    ),
};

/** The phases of the listeners scenario on a service with its lots registered. */
async function measureListeners(
  durationSec: number,
  pid: number,
  url: string,
  http: HttpClient,
  dataDir: string,
  listeners: Listener[],
): Promise<ScenarioOutcome> {
  const lots = lotIds(LOTS);
  let failures = 0;
  let offset = 0;
  const load = (seconds = durationSec) =>
    fixedRate({
      rate: RATE,
      durationSec: seconds,
      maxInFlight: 1000,
      task: async (i) => {
        if ((await reserve(http, lots, offset + i)).status !== 201) failures++;
      },
    });
  const tokens = await Promise.all(
    Array.from({ length: LISTENERS }, (_, i) => operatorToken(dataDir, `bench-listener-${i}`)),
  );
  const events = () => listeners.reduce((n, l) => n + l.events, 0);
  /** The service's CPU over `run`, and the events the listeners got meanwhile. */
  const watch = async <T>(run: () => Promise<T>) => {
    const before = events();
    const m = await measured(pid, run);
    return { ...m, events: events() - before };
  };
  const phase = async (withListeners: boolean) => {
    if (withListeners) {
      for (const token of tokens) listeners.push(await listen(url, token));
      await Promise.all(listeners.map((l) => l.first));
    }
    const m = await watch(load);
    offset += m.result.launched + m.result.dropped;
    await waitForCatchUp(http, 60_000);
    // CPU seconds per reservation sent, so that a phase whose load the busy machine cut short
    // (arrivals dropped past maxInFlight) compares with the others.
    return { ...m, perReservation: m.cpuSeconds / Math.max(1, m.result.launched) };
  };
  // Warm-up (JIT, caches), unmeasured; then alone and watched twice, alternating, so that a
  // busy machine's drift disturbs both alike.
  const warm = await load(3);
  offset += warm.launched + warm.dropped;
  await waitForCatchUp(http, 60_000);
  const a1 = await phase(false);
  const w1 = await phase(true);
  for (const l of listeners.splice(0)) l.close();
  const a2 = await phase(false);
  const w2 = await phase(true);
  const alone = { cpuPct: round((a1.cpuPct + a2.cpuPct) / 2, 1) };
  const watched = { cpuPct: round((w1.cpuPct + w2.cpuPct) / 2, 1) };
  // The same reservations (500/s for durationSec) in each phase: the extra CPU seconds the
  // listeners took, over the load's nominal length, in % of a core.
  const extraSeconds =
    ((w1.perReservation + w2.perReservation - a1.perReservation - a2.perReservation) / 2) *
    RATE *
    durationSec;
  const phases = [a1, w1, a2, w2];
  const dropped = phases.reduce((n, p) => n + p.result.dropped, 0);
  // Let the last views of the run go out before the idle window.
  await sleep(3000);
  const idle = await watch(() => sleep(durationSec * 1000));
  const costPct = round((extraSeconds / durationSec) * 100, 1);
  const perListenerEvents = round((w1.events + w2.events) / LISTENERS / (2 * durationSec), 2);
  log(
    `  service cpu at ${RATE}/s: ${alone.cpuPct}% alone, ${watched.cpuPct}% with ${LISTENERS} listeners (cost ${costPct}% of a core; ${dropped} arrivals dropped; ${perListenerEvents} events/s each); idle with listeners: ${idle.cpuPct}%, ${idle.events} events`,
  );
  return {
    checks: [
      {
        target: `${LISTENERS} listeners add < ${MAX_LISTENER_COST_PCT}% of a core at ${RATE} reservations/s`,
        measured: `${costPct}% (${round(extraSeconds, 2)} extra cpu-s per ${durationSec} s of load; wall-time cpu ${alone.cpuPct}% → ${watched.cpuPct}%)`,
        pass: costPct < MAX_LISTENER_COST_PCT && failures === 0,
      },
      {
        target: "idle service: listeners get heartbeats only",
        measured: `${idle.events} events in ${durationSec} s; service cpu ${idle.cpuPct}%`,
        pass: idle.events === 0,
      },
    ],
    figures: {
      rate: RATE,
      listeners: LISTENERS,
      durationSec,
      aloneCpuPct: alone.cpuPct,
      watchedCpuPct: watched.cpuPct,
      listenerCostPct: costPct,
      eventsPerListenerPerSecond: perListenerEvents,
      phasesCpuPct: phases.map((p) => p.cpuPct),
      phasesCpuSeconds: phases.map((p) => round(p.cpuSeconds, 2)),
      dropped,
      idleCpuPct: idle.cpuPct,
      idleEvents: idle.events,
      failures,
    },
  };
}
