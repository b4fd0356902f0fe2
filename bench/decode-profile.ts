import { mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { lotIds } from "./lib/domain.js";
import { HttpClient } from "./lib/http.js";
import { describeLoad, runLoad } from "./lib/load.js";
import { log } from "./lib/log.js";
import { benchDataDir, startService } from "./lib/processes.js";
import { CAPACITY, registerLots, waitForCatchUp } from "./lib/service-api.js";
import { CONNECTIONS, LOTS, spreadRequests } from "./scenarios/reserve.js";

/**
 * What decoding events costs the processors' thread (issue 50): the reserve load of scenario 1 on
 * a service started with `--cpu-prof` (as bench/reserve-profile.ts, which looks at the request
 * thread), lots registered and warmed up, then `--seconds` of load and its catch-up; of each other
 * thread's busy samples in that window, the share under `decodeEvent` (with what it calls), and
 * within it the key store's lookups, the events' schema check and the opening of sealed fields.
 * `--root dir` profiles the copy of the code at dir.
 *
 *   npx tsx bench/decode-profile.ts [--seconds 12] [--root /tmp/base] [--dir /tmp/prof]
 */
const option = (name: string, fallback: string) => {
  const at = process.argv.indexOf(`--${name}`);
  return at < 0 ? fallback : (process.argv[at + 1] ?? fallback);
};
const seconds = Number(option("seconds", "12"));
const root = option("root", "");
const dir = option("dir", `/tmp/decode-profile-${Date.now()}`);

interface Frame {
  readonly functionName: string;
  readonly url: string;
}
interface ProfileNode {
  readonly id: number;
  readonly callFrame: Frame;
  readonly children?: readonly number[];
}
interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

const decoding = (f: Frame) => f.functionName === "decodeEvent";
/** Parts of decoding: a sample under `decodeEvent` counts in each whose frame is on its stack. */
const PARTS: readonly (readonly [string, (f: Frame) => boolean])[] = [
  ["the key store's lookups", (f) => /data-keys\/|app\/personal-data/.test(f.url)],
  ["the events' schema check", (f) => /validat/i.test(f.functionName) || /validation/.test(f.url)],
  [
    "opening sealed fields (lookups included)",
    (f) => /^(openPersonalFields|openActor)$/.test(f.functionName),
  ],
];

/** Busy samples of the profile in the window, those under decodeEvent, and per part of it. */
function decodingOf(profile: CpuProfile, from: number, to: number) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const onStack = (id: number, claims: (f: Frame) => boolean) => {
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at))
      if (claims((byId.get(at) as ProfileNode).callFrame)) return true;
    return false;
  };
  const parts = new Map(PARTS.map(([name]) => [name, 0]));
  let busy = 0;
  let decode = 0;
  let time = profile.startTime;
  profile.samples.forEach((id, i) => {
    time += profile.timeDeltas[i] ?? 0;
    if (time < from || time > to || byId.get(id)?.callFrame.functionName === "(idle)") return;
    busy++;
    if (!onStack(id, decoding)) return;
    decode++;
    for (const [name, claims] of PARTS) if (onStack(id, claims)) parts.set(name, (parts.get(name) ?? 0) + 1);
  });
  return { busy, decode, parts };
}

mkdirSync(dir, { recursive: true });
const lots = lotIds(LOTS);
const data = benchDataDir("decode-profile");
const service = await startService(data.dir, {
  nodeArgs: ["--cpu-prof", `--cpu-prof-dir=${dir}`],
  ...(root ? { root } : {}),
});
const http = new HttpClient(service.url, CONNECTIONS);
let window: { from: number; to: number; requests: number } | undefined;
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
  // The profile's clock is the monotonic one process.hrtime reads (µs).
  const from = Number(process.hrtime.bigint() / 1000n);
  const result = await load("profiled", seconds, 5_000_000);
  await waitForCatchUp(http, 120_000);
  window = { from, to: Number(process.hrtime.bigint() / 1000n), requests: result.requests };
  log(describeLoad(result));
} finally {
  http.close();
  await service.stop();
  data.remove();
}
if (!window) throw new Error("the load did not run");
const { from, to, requests } = window;
// Every thread but the request thread (thread 0): the processors' is the one that decodes.
for (const file of readdirSync(dir).filter(
  (n) => n.includes(`.${service.pid}.`) && !n.includes(`.${service.pid}.0.`),
)) {
  const profile = JSON.parse(readFileSync(join(dir, file), "utf8")) as CpuProfile;
  const { busy, decode, parts } = decodingOf(profile, from, to);
  if (decode === 0) continue;
  const share = (samples: number) => `${((100 * samples) / busy).toFixed(1)}%`;
  log(`${file}: ${busy} busy samples, ${requests} reservations; decodeEvent ${share(decode)} of the thread`);
  for (const [name, samples] of parts) log(`  ${share(samples).padStart(6)}  ${name}`);
}
