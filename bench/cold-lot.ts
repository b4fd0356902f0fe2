import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { SqliteEventStore } from "../event-store/embedded/sqlite-event-store.js";
import { SqliteDataKeys } from "../platform/data-keys/sqlite-data-keys.js";
import { usePersonalDataKeys } from "../schemas/personal-data.js";
import { ParkingLotCommandHandler } from "../write-side/command-handler.js";
import { LotLoader } from "../write-side/lot-loader.js";
import { liveState, openingOf } from "../write-side/parking-lot/period-books.js";
import { parkingLotStream } from "../write-side/parking-lot/periods.js";
import {
  ACTIVE_LOT_NOW,
  appendInThousands,
  BENCH_ACTOR,
  bookings,
  decidedAll,
  encodedForBench,
  registered,
  reserveOn,
} from "./lib/active-lot.js";

/**
 * Issue 68: where the first command after a restart on a lot of 20,000 active bookings spends its
 * time (the lot-periods scenario's lot, a period one event short of its bound), in process: the
 * opening alone (read from the store, decoded, its state built), the whole load (opening and tail),
 * the close of its books (the next opening built and encoded: what the command that reaches the
 * bound leaves to do after its answer), and the first command of a fresh handler; wall and CPU
 * time, min and median of `--runs`. `--sealed` installs data
 * keys (a SQLite key store, each booking's customer with its own key) as every real DATA_DIR has:
 * the opening's personal values are sealed, and opened on the load.
 *
 *   npx tsx bench/cold-lot.ts [--runs 11] [--bound 4000] [--sealed] [--profile FILE [--phase load]]
 */
const { values } = parseArgs({
  options: {
    runs: { type: "string" },
    bound: { type: "string" },
    sealed: { type: "boolean" },
    profile: { type: "string" },
    phase: { type: "string" },
  },
});
const runs = Number(values.runs ?? 11);
const bound = Number(values.bound ?? 4000);
const ACTIVE = 20_000;
const LOT = "cold-lot";
const dir = mkdtempSync(join(tmpdir(), "cold-lot-"));
const file = join(dir, "events.sqlite");
const keys = values.sealed ? SqliteDataKeys.open(join(dir, "keys.sqlite")) : undefined;
usePersonalDataKeys(keys);

const tail = bound - runs - 2;
{
  const { state } = decidedAll(registered(LOT, 1_000_000).state, bookings(LOT, 0, ACTIVE));
  const store = SqliteEventStore.open({ file });
  const stream = parkingLotStream(LOT, 1);
  const opened = await store.appendToStream(
    stream,
    [encodedForBench(openingOf(state, LOT, 1, ACTIVE_LOT_NOW))],
    {
      expectedRevision: "no_stream",
    },
  );
  const { events } = decidedAll(state, bookings(LOT, ACTIVE, tail));
  await appendInThousands(store, stream, events, opened.nextExpectedRevision);
  await store.close();
}

const session = values.profile ? new Session() : undefined;
session?.connect();
await session?.post("Profiler.enable");
await session?.post("Profiler.setSamplingInterval", { interval: 100 });
/** `--phase`: the one phase profiled (each run's profile written to FILE.<run>), else every run whole. */
const profiled = values.phase;
if (!profiled) await session?.post("Profiler.start");
const phases = {
  opening: [] as number[],
  load: [] as number[],
  close: [] as number[],
  command: [] as number[],
};
/** The same phases in CPU time (this process's, every thread): what a loaded machine disturbs less. */
const cpu = { opening: [] as number[], load: [] as number[], close: [] as number[], command: [] as number[] };
let t = 0;
let c = process.cpuUsage();
let run = 0;
const start = async (phase: keyof typeof phases) => {
  if (session && phase === profiled) await session.post("Profiler.start");
  c = process.cpuUsage();
  t = performance.now();
};
const stop = async (phase: keyof typeof phases) => {
  phases[phase].push(performance.now() - t);
  const { user, system } = process.cpuUsage(c);
  cpu[phase].push((user + system) / 1000);
  if (session && values.profile && phase === profiled) {
    const { profile } = await session.post("Profiler.stop");
    writeFileSync(`${values.profile}.${run}`, JSON.stringify(profile));
  }
};
for (let i = 0; i < runs; i++) {
  const store = SqliteEventStore.open({ file });
  const handler = new ParkingLotCommandHandler(store, {
    retryLimit: 3,
    cacheSize: 10,
    periodEvents: bound,
    now: () => ACTIVE_LOT_NOW,
  });
  await handler.warmUp();
  const loader = new LotLoader(store);
  await start("opening");
  await loader.catchUp(
    parkingLotStream(LOT, 1),
    { state: { kind: "none" } as never, revision: -1, position: null },
    (r) => r.revision === 0,
  );
  await stop("opening");
  await start("load");
  const { state } = await loader.load(LOT);
  await stop("load");
  // What the command that reaches the bound leaves to do after its answer: the next opening, sealed.
  await start("close");
  encodedForBench(openingOf(liveState(state, ACTIVE_LOT_NOW), LOT, 2, ACTIVE_LOT_NOW));
  await stop("close");
  await start("command");
  const outcome = await handler.handle(reserveOn(LOT, 10_000_000 + i), {
    correlationId: `cold-${i}`,
    commandId: `cold-${i}`,
    actor: BENCH_ACTOR,
  });
  await stop("command");
  if (!outcome.ok) throw new Error(`refused: ${outcome.rejection.code}`);
  await store.close();
  run++;
}
if (session && values.profile && !profiled) {
  const { profile } = await session.post("Profiler.stop");
  writeFileSync(values.profile, JSON.stringify(profile));
}
keys?.close();
rmSync(dir, { recursive: true, force: true });
const ms = (t: number | undefined) => `${(t ?? Number.NaN).toFixed(1)}`;
const line = (name: string, times: number[]) => {
  const sorted = [...times].sort((a, b) => a - b);
  const cpuSorted = [...cpu[name as keyof typeof cpu]].sort((a, b) => a - b);
  const median = (of: number[]) => ms(of[Math.floor(of.length / 2)]);
  return `${name} min ${ms(sorted[0])} / median ${median(sorted)} ms (CPU min ${ms(cpuSorted[0])} / median ${median(cpuSorted)})`;
};
console.log(
  `cold lot of ${ACTIVE.toLocaleString("en")} active, bound ${bound} (tail ${tail}), ${values.sealed ? "sealed" : "no keys"}, ${runs} runs, load ${loadavg()[0]?.toFixed(1)}: ` +
    [
      line("opening", phases.opening),
      line("load", phases.load),
      line("close", phases.close),
      line("command", phases.command),
    ].join("; "),
);
