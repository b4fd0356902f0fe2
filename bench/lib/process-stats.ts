import { readdirSync, readFileSync } from "node:fs";

/** Memory and CPU of a process, from /proc (Linux). */

/** Linux's USER_HZ: the unit of /proc's CPU times (100 on every Linux kernel built for x86 and ARM). */
const TICKS_PER_SECOND = 100;

export interface MemoryStatus {
  /** Resident set size now. */
  readonly rssMiB: number;
  /** Peak resident set size of the process's life (VmHWM). */
  readonly hwmMiB: number;
}

const MIB = 1024;

export function memoryOf(pid: number): MemoryStatus | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0);
    return { rssMiB: round1(kib("VmRSS") / MIB), hwmMiB: round1(kib("VmHWM") / MIB) };
  } catch {
    return undefined;
  }
}

/**
 * CPU seconds (user + system) the process has used so far; with `thread`, that thread's alone
 * (Linux: the main thread's id is the process's, so `cpuSecondsOf(pid, pid)` is the thread that
 * answers HTTP, and the rest is the processors' worker thread, the GC's helpers and libuv's pool).
 */
export function cpuSecondsOf(pid: number, thread?: number): number {
  try {
    const stat = readFileSync(
      thread === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${thread}/stat`,
      "utf8",
    );
    // The command name may hold spaces: fields are counted after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return (utime + stime) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/** CPU seconds of each thread of a process so far, by thread id (threads that ended are gone). */
export function threadCpuSecondsOf(pid: number): Map<number, number> {
  const threads = new Map<number, number>();
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`))
      threads.set(Number(tid), cpuSecondsOf(pid, Number(tid)));
  } catch {
    // The process is gone: no threads.
  }
  return threads;
}

/**
 * Where a process's CPU went between two `threadCpuSecondsOf` readings: its main thread, its
 * busiest other thread (in the service under load, the processors' worker), and the rest (V8's
 * GC helpers, libuv's pool, other workers), in seconds.
 */
export function threadSplit(
  pid: number,
  before: ReadonlyMap<number, number>,
  after: ReadonlyMap<number, number>,
): { main: number; busiestOther: number; rest: number } {
  const used = [...after].map(([tid, seconds]) => [tid, seconds - (before.get(tid) ?? 0)] as const);
  const main = used.find(([tid]) => tid === pid)?.[1] ?? 0;
  const others = used.filter(([tid]) => tid !== pid).map(([, seconds]) => seconds);
  const busiestOther = Math.max(0, ...others);
  const rest = others.reduce((sum, seconds) => sum + seconds, 0) - busiestOther;
  return { main, busiestOther, rest };
}

/** A process's CPU use over an interval, in % of one core. */
export function cpuMeter(pid: number): () => number {
  const startCpu = cpuSecondsOf(pid);
  const start = process.hrtime.bigint();
  return () => {
    const wall = Number(process.hrtime.bigint() - start) / 1e9;
    return wall > 0 ? Math.round(((cpuSecondsOf(pid) - startCpu) / wall) * 100) : 0;
  };
}

const round1 = (n: number) => Math.round(n * 10) / 10;

/** Machine-wide CPU use over an interval (/proc/stat): busy and stolen (by the hypervisor), in % of all cores. */
export interface MachineCpu {
  /** Busy time of all cores, % of one core (2 cores fully busy = 200). */
  readonly busyPct: number;
  /** Time the hypervisor gave to other guests while this one wanted to run, % of one core. */
  readonly stealPct: number;
}

function cpuTimes(): { busy: number; steal: number } {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "";
    const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number);
    return {
      busy: (user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0),
      steal: steal ?? 0,
    };
  } catch {
    return { busy: 0, steal: 0 };
  }
}

export function machineCpuMeter(): () => MachineCpu {
  const start = cpuTimes();
  const started = process.hrtime.bigint();
  return () => {
    const end = cpuTimes();
    const wall = Number(process.hrtime.bigint() - started) / 1e9;
    const pct = (ticks: number) => (wall > 0 ? Math.round((ticks / TICKS_PER_SECOND / wall) * 100) : 0);
    return { busyPct: pct(end.busy - start.busy), stealPct: pct(end.steal - start.steal) };
  };
}
