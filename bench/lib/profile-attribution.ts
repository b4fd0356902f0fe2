import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { CpuProfile, ProfileNode } from "./cpu-profile.js";

/**
 * Where a thread's CPU went in given spans of time, read from a V8 `.cpuprofile` (`node --cpu-prof`
 * writes one per thread, workers included, when each ends). Each sample counts for the time until
 * the next one and is charged to one kind: idle, the garbage collector, the code being measured
 * ("marked"), or the rest. A sample is marked when a frame the `role` calls "owner" is on its stack
 * (everything beneath it is its work), or when the deepest frame that is neither native nor Node's
 * own (`node:`) is "marked" code: what marked code calls in the runtime (a Buffer, a postMessage,
 * crypto) is its cost, but once it calls back into the application (a middleware's `next()`) the
 * time is the application's again. The samples' times are V8's monotonic clock in µs, the clock of
 * `process.hrtime` on the same machine (Linux), so spans measured by another process line up.
 */

export type { CpuProfile } from "./cpu-profile.js";

/** A frame of a sample's stack: its function and its script (empty for native code). */
export type CallFrame = Pick<ProfileNode["callFrame"], "functionName" | "url">;

/** A span of time in the monotonic clock's µs (`process.hrtime.bigint() / 1000n`). */
export interface Span {
  readonly fromUs: number;
  readonly toUs: number;
}

/** µs of one thread's time in a span, by kind. */
export interface Attributed {
  readonly idleUs: number;
  readonly gcUs: number;
  /** Busy in the code measured (see the role), or in what it called. */
  readonly markedUs: number;
  /** Busy otherwise (the program's own C++, JavaScript, natives). */
  readonly otherUs: number;
}

type Kind = "idle" | "gc" | "marked" | "other";

export const busyUs = (a: Attributed): number => a.gcUs + a.markedUs + a.otherUs;

export const addAttributed = (a: Attributed, b: Attributed): Attributed => ({
  idleUs: a.idleUs + b.idleUs,
  gcUs: a.gcUs + b.gcUs,
  markedUs: a.markedUs + b.markedUs,
  otherUs: a.otherUs + b.otherUs,
});

export const NOTHING: Attributed = { idleUs: 0, gcUs: 0, markedUs: 0, otherUs: 0 };

/** What a frame is to the measurement: its owner, the code measured, other code, or the runtime's. */
export type Role = "owner" | "marked" | "application" | "runtime";

/** Native frames (no url) and Node's own (`node:`) are the runtime's; everything else is code. */
export const isRuntimeFrame = (frame: CallFrame): boolean =>
  frame.url === "" || frame.url.startsWith("node:");

/** Each node's kind, from its own frame and its callers' (walked from the root down). */
function kindsOf(profile: CpuProfile, role: (frame: CallFrame) => Role): Map<number, Kind> {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const children = new Set(profile.nodes.flatMap((node) => node.children ?? []));
  const kinds = new Map<number, Kind>();
  // [node, under an owner, the deepest code frame above it is marked]
  const stack: [number, boolean, boolean][] = profile.nodes
    .filter((node) => !children.has(node.id))
    .map((node) => [node.id, false, false]);
  for (let next = stack.pop(); next; next = stack.pop()) {
    const [id, owned, open] = next;
    const node = byId.get(id);
    if (!node) continue;
    const { functionName } = node.callFrame;
    const r = role(node.callFrame);
    const nowOwned = owned || r === "owner";
    const nowOpen = r === "marked" ? true : r === "application" ? false : open;
    let kind: Kind = nowOwned || nowOpen ? "marked" : "other";
    if (functionName === "(idle)") kind = "idle";
    else if (functionName === "(garbage collector)") kind = "gc";
    kinds.set(id, kind);
    for (const child of node.children ?? []) stack.push([child, nowOwned, nowOpen]);
  }
  return kinds;
}

/** Each sample: its node, its time, and the time it counts for (until the next sample). */
function* timedSamples(profile: CpuProfile): Generator<{ id: number; at: number; weight: number }> {
  const { samples, timeDeltas } = profile;
  let at = profile.startTime;
  for (let i = 0; i < samples.length; i++) {
    at += timeDeltas[i] as number;
    const next = i + 1 < samples.length ? (timeDeltas[i + 1] as number) : profile.endTime - at;
    yield { id: samples[i] as number, at, weight: Math.max(0, next) };
  }
}

/** One thread's time in each span, by kind. */
export function attribute(
  profile: CpuProfile,
  spans: readonly Span[],
  role: (frame: CallFrame) => Role,
): Attributed[] {
  const kinds = kindsOf(profile, role);
  const totals = spans.map(() => ({ idle: 0, gc: 0, marked: 0, other: 0 }));
  for (const { id, at, weight } of timedSamples(profile)) {
    const kind = kinds.get(id) ?? "other";
    spans.forEach((span, s) => {
      if (at >= span.fromUs && at < span.toUs) (totals[s] as Record<Kind, number>)[kind] += weight;
    });
  }
  return totals.map((t) => ({ idleUs: t.idle, gcUs: t.gc, markedUs: t.marked, otherUs: t.other }));
}

/**
 * The marked time in `spans` by the function each sample was in (its own frame: a runtime frame
 * is shown as `name (runtime)`), the largest first: where the measured code's time goes.
 */
export function markedByFunction(
  profile: CpuProfile,
  spans: readonly Span[],
  role: (frame: CallFrame) => Role,
): Map<string, number> {
  const kinds = kindsOf(profile, role);
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const totals = new Map<string, number>();
  for (const { id, at, weight } of timedSamples(profile)) {
    if (kinds.get(id) !== "marked" || !spans.some((span) => at >= span.fromUs && at < span.toUs)) continue;
    const frame = byId.get(id)?.callFrame;
    const file = frame?.url.split("/").slice(-2).join("/") ?? "";
    const where = frame && !isRuntimeFrame(frame) ? file : "(runtime)";
    const name = `${frame?.functionName || "(anonymous)"} ${where}`;
    totals.set(name, (totals.get(name) ?? 0) + weight);
  }
  return new Map([...totals].sort((a, b) => b[1] - a[1]));
}

/** The `.cpuprofile` files `--cpu-prof-dir` holds, read. */
export function profilesInDir(dir: string): { file: string; profile: CpuProfile }[] {
  return readdirSync(dir)
    .filter((name) => name.endsWith(".cpuprofile"))
    .sort()
    .map((name) => ({
      file: name,
      profile: JSON.parse(readFileSync(join(dir, name), "utf8")) as CpuProfile,
    }));
}

/** Whether any frame of the profile satisfies `test` (to tell its thread by its code). */
export const profileHas = (profile: CpuProfile, test: (frame: CallFrame) => boolean): boolean =>
  profile.nodes.some((node) => test(node.callFrame));
