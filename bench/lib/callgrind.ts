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
  const events = eventNames(callgrindOutput);
  const totals = (/^summary:\s*(.+)$/m.exec(callgrindOutput) ??
    /^totals:\s*(.+)$/m.exec(callgrindOutput))?.[1]
    ?.trim()
    .split(/\s+/)
    .map(Number);
  if (!events || !totals) throw new Error("not a callgrind output: no events or totals line");
  return countsFrom(events, totals);
}

const eventNames = (callgrindOutput: string) =>
  /^events:\s*(.+)$/m.exec(callgrindOutput)?.[1]?.trim().split(/\s+/);

/** Instructions and estimated cycles from one vector of callgrind's events (named by `events`). */
function countsFrom(events: readonly string[], values: readonly number[]): Counts {
  const event = (name: string) => {
    const at = events.indexOf(name);
    return at < 0 ? undefined : (values[at] ?? 0);
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
 * Each function's own (exclusive) events, summed from a callgrind output's cost lines: a cost line
 * belongs to the `fn=` above it, except the one after a `calls=` line, which is what that call
 * cost (inclusive, already counted in the callee). Names are as callgrind wrote them
 * (`--compress-strings=no`), or resolved from their `(id)` when compressed.
 */
export function selfEvents(callgrindOutput: string): Map<string, number[]> {
  const byFunction = new Map<string, number[]>();
  const names = new Map<string, string>();
  let current: number[] | undefined;
  let afterCall = false;
  for (const line of callgrindOutput.split("\n")) {
    // A compressed name is given once, where it first appears: a function's or a call's (`cfn=`).
    const named = /^c?fn=(\(\d+\))?\s*(.*)$/.exec(line);
    const [id, name] = [named?.[1], named?.[2] ?? ""];
    if (id && name) names.set(id, name);
    if (line.startsWith("fn=")) {
      const key = name || (id ? (names.get(id) ?? id) : "???");
      current = byFunction.get(key) ?? [];
      byFunction.set(key, current);
      afterCall = false;
    } else if (line.startsWith("calls=")) {
      afterCall = true;
    } else if (current && /^[+\-*\d]/.test(line)) {
      if (afterCall) {
        afterCall = false;
        continue;
      }
      const values = line.trim().split(/\s+/).slice(1).map(Number);
      for (let i = 0; i < values.length; i++) current[i] = (current[i] ?? 0) + (values[i] ?? 0);
    }
  }
  return byFunction;
}

/** What V8's compilers (optimizing, baseline, the parser and bytecode generator) did themselves. */
export const V8_COMPILERS =
  /v8::internal::(compiler|maglev|baseline|turboshaft|interpreter)::|v8::internal::(Compiler|OptimizingCompileDispatcher|Parser|Scanner|Zone)\b/;

/**
 * What V8's major (mark-compact) collections did themselves: marking, on the main thread and
 * concurrently, evacuating and sweeping. They come in lumps (none to three in a load of 600
 * reservations under Valgrind, each about 6% of a load's count), so a short load has one or
 * not; minor (scavenge) collections, which follow what a request allocates, are not in it.
 */
export const V8_MAJOR_COLLECTIONS =
  /v8::internal::(MarkCompactCollector|ConcurrentMarking|MarkingVisitorBase|MainMarkingVisitor|ConcurrentMarkingVisitor|Sweeper|MarkingBarrier|IncrementalMarking|MarkingWorklists|FullEvacuator|Evacuator|RememberedSet|InternalizedStringTableCleaner)|BodyDescriptorBase::Iterate\w*<v8::internal::(ConcurrentMarkingVisitor|MainMarkingVisitor)/;

/**
 * The counts of the functions whose names match `matching`, their own work only. JIT-compiled
 * JavaScript has no names under Valgrind: only the runtime's native functions can be matched.
 */
export function countsMatching(callgrindOutput: string, matching: RegExp): Counts {
  const events = eventNames(callgrindOutput);
  if (!events) throw new Error("not a callgrind output: no events line");
  const sum: number[] = events.map(() => 0);
  for (const [name, values] of selfEvents(callgrindOutput)) {
    if (!matching.test(name)) continue;
    for (let i = 0; i < sum.length; i++) sum[i] = (sum[i] ?? 0) + (values[i] ?? 0);
  }
  return countsFrom(events, sum);
}

/**
 * One dump: everything counted since the counters were zeroed, and what V8's compilers and its
 * major collections did of it.
 */
export interface Dump {
  readonly all: Counts;
  readonly compilers: Counts;
  readonly majorCollections: Counts;
}

/**
 * What a dump counted beside the compilers' work (a service long in production compiled its hot
 * code long ago) and its major collections' (lumps that a short load has or has not).
 */
export const steady = (dump: Dump): Counts => ({
  instructions: dump.all.instructions - dump.compilers.instructions - dump.majorCollections.instructions,
  estimatedCycles:
    dump.all.estimatedCycles - dump.compilers.estimatedCycles - dump.majorCollections.estimatedCycles,
});

/**
 * One process under callgrind: the command line to start it with (`wrapper`), and its counters
 * zeroed (`zero`) and read (`dump`) while it runs.
 */
export interface Callgrind {
  readonly wrapper: readonly string[];
  zero(pid: number): Promise<void>;
  dump(pid: number): Promise<Dump>;
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
      const text = readFileSync(`${dirname(outPrefix)}/${last.name}`, "utf8");
      return {
        all: countsOf(text),
        compilers: countsMatching(text, V8_COMPILERS),
        majorCollections: countsMatching(text, V8_MAJOR_COLLECTIONS),
      };
    },
  };
}
