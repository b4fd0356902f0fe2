import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { BenchContext } from "../scenarios/scenario.js";
import { formatProfile, type ProfileSummary, summarizeCpuProfile } from "./cpu-profile.js";
import { log } from "./log.js";

/**
 * CPU profiles of a measured window, when the run profiles (--profile): the child is started with
 * bench/lib/profile-hook.ts preloaded, and `window()` brackets the measurement with SIGUSR2.
 */
export interface Profiler {
  /** Extra options for spawning the child (empty when not profiling). */
  readonly spawn: { nodeArgs?: string[]; env?: Record<string, string> };
  /** Profiles `work` in the child `pid`; returns the summary (undefined when not profiling). */
  window<T>(pid: number, label: string, work: () => Promise<T>): Promise<T>;
  readonly summaries: ProfileSummary[];
}

/** Profiles nothing. */
export const noProfiler: Profiler = { spawn: {}, window: (_pid, _label, work) => work(), summaries: [] };

export function profiler(ctx: BenchContext, name: string): Profiler {
  const summaries: ProfileSummary[] = [];
  if (!ctx.profile) return { spawn: {}, window: (_pid, _label, work) => work(), summaries };
  const dir = join(ctx.profileRoot, name);
  mkdirSync(dir, { recursive: true });
  const prefix = join(dir, "window");
  const counts = new Map<number, number>();
  return {
    spawn: { nodeArgs: ["--import", "./bench/lib/profile-hook.ts"], env: { BENCH_CPU_PROFILE: prefix } },
    summaries,
    async window(pid, label, work) {
      process.kill(pid, "SIGUSR2");
      await sleep(200);
      try {
        return await work();
      } finally {
        process.kill(pid, "SIGUSR2");
        const n = (counts.get(pid) ?? 0) + 1;
        counts.set(pid, n);
        const file = `${prefix}.${pid}.${n}.cpuprofile`;
        const deadline = Date.now() + 30_000;
        while (!existsSync(file) && Date.now() < deadline) await sleep(100);
        await sleep(200);
        if (existsSync(file)) {
          const summary = { ...summarizeCpuProfile(file), label };
          summaries.push(summary);
          log(formatProfile(summary));
        } else log(`  (no profile written for ${label})`);
      }
    },
  };
}
