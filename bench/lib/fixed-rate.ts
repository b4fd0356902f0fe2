import { setTimeout as sleep } from "node:timers/promises";

/**
 * Open-loop load: starts task i at `start + i / rate`, whether or not earlier ones have answered
 * (so a slow server cannot slow the arrivals down and hide its own latency). Bounded by the
 * count `rate × durationSec` and by `maxInFlight` (past which arrivals are counted as dropped).
 */
export async function fixedRate(options: {
  readonly rate: number;
  readonly durationSec: number;
  readonly maxInFlight: number;
  /** `scheduledAt` is the hrtime (ms) at which the task was due. */
  readonly task: (index: number, scheduledAt: number) => Promise<void>;
}): Promise<{ readonly launched: number; readonly dropped: number; readonly seconds: number }> {
  const total = Math.round(options.rate * options.durationSec);
  const interval = 1000 / options.rate;
  const started = nowMs();
  const inFlight = new Set<Promise<void>>();
  let launched = 0;
  let dropped = 0;
  while (launched + dropped < total) {
    const due = Math.min(total, Math.floor((nowMs() - started) / interval) + 1);
    while (launched + dropped < due) {
      const index = launched + dropped;
      if (inFlight.size >= options.maxInFlight) {
        dropped++;
        continue;
      }
      launched++;
      const run = options.task(index, started + index * interval).catch(() => undefined);
      inFlight.add(run);
      void run.then(() => inFlight.delete(run));
    }
    await sleep(1);
  }
  await Promise.all(inFlight);
  return { launched, dropped, seconds: (nowMs() - started) / 1000 };
}

export const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;

/** The rate a run achieved: tasks launched per second of the run, rounded. */
export const achievedRate = (run: { readonly launched: number; readonly seconds: number }): number =>
  Math.round(run.launched / run.seconds);
