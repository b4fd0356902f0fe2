import { execFile, execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { basename, dirname } from "node:path";
import { promisify } from "node:util";

/**
 * Work counted, not timed: a process run under Valgrind's callgrind, its counters zeroed and dumped
 * from outside (`callgrind_control`) around the work to count. Instructions and simulated cache
 * misses do not depend on what else the machine runs, so costs of a few percent that wall-clock
 * rounds on a shared 2-core machine cannot resolve can be read here. The price: the process runs
 * 50–100× slower, so only a few hundred requests are counted.
 */

const run = promisify(execFile);

/** Whether Valgrind is installed (Debian: `apt-get install valgrind`). */
export function valgrindAvailable(): boolean {
  try {
    execFileSync("valgrind", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** The events callgrind counted over one span of work. */
export interface Counts {
  /** Instructions executed. */
  readonly instructions: number;
  /**
   * Cycles estimated from the simulated caches, as iai-callgrind and Itamar Turner-Trauring's
   * "consistent benchmarking in CI" do: an L1 hit costs 1, a last-level hit 5, a memory access 35.
   */
  readonly estimatedCycles: number;
}

/** Counts from the `events:` and `summary:`/`totals:` lines of a callgrind output file. */
export function countsOf(callgrindOutput: string): Counts {
  const events = /^events:\s*(.+)$/m.exec(callgrindOutput)?.[1]?.trim().split(/\s+/);
  const totals = (/^summary:\s*(.+)$/m.exec(callgrindOutput) ??
    /^totals:\s*(.+)$/m.exec(callgrindOutput))?.[1]
    ?.trim()
    .split(/\s+/)
    .map(Number);
  if (!events || !totals) throw new Error("not a callgrind output: no events or totals line");
  const event = (name: string) => {
    const at = events.indexOf(name);
    return at < 0 ? undefined : (totals[at] ?? 0);
  };
  const instructions = event("Ir");
  if (instructions === undefined) throw new Error("callgrind output without instructions (Ir)");
  const [dr, dw, i1, d1r, d1w, ill, dlr, dlw] = [
    "Dr",
    "Dw",
    "I1mr",
    "D1mr",
    "D1mw",
    "ILmr",
    "DLmr",
    "DLmw",
  ].map(event);
  // Without the cache simulation, every instruction counts as one cycle.
  if (dr === undefined || dw === undefined) return { instructions, estimatedCycles: instructions };
  const memory = (ill ?? 0) + (dlr ?? 0) + (dlw ?? 0);
  const l1Misses = (i1 ?? 0) + (d1r ?? 0) + (d1w ?? 0);
  const l1Hits = instructions + dr + dw - l1Misses;
  return { instructions, estimatedCycles: l1Hits + 5 * (l1Misses - memory) + 35 * memory };
}

/**
 * One process under callgrind: the command line to start it with (`wrapper`), and its counters
 * zeroed (`zero`) and read (`dump`) while it runs.
 */
export interface Callgrind {
  readonly wrapper: readonly string[];
  zero(pid: number): Promise<void>;
  dump(pid: number): Promise<Counts>;
}

/**
 * `outPrefix` is where dumps go (`<outPrefix>.<pid>.<n>`). The child must be started with
 * `HOST=127.0.0.1` (the bench's children are): Valgrind names its control pipes after $HOST, and
 * `callgrind_control` must find them under the same name.
 */
export function callgrind(outPrefix: string, options: { readonly cacheSim: boolean }): Callgrind {
  const vgdbPrefix = `${outPrefix}-vgdb`;
  const control = (pid: number, command: string) =>
    run("callgrind_control", [`--vgdb-prefix=${vgdbPrefix}`, command, String(pid)], {
      env: { ...process.env, HOST: "127.0.0.1" },
    });
  const dumps = (pid: number) =>
    readdirSync(dirname(outPrefix))
      .filter((name) => name.startsWith(`${basename(outPrefix)}.${pid}.`))
      .map((name) => ({ name, n: Number(name.split(".").pop()) }))
      .sort((a, b) => a.n - b.n);
  return {
    wrapper: [
      "valgrind",
      "--tool=callgrind",
      // Node's JIT writes code it then runs: Valgrind must notice it changed.
      "--smc-check=all-non-file",
      `--cache-sim=${options.cacheSim ? "yes" : "no"}`,
      "--dump-instr=no",
      "--compress-strings=no",
      "--vgdb=yes",
      `--vgdb-prefix=${vgdbPrefix}`,
      `--callgrind-out-file=${outPrefix}.%p`,
    ],
    async zero(pid) {
      await control(pid, "--zero");
    },
    async dump(pid) {
      const before = dumps(pid).length;
      await control(pid, "--dump");
      const after = dumps(pid);
      const last = after[after.length - 1];
      if (after.length <= before || !last) throw new Error(`callgrind wrote no dump for ${pid}`);
      return countsOf(readFileSync(`${dirname(outPrefix)}/${last.name}`, "utf8"));
    },
  };
}
