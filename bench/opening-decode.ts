import { join, resolve } from "node:path";
import { parseArgs } from "node:util";

/**
 * Issue 68: what a cold load pays for a period's opening of a lot of 20,000 active open-ended
 * bookings (each by its own customer), in process: the stored event's size, then reading it back
 * as the command side does after a restart (the stored JSON parsed, the event decoded: upcast and
 * validated against its schema, then `openedState`), the minimum and median of `--runs` reads
 * (the minimum is the figure a busy machine disturbs least). No data keys (nothing sealed: opening
 * the 20,000 sealed values adds its own cost: bench/cold-lot.ts --sealed). `--root dir` measures
 * the copy of the code at dir (e.g. 6470fd1's, whose opening held the state codec).
 *
 *   npx tsx bench/opening-decode.ts [--runs 15] [--root /tmp/old-6470fd1]
 */
const { values } = parseArgs({ options: { runs: { type: "string" }, root: { type: "string" } } });
const root = resolve(values.root ?? join(import.meta.dirname, ".."));
const runs = Number(values.runs ?? 15);
const from = (path: string) => import(join(root, path));
const { decidedAll, registered, bookings, encodedForBench, ACTIVE_LOT_NOW } =
  await from("bench/lib/active-lot.ts");
const { openingOf } = await from("write-side/parking-lot/period-books.ts");
const { openedState } = await from("write-side/parking-lot/periods.ts");
const { decodeEvent } = await from("schemas/event-codec.ts");
const { fromBigInt } = await from("event-store/position.ts");
const { warmUpCommandPath } = await from("write-side/warm-up.ts");

const LOT = "opening-bench";
const ACTIVE = 20_000;
const { state } = decidedAll(registered(LOT, 1_000_000).state, bookings(LOT, 0, ACTIVE));
const stored = encodedForBench(openingOf(state, LOT, 1, ACTIVE_LOT_NOW));
const json = JSON.stringify(stored.data);
const metadata = JSON.stringify(stored.metadata);
warmUpCommandPath();

const times: number[] = [];
for (let i = 0; i < runs; i++) {
  const started = performance.now();
  const { event } = decodeEvent({
    id: `opening-${i}`,
    streamId: `parkingLot-${LOT}/1`,
    revision: 0,
    position: fromBigInt(1n, 1n),
    type: stored.type,
    data: JSON.parse(json),
    metadata: JSON.parse(metadata),
    createdAt: new Date(ACTIVE_LOT_NOW),
  });
  const lot = openedState(event.data);
  times.push(performance.now() - started);
  if (lot.kind !== "registered" || lot.reservations.size !== ACTIVE) throw new Error("not the lot it stored");
}
times.sort((a, b) => a - b);
const ms = (t: number | undefined) => `${(t ?? Number.NaN).toFixed(1)} ms`;
const [load] = (await import("node:os")).loadavg();
console.log(
  `${root}: opening of ${ACTIVE.toLocaleString("en")} active bookings, ${(json.length / 1e6).toFixed(2)} MB stored; ` +
    `read back (parse, decode, state) min ${ms(times[0])}, median ${ms(times[Math.floor(runs / 2)])} of ${runs}; load ${load?.toFixed(1)}`,
);
