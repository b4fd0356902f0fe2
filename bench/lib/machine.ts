import { readFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { log } from "./log.js";

export interface MachineInfo {
  readonly cpuModel: string;
  readonly nproc: number;
  readonly memoryGiB: number;
  readonly node: string;
  readonly kernel: string;
}

/** A Linux /proc file's text, or "" elsewhere. */
const proc = (file: string): string => {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return "";
  }
};

export function machineInfo(): MachineInfo {
  const modelLine = proc("/proc/cpuinfo")
    .split("\n")
    .find((l) => l.startsWith("model name"));
  return {
    cpuModel: modelLine?.split(":")[1]?.trim() ?? cpus()[0]?.model ?? "unknown",
    nproc: cpus().length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    kernel: proc("/proc/sys/kernel/osrelease").trim() || process.platform,
  };
}

/** The 1, 5 and 15-minute load averages. */
export function loadAverage(): [number, number, number] {
  const [a = "0", b = "0", c = "0"] = proc("/proc/loadavg").split(" ");
  return [Number(a), Number(b), Number(c)];
}

/**
 * Waits (bounded) until the 1-minute load average is below `maxLoad`, so that other work on the
 * machine disturbs the measurements as little as possible. Returns what it saw.
 */
export async function waitForQuietMachine(options: {
  readonly maxLoad: number;
  readonly timeoutMs: number;
  readonly pollMs?: number;
}): Promise<{ readonly quiet: boolean; readonly waitedMs: number; readonly load: [number, number, number] }> {
  const started = Date.now();
  for (;;) {
    const load = loadAverage();
    const waitedMs = Date.now() - started;
    if (load[0] < options.maxLoad) return { quiet: true, waitedMs, load };
    if (waitedMs >= options.timeoutMs) {
      log(`  load average still ${load.join(" ")} after ${Math.round(waitedMs / 1000)} s; measuring anyway`);
      return { quiet: false, waitedMs, load };
    }
    log(
      `  waiting for a quiet machine: load ${load.join(" ")} (want < ${options.maxLoad}), waited ${Math.round(waitedMs / 1000)} s`,
    );
    await sleep(options.pollMs ?? 15_000);
  }
}
