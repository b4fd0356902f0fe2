import type { ScenarioResult } from "../scenarios/scenario.js";
import type { MachineInfo } from "./machine.js";

export interface RunReport {
  readonly mode: string;
  readonly command: string;
  readonly startedAt: string;
  readonly elapsedSec: number;
  readonly machine: MachineInfo;
  readonly code: { readonly commit: string; readonly changed: readonly string[] };
  readonly loadAverage: { readonly atStart: readonly number[]; readonly atEnd: readonly number[] };
  readonly results: readonly ScenarioResult[];
}

/** The results table: one row per target, PASS or MISS. */
export function formatResults(report: RunReport): string {
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
