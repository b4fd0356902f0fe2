import { mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { CONNECTIONS, LOTS, spreadRequests } from "../scenarios/reserve.js";
import { lotIds } from "./domain.js";
import { HttpClient } from "./http.js";
import { describeLoad, runLoad } from "./load.js";
import { log } from "./log.js";
import { benchDataDir, startService } from "./processes.js";
import { CAPACITY, registerLots, waitForCatchUp } from "./service-api.js";

/** V8's CPU profile (`--cpu-prof`), the parts these benches read. */
export interface Frame {
  readonly functionName: string;
  readonly url: string;
}
interface ProfileNode {
  readonly id: number;
  readonly callFrame: Frame;
  readonly children?: readonly number[];
}
export interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** `--seconds` (12), `--root` (this tree) and `--dir` (a new one under /tmp named for the tool) of a profiling tool's command line. */
export function profileOptions(tool: string): { seconds: number; root: string; dir: string } {
  const option = (name: string, fallback: string) => {
    const at = process.argv.indexOf(`--${name}`);
    return at < 0 ? fallback : (process.argv[at + 1] ?? fallback);
  };
  return {
    seconds: Number(option("seconds", "12")),
    root: option("root", ""),
    dir: option("dir", `/tmp/${tool}-${Date.now()}`),
  };
}

/** A thread's profile and the window of the load (µs, the monotonic clock the profile's times are on). */
export interface ProfiledLoad {
  readonly pid: number;
  readonly dir: string;
  readonly from: number;
  readonly to: number;
  readonly requests: number;
}

/**
 * The reserve load of scenario 1 on a service started with `--cpu-prof` (every thread profiled):
 * lots registered, 3 s of warm-up and its catch-up, then `seconds` of load (with its catch-up when
 * `catchUp`), whose window is returned. `root`: the copy of the code to run (as bench/node-flags.ts).
 */
export async function profiledReserveLoad(options: {
  readonly dir: string;
  readonly seconds: number;
  readonly root?: string;
  readonly label: string;
  readonly catchUp?: boolean;
}): Promise<ProfiledLoad> {
  mkdirSync(options.dir, { recursive: true });
  const lots = lotIds(LOTS);
  const data = benchDataDir(options.label);
  // From its sources: the stages are told apart by each frame's source file.
  const service = await startService(data.dir, {
    source: true,
    nodeArgs: ["--cpu-prof", `--cpu-prof-dir=${options.dir}`],
    ...(options.root ? { root: options.root } : {}),
  });
  const http = new HttpClient(service.url, CONNECTIONS);
  try {
    await registerLots(http, lots, CAPACITY);
    await waitForCatchUp(http, 60_000);
    const load = (title: string, durationSec: number, offset: number) =>
      runLoad({
        title,
        url: service.url,
        connections: CONNECTIONS,
        durationSec,
        method: "POST",
        next: spreadRequests(lots, offset),
        serverPid: service.pid,
      });
    await load("warm-up", 3, 1_000_000);
    await waitForCatchUp(http, 120_000);
    const from = Number(process.hrtime.bigint() / 1000n);
    const result = await load("profiled", options.seconds, 5_000_000);
    if (options.catchUp) await waitForCatchUp(http, 120_000);
    const to = Number(process.hrtime.bigint() / 1000n);
    log(describeLoad(result));
    return { pid: service.pid, dir: options.dir, from, to, requests: result.requests };
  } finally {
    http.close();
    // The profiles are written as each thread ends.
    await service.stop();
    data.remove();
  }
}

/** The profiles of the load's process: the request thread's (thread 0) or every other thread's. */
export function profilesOf(load: ProfiledLoad, thread: "request" | "others"): [string, CpuProfile][] {
  const main = `.${load.pid}.0.`;
  return readdirSync(load.dir)
    .filter((n) => n.includes(`.${load.pid}.`) && n.includes(main) === (thread === "request"))
    .map((n) => [n, JSON.parse(readFileSync(join(load.dir, n), "utf8")) as CpuProfile]);
}

/**
 * Visits each busy sample of `profile` within the window with a test of its stack: whether a frame
 * on it (innermost first) is claimed by `claims`, and which frame first is (`first`).
 */
export function busySamples(
  profile: CpuProfile,
  window: { readonly from: number; readonly to: number },
  visit: (stack: {
    readonly has: (claims: (f: Frame) => boolean) => boolean;
    readonly first: <T>(rules: readonly (readonly [T, (f: Frame) => boolean])[]) => T | undefined;
  }) => void,
): void {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const frames = function* (id: number) {
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at))
      yield (byId.get(at) as ProfileNode).callFrame;
  };
  let time = profile.startTime;
  profile.samples.forEach((id, i) => {
    time += profile.timeDeltas[i] ?? 0;
    if (time < window.from || time > window.to || byId.get(id)?.callFrame.functionName === "(idle)") return;
    visit({
      has: (claims) => {
        for (const frame of frames(id)) if (claims(frame)) return true;
        return false;
      },
      first: (rules) => {
        for (const frame of frames(id)) for (const [name, claims] of rules) if (claims(frame)) return name;
        return undefined;
      },
    });
  });
}
