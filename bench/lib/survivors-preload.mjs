// What survives the young generation, per allocation site (issue 50), in every thread of a service
// the bench starts: a preload (`--import`) that runs V8's sampling heap profiler from SURVIVORS_AT
// ms after the thread's start for SURVIVORS_FOR ms, leaving out the objects freed by scavenges
// (`includeObjectsCollectedByMinorGC: false`; those a full GC freed later stay counted), then
// writes the profile (`.heapprofile`, which Chrome's DevTools opens) and its top sites to
// SURVIVORS_DIR. Plain JavaScript, so that it loads into the production build without tsx. A
// thread that ends before SURVIVORS_AT + SURVIVORS_FOR writes nothing: give the bench rounds enough.
//
//   SURVIVORS_DIR=/tmp/s SURVIVORS_AT=12000 SURVIVORS_FOR=12000 \
//     npx tsx bench/node-flags.ts --rounds 6 'survivors=--import=./bench/lib/survivors-preload.mjs'
import { mkdirSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector";
import { join } from "node:path";
import { isMainThread, threadId } from "node:worker_threads";

const dir = process.env.SURVIVORS_DIR ?? "/tmp/survivors";
const at = Number(process.env.SURVIVORS_AT ?? 12_000);
const span = Number(process.env.SURVIVORS_FOR ?? 12_000);
const name = isMainThread ? "request-thread" : `thread-${threadId}`;

/** Bytes per allocation site (function, file, line), largest first, as lines of text. */
function topSites(profile, count) {
  const bySite = new Map();
  let total = 0;
  const visit = (node) => {
    const { functionName, url, lineNumber } = node.callFrame;
    if (node.selfSize > 0) {
      const site = `${functionName || "(anonymous)"} ${url.replace(/^.*\/node_modules\//, "")}:${lineNumber + 1}`;
      bySite.set(site, (bySite.get(site) ?? 0) + node.selfSize);
      total += node.selfSize;
    }
    for (const child of node.children) visit(child);
  };
  visit(profile.head);
  const lines = [...bySite]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([site, bytes]) => `${((100 * bytes) / total).toFixed(1).padStart(5)}%  ${site}`);
  return [`${(total / 1e6).toFixed(1)} MB survived a scavenge in ${span} ms`, ...lines].join("\n");
}

const session = new Session();
session.connect();
setTimeout(() => {
  session.post("HeapProfiler.startSampling", {
    samplingInterval: 4096,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: false,
  });
  setTimeout(() => {
    session.post("HeapProfiler.getSamplingProfile", (error, result) => {
      if (error) {
        process.stderr.write(`survivors-preload (${name}): no profile: ${error.message}\n`);
        return;
      }
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, `${name}.heapprofile`), JSON.stringify(result.profile));
      writeFileSync(join(dir, `${name}.txt`), `${topSites(result.profile, 40)}\n`);
    });
  }, span).unref();
}, at).unref();
