import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { PROJECT_ROOT } from "../../test-support/process.js";

/**
 * Summarizes a V8 .cpuprofile (from `node --cpu-prof`): where the samples landed, by function
 * (self time) and by source file, so a miss can be explained from the profile of the process.
 */

export interface ProfileNode {
  readonly id: number;
  readonly callFrame: {
    readonly functionName: string;
    readonly url: string;
    readonly lineNumber: number;
  };
  readonly children?: readonly number[];
}

export interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
  readonly startTime: number;
  readonly endTime: number;
}

export interface ProfileEntry {
  readonly name: string;
  readonly selfMs: number;
  readonly pct: number;
}

export interface ProfileSummary {
  readonly file: string;
  /** What was measured while the profile ran. */
  readonly label?: string;
  readonly totalMs: number;
  /** Share of samples in which the process was idle (waiting for I/O). */
  readonly idlePct: number;
  readonly topFunctions: readonly ProfileEntry[];
  readonly topFiles: readonly ProfileEntry[];
  /** Inclusive time (the function or anything it called), the biggest first. */
  readonly topInclusive: readonly ProfileEntry[];
}

function shortUrl(url: string): string {
  if (url === "") return "(native)";
  const path = url.startsWith("file://") ? decodeURIComponent(new URL(url).pathname) : url;
  const rel = path.startsWith(PROJECT_ROOT) ? relative(PROJECT_ROOT, path) : path;
  const nm = rel.lastIndexOf("node_modules/");
  return nm >= 0 ? rel.slice(nm + "node_modules/".length) : rel;
}

export function summarizeCpuProfile(file: string, top = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i] as number;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const totalUs = profile.endTime - profile.startTime;
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const nameOf = (node: ProfileNode) => {
    const { functionName, url, lineNumber } = node.callFrame;
    return `${functionName || "(anonymous)"} ${shortUrl(url)}${url && lineNumber > 0 ? `:${lineNumber + 1}` : ""}`;
  };
  const inclusive = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const node = byId.get(at);
      if (!node || node.callFrame.functionName === "(root)") continue;
      const name = nameOf(node);
      if (seen.has(name)) continue;
      seen.add(name);
      inclusive.set(name, (inclusive.get(name) ?? 0) + us);
    }
  }
  const functions = new Map<string, number>();
  const files = new Map<string, number>();
  let idleUs = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    const { functionName, url } = node.callFrame;
    if (functionName === "(idle)") {
      idleUs += us;
      continue;
    }
    const where = shortUrl(url);
    const name = nameOf(node);
    functions.set(name, (functions.get(name) ?? 0) + us);
    const fileKey = url ? where : functionName;
    files.set(fileKey, (files.get(fileKey) ?? 0) + us);
  }
  const rank = (map: Map<string, number>, n = top) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, us]) => ({
        name,
        selfMs: Math.round(us / 1000),
        pct: Math.round((us / Math.max(1, totalUs)) * 1000) / 10,
      }));
  return {
    file,
    totalMs: Math.round(totalUs / 1000),
    idlePct: Math.round((idleUs / Math.max(1, totalUs)) * 1000) / 10,
    topFunctions: rank(functions),
    topFiles: rank(files),
    topInclusive: rank(inclusive, Math.max(30, top)),
  };
}

/** The newest .cpuprofile files in a directory (each process writes one per thread). */
export function profilesIn(dir: string): string[] {
  try {
    return readdirSync(dir)
      .filter((f) => f.endsWith(".cpuprofile"))
      .map((f) => join(dir, f))
      .sort();
  } catch {
    return [];
  }
}

export function formatProfile(summary: ProfileSummary, verbose = false): string {
  const lines = [
    `profile${summary.label ? ` of ${summary.label}` : ""} (${summary.file}): ${summary.totalMs} ms, idle ${summary.idlePct}%`,
    "  top self time by function:",
    ...summary.topFunctions.map((e) => `    ${String(e.pct).padStart(5)}%  ${e.selfMs} ms  ${e.name}`),
    "  by file:",
    ...summary.topFiles.map((e) => `    ${String(e.pct).padStart(5)}%  ${e.selfMs} ms  ${e.name}`),
    ...(verbose
      ? [
          "  inclusive:",
          ...summary.topInclusive.map((e) => `    ${String(e.pct).padStart(5)}%  ${e.selfMs} ms  ${e.name}`),
        ]
      : []),
  ];
  return lines.join("\n");
}

// `tsx bench/lib/cpu-profile.ts <file.cpuprofile|dir>`: print a summary.
if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/^.*\/bench\//, "bench/"))) {
  const target = process.argv[2];
  if (target) {
    const files = target.endsWith(".cpuprofile") ? [target] : profilesIn(target);
    for (const f of files) process.stdout.write(`${formatProfile(summarizeCpuProfile(f, 25), true)}\n`);
  }
}
