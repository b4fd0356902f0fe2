import { lotIds } from "./lib/domain.js";
import { HttpClient } from "./lib/http.js";
import { log } from "./lib/log.js";
import { cpuSecondsOf, threadCpuSecondsOf, threadSplit } from "./lib/process-stats.js";
import { type BenchChild, benchDataDir, startService } from "./lib/processes.js";
import { loadInRounds } from "./lib/rounds.js";
import { CAPACITY, registerLots, waitForCatchUp } from "./lib/service-api.js";
import { median } from "./lib/stats.js";
import { CONNECTIONS, LOTS, spreadRequests, warmUp } from "./scenarios/reserve.js";

/**
 * The reserve load of scenario 1 on several copies of the service side by side, each started with
 * its own Node options (issue 50: the young generation's size, the V8 platform's threads), loaded
 * in alternating rounds so that the machine's load hits every copy alike: CPU per reservation
 * (whole process, each round and its catch-up), split by thread, per copy and round. A label
 * `name@dir` runs the copy of the tree at dir (e.g. `git archive <commit> | tar -x -C dir` with a
 * node_modules symlink), to compare code A vs B the same way.
 *
 *   npx tsx bench/node-flags.ts [--rounds 6] 'default=' 'semi64=--max-semi-space-size=64' …
 *   npx tsx bench/node-flags.ts 'base@/tmp/base=' 'change=' 'off=SOME_SWITCH=1'
 */
const argv = process.argv.slice(2);
const at = argv.indexOf("--rounds");
const rounds = at < 0 ? 6 : Number(argv[at + 1]);
const specs = argv.filter((a, i) => a.includes("=") && i !== at + 1);
const configs = specs.map((spec) => {
  const [name, args] = [spec.slice(0, spec.indexOf("=")), spec.slice(spec.indexOf("=") + 1)];
  const [label, root] = name.split("@") as [string, string | undefined];
  // Words `NAME=value` (not options) set the copy's environment, e.g. a switch to compare.
  const words = args.split(" ").filter(Boolean);
  const settings = words.filter((w) => !w.startsWith("-") && w.includes("="));
  const env = Object.fromEntries(
    settings.map((w) => [w.slice(0, w.indexOf("=")), w.slice(w.indexOf("=") + 1)]),
  );
  return { label, nodeArgs: words.filter((w) => !settings.includes(w)), env, ...(root ? { root } : {}) };
});
if (configs.length === 0) throw new Error("name at least one 'label=node options' to compare");

interface Copy {
  readonly label: string;
  readonly service: BenchChild;
  readonly http: HttpClient;
  readonly remove: () => void;
  readonly perRound: { ms: number; main: number; processors: number; rest: number; rps: number }[];
}

const lots = lotIds(LOTS);
const copies: Copy[] = [];
try {
  for (const { label, nodeArgs, env, root } of configs) {
    const data = benchDataDir(`flags-${label}`);
    const service = await startService(data.dir, { label, nodeArgs, env, ...(root ? { root } : {}) });
    const http = new HttpClient(service.url, 64);
    copies.push({ label, service, http, remove: data.remove, perRound: [] });
    await registerLots(http, lots, CAPACITY);
    await waitForCatchUp(http, 60_000);
  }
  const ctx = { quick: true } as Parameters<typeof warmUp>[0];
  for (const [i, copy] of copies.entries()) {
    await warmUp(ctx, copy.label, copy.service.url, spreadRequests(lots, 1_000_000 * (i + 1)));
    await waitForCatchUp(copy.http, 120_000);
  }
  const sides = Object.fromEntries(
    copies.map((copy, i) => {
      let before = { all: 0, threads: new Map<number, number>() };
      let served = 0;
      return [
        copy.label,
        {
          title: copy.label,
          server: copy.service,
          line: copy.label,
          requests: (_round: number, run: number) => {
            before = { all: cpuSecondsOf(copy.service.pid), threads: threadCpuSecondsOf(copy.service.pid) };
            return {
              next: spreadRequests(lots, 100_000_000 * (i + 1) + run * 1_000_000),
              onBody: (status: number) => {
                if (status === 201) served++;
              },
            };
          },
          after: async () => {
            await waitForCatchUp(copy.http, 300_000);
            const split = threadSplit(copy.service.pid, before.threads, threadCpuSecondsOf(copy.service.pid));
            const per = (seconds: number) => (seconds * 1000) / Math.max(1, served);
            const round = {
              ms: per(cpuSecondsOf(copy.service.pid) - before.all),
              main: per(split.main),
              processors: per(split.busiestOther),
              rest: per(split.rest),
              rps: served / 5,
            };
            served = 0;
            copy.perRound.push(round);
            return `${round.ms.toFixed(3)} ms CPU per reservation (${round.main.toFixed(3)} / ${round.processors.toFixed(3)} / ${round.rest.toFixed(3)})`;
          },
        },
      ];
    }),
  );
  await loadInRounds(rounds, CONNECTIONS, sides);
  log(
    "\nmedian over the rounds: CPU per reservation (request thread / processors' thread / others), reservations/s",
  );
  for (const copy of copies) {
    const mid = (pick: (r: Copy["perRound"][number]) => number) => median(copy.perRound.map(pick)).toFixed(3);
    log(
      `  ${copy.label.padEnd(10)} ${mid((r) => r.ms)} ms (${mid((r) => r.main)} / ${mid((r) => r.processors)} / ${mid((r) => r.rest)}), ${mid((r) => r.rps)}/s`,
    );
  }
} finally {
  for (const copy of copies) {
    copy.http.close();
    await copy.service.stop();
    copy.remove();
  }
}
