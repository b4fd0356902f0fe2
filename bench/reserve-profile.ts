import {
  busySamples,
  type CpuProfile,
  type Frame,
  type ProfiledLoad,
  profiledReserveLoad,
  profileOptions,
  profilesOf,
} from "./lib/cpu-profile.js";
import { log } from "./lib/log.js";

/**
 * Where a reservation's time goes on the request thread (issue 50): the reserve load of scenario 1
 * on a service started with `--cpu-prof` (every thread profiled), lots registered and warmed up,
 * then `--seconds` of load; the request thread's samples taken during that load alone (start-up,
 * the warm-up and the catch-up reads left out) are summed per stage, each sample in the first stage
 * that claims a frame of its stack, innermost first. `--root dir` profiles the copy of the code at
 * dir (as bench/node-flags.ts compares trees).
 *
 *   npx tsx bench/reserve-profile.ts [--seconds 12] [--root /tmp/base] [--dir /tmp/prof]
 */
const { seconds, root, dir } = profileOptions("reserve-profile");

/** The stages, in the order they claim a frame (the innermost frame any of them claims names the sample's stage). */
const STAGES: readonly (readonly [string, (f: Frame) => boolean])[] = [
  ["garbage collection", (f) => f.functionName === "(garbage collector)"],
  ["sealing (AES-GCM)", (f) => /crypto\/cipher/.test(f.url)],
  ["a customer's key: pseudonym, lookup, a new one's creation and commit", (f) => /data-keys\//.test(f.url)],
  ["the append and its group commit", (f) => /event-store\//.test(f.url)],
  ["token verification", (f) => /platform\/auth\/(verifier|key-set)|node_modules\/jose/.test(f.url)],
  [
    "request validation (ajv)",
    (f) => /platform\/validation|node_modules\/ajv|generated-validators/.test(f.url),
  ],
  ["event encoding glue and the events' schema check", (f) => /\/schemas\//.test(f.url)],
  [
    "the lot's decide (decider, evolve)",
    (f) => /write-side\/parking-lot\/|node_modules\/immutable/.test(f.url),
  ],
  ["the command runner, routes and codec glue", (f) => /write-side\//.test(f.url)],
  [
    "body read and JSON parse (body-parser)",
    (f) =>
      /body-parser|raw-body|node_modules\/(type-is|content-type|iconv-lite|media-typer)/.test(f.url) ||
      /verifyUtf8Body|utf8BodyText|boundedBodyDepth/.test(f.functionName) ||
      /platform\/http\/json-body/.test(f.url),
  ],
  [
    "the answer (res.json, headers, socket write)",
    (f) =>
      /express\/lib\/response|platform\/http\/json-answers|_http_outgoing|stream_base_commons|streams\/writable/.test(
        f.url,
      ) || f.functionName === "writev",
  ],
  [
    "express routing (router, route tables, sequences)",
    (f) =>
      /node_modules\/(router|parseurl|path-to-regexp)\/|express\/lib\/application|route-table/.test(f.url),
  ],
  [
    "middleware (principal, scope, rate limits, overload gate, access log, helmet, glue)",
    (f) =>
      /\/(platform|app)\/|helmet|node_modules\/(pino|cors|forwarded|proxy-addr|on-finished|prom-client)|express\/lib\/request/.test(
        f.url,
      ),
  ],
  [
    "HTTP parse (Node's http)",
    (f) => /_http_|node:net|streams\/readable/.test(f.url) || f.functionName === "(program)",
  ],
];

/** Busy samples of `profile` in the load's window, per stage. */
function stagesOf(
  profile: CpuProfile,
  window: ProfiledLoad,
): { total: number; byStage: Map<string, number> } {
  const byStage = new Map<string, number>();
  let total = 0;
  busySamples(profile, window, (stack) => {
    const stage = stack.first(STAGES) ?? "other (timers, promises, Node internals)";
    byStage.set(stage, (byStage.get(stage) ?? 0) + 1);
    total++;
  });
  return { total, byStage };
}

const load = await profiledReserveLoad({ dir, seconds, label: "profile", ...(root ? { root } : {}) });
// The request thread's profile is the process's first (thread 0).
const [file] = profilesOf(load, "request");
if (!file) throw new Error(`no profile of the request thread in ${dir}`);
const [, profile] = file;
const { total, byStage } = stagesOf(profile, load);
const msPerSample = (profile.endTime - profile.startTime) / profile.samples.length / 1000;
log(
  `request thread, during the load: ${total} busy samples, ≈ ${((total * msPerSample) / load.requests).toFixed(3)} ms per reservation (profiled), ${load.requests} reservations; profiles in ${dir}`,
);
for (const [stage, samples] of [...byStage].sort((a, b) => b[1] - a[1]))
  log(`${((100 * samples) / total).toFixed(1).padStart(5)}%  ${stage}`);
