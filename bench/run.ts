import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { PROJECT_ROOT } from "../test-support/process.js";
import { log } from "./lib/log.js";
import { loadAverage, type MachineInfo, machineInfo, waitForQuietMachine } from "./lib/machine.js";
import { findASpotScenario } from "./scenarios/find-a-spot.js";
import { gatesScenario } from "./scenarios/gates.js";
import { hotLotScenario } from "./scenarios/hot-lot.js";
import { lagScenario } from "./scenarios/lag.js";
import { listenersScenario } from "./scenarios/listeners.js";
import { lotPeriodsScenario } from "./scenarios/lot-periods.js";
import { peersScenario } from "./scenarios/peers.js";
import { queriesScenario } from "./scenarios/queries.js";
import { replayScenario } from "./scenarios/replay.js";
import { reserveScenario } from "./scenarios/reserve.js";
import type { BenchContext, Scenario, ScenarioResult } from "./scenarios/scenario.js";
import { startScenario } from "./scenarios/start.js";
import { tracingScenario } from "./scenarios/tracing.js";
import { webhooksScenario } from "./scenarios/webhooks.js";

const SCENARIOS: readonly Scenario[] = [
  reserveScenario,
  hotLotScenario,
  replayScenario,
  lagScenario,
  queriesScenario,
  findASpotScenario,
  gatesScenario,
  lotPeriodsScenario,
  listenersScenario,
  peersScenario,
  tracingScenario,
  webhooksScenario,
  startScenario,
];

const USAGE = `Usage: npm run bench [-- options]      (npm run bench:quick = --quick)
  --quick             smaller sizes and shorter loads (~2 minutes instead of ~10)
  --only a,b          run only these scenarios: ${SCENARIOS.map((s) => s.name).join(", ")}
                      (webhooks only when named)
  --wait-load / --no-wait-load
                      wait (up to 10 minutes) for the 1-minute load average to drop below 1.0 before
                      measuring; the default in full mode, off with --quick
Writes bench/results/latest.json (and a copy named after the run's start time).`;

/** The code measured: the commit, and what the working tree changes on top of it (bench/, BENCHMARKS.md and a linked node_modules aside). */
function codeVersion(): { commit: string; changed: string[] } {
  const git = (...args: string[]) =>
    execFileSync("git", args, { cwd: PROJECT_ROOT, encoding: "utf8" }).trimEnd();
  try {
    const changed = git("status", "--porcelain")
      .split("\n")
      .map((line) => line.slice(3))
      .filter((path) => !["", "BENCHMARKS.md", "node_modules"].includes(path) && !path.startsWith("bench/"));
    return { commit: git("rev-parse", "--short", "HEAD"), changed };
  } catch {
    return { commit: "unknown", changed: [] };
  }
}

