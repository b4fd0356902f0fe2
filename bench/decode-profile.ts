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
 * What decoding events costs the processors' thread (issue 50): the reserve load of scenario 1 on
 * a service started with `--cpu-prof` (as bench/reserve-profile.ts, which looks at the request
 * thread), lots registered and warmed up, then `--seconds` of load and its catch-up; of each other
 * thread's busy samples in that window, the share under `decodeEvent` (with what it calls), and
 * within it the key store's lookups, the events' schema check and the opening of sealed fields.
 * `--root dir` profiles the copy of the code at dir.
 *
 *   npx tsx bench/decode-profile.ts [--seconds 12] [--root /tmp/base] [--dir /tmp/prof]
 */
const { seconds, root, dir } = profileOptions("decode-profile");

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

/** Busy samples of the profile in the load's window, those under decodeEvent, and per part of it. */
function decodingOf(profile: CpuProfile, window: ProfiledLoad) {
  const parts = new Map(PARTS.map(([name]) => [name, 0]));
  let busy = 0;
  let decode = 0;
  busySamples(profile, window, (stack) => {
    busy++;
    if (!stack.has(decoding)) return;
    decode++;
    for (const [name, claims] of PARTS) if (stack.has(claims)) parts.set(name, (parts.get(name) ?? 0) + 1);
  });
  return { busy, decode, parts };
}

const load = await profiledReserveLoad({
  dir,
  seconds,
  label: "decode-profile",
  catchUp: true,
  ...(root ? { root } : {}),
});
// Every thread but the request thread (thread 0): the processors' is the one that decodes.
for (const [file, profile] of profilesOf(load, "others")) {
  const { busy, decode, parts } = decodingOf(profile, load);
  if (decode === 0) continue;
  const share = (samples: number) => `${((100 * samples) / busy).toFixed(1)}%`;
  log(
    `${file}: ${busy} busy samples, ${load.requests} reservations; decodeEvent ${share(decode)} of the thread`,
  );
  for (const [name, samples] of parts) log(`  ${share(samples).padStart(6)}  ${name}`);
}