/** One scenario's result, or what stopped it, with its time and the load average it started at. */
async function runScenario(scenario: Scenario, ctx: BenchContext) {
  const load = loadAverage();
  const started = Date.now();
  const elapsed = () => ({
    elapsedSec: Math.round((Date.now() - started) / 100) / 10,
    loadAverageAtStart: load,
  });
  try {
    const result = { name: scenario.name, title: scenario.title, ...(await scenario.run(ctx)) };
    for (const check of result.checks)
      log(`  ${check.pass ? "PASS" : "MISS"}  ${check.target}: ${check.measured}`);
    return { ...result, ...elapsed() };
  } catch (error) {
    log(`  FAILED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    const checks = [{ target: "scenario ran", measured: String(error), pass: false }];
    return { name: scenario.name, title: scenario.title, checks, figures: {}, ...elapsed() };
  }
}

/** The results table: one row per target, PASS or MISS. */
function formatResults(report: {
  mode: string;
  startedAt: string;
  elapsedSec: number;
  machine: MachineInfo;
  code: { commit: string; changed: readonly string[] };
  loadAverage: { atStart: readonly number[]; atEnd: readonly number[] };
  results: readonly ScenarioResult[];
}): string {
  const rows: [string, string, string, string][] = [];
  for (const result of report.results) {
    for (const check of result.checks)
      rows.push([result.name, check.target, check.measured, check.pass ? "PASS" : "MISS"]);
  }
  const header: [string, string, string, string] = ["scenario", "target", "measured", "result"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]?.length ?? 0)));
  const line = (cells: readonly string[]) =>
    `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(" | ")} |`;
  const m = report.machine;
  return [
    `Results (${report.mode}, ${report.startedAt}, ${report.elapsedSec} s)`,
    `machine: ${m.cpuModel}, ${m.nproc} cores, ${m.memoryGiB} GiB, Node ${m.node}; load average at start ${report.loadAverage.atStart.join(" ")}, at end ${report.loadAverage.atEnd.join(" ")}`,
    `code: ${report.code.commit}${report.code.changed.length ? ` + uncommitted ${report.code.changed.join(", ")}` : ""}`,
    "",
    line(header),
    line(widths.map((w) => "-".repeat(w))),
    ...rows.map(line),
  ].join("\n");
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      quick: { type: "boolean", default: false },
      only: { type: "string" },
      "wait-load": { type: "boolean" },
      "no-wait-load": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const only = values.only?.split(",").map((s) => s.trim());
  const unknown = only?.filter((name) => !SCENARIOS.some((s) => s.name === name)) ?? [];
  if (unknown.length > 0) {
    process.stderr.write(`unknown scenario ${unknown.join(", ")}\n${USAGE}\n`);
    return 2;
  }
  const selected = only
    ? SCENARIOS.filter((s) => only.includes(s.name))
    : SCENARIOS.filter((s) => !s.onlyWhenNamed);
  const quick = values.quick === true;
  const waitLoad = values["no-wait-load"] ? false : (values["wait-load"] ?? !quick);

  const startedAt = new Date();
  const machine = machineInfo();
  const code = codeVersion();
  const args = process.argv.slice(2).filter((a) => a !== "--quick");
  const command = `npm run ${quick ? "bench:quick" : "bench"}${args.length ? ` -- ${args.join(" ")}` : ""}`;
  log(
    `parking-reservations benchmark (${quick ? "quick" : "full"}): ${selected.map((s) => s.name).join(", ")}\n` +
      `machine: ${machine.cpuModel}, ${machine.nproc} cores, ${machine.memoryGiB} GiB, Node ${machine.node}, Linux ${machine.kernel}\n` +
      `code: ${code.commit}${code.changed.length ? ` + uncommitted changes to ${code.changed.join(", ")}` : ""}`,
  );
  const quiet = waitLoad
    ? await waitForQuietMachine({ maxLoad: 1.0, timeoutMs: 10 * 60_000 })
    : { quiet: loadAverage()[0] < 1.0, waitedMs: 0, load: loadAverage() };
  log(
    `load average at start: ${quiet.load.join(" ")}${quiet.quiet ? "" : " (busy machine: figures are disturbed)"}`,
  );

  const results: ScenarioResult[] = [];
  for (const [i, scenario] of selected.entries()) {
    log(
      `\n[${i + 1}/${selected.length}] ${scenario.name}: ${scenario.title} (load average ${loadAverage().join(" ")})`,
    );
    results.push(await runScenario(scenario, { quick }));
  }
  const finishedAt = new Date();
  const report = {
    mode: quick ? "quick" : "full",
    command,
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    elapsedSec: Math.round((finishedAt.getTime() - startedAt.getTime()) / 1000),
    machine,
    code,
    loadAverage: { atStart: quiet.load, waitedSec: Math.round(quiet.waitedMs / 1000), atEnd: loadAverage() },
    results,
  };
  const dir = join(PROJECT_ROOT, "bench", "results");
  mkdirSync(dir, { recursive: true });
  const json = `${JSON.stringify(report, null, 2)}\n`;
  writeFileSync(join(dir, "latest.json"), json);
  writeFileSync(join(dir, `${report.mode}-${startedAt.toISOString().replace(/[:.]/g, "-")}.json`), json);
  process.stdout.write(`\n${formatResults(report)}\n`);
  log(`\nresults written to bench/results/latest.json (${report.elapsedSec} s in all)`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
