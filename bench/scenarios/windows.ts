import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { SqliteDocumentStore } from "../../document-store/embedded/sqlite-document-store.js";
import { SqliteEventStore } from "../../event-store/embedded/sqlite-event-store.js";
import { createLogger } from "../../platform/logger.js";
import { ProcessorRuntime } from "../../projections/runtime/processor-runtime.js";
import { systemActor } from "../../schemas/actor.js";
import type { ParkingLotCommand } from "../../schemas/commands.js";
import { type CommandOutcome, ParkingLotCommandHandler } from "../../write-side/command-handler.js";
import { DocumentLotSnapshotStore } from "../../write-side/document-snapshot-store.js";
import { LotLoader } from "../../write-side/lot-loader.js";
import type { ParkingLotState } from "../../write-side/parking-lot/decider.js";
import { LOT_SNAPSHOTTER, lotSnapshotter } from "../../write-side/parking-lot/lot-snapshotter.js";
import { encodeSnapshot } from "../../write-side/parking-lot/snapshot.js";
import { log, progress } from "../lib/log.js";
import { benchDataDir } from "../lib/processes.js";
import { fmtInt, ratio, round, Sample } from "../lib/stats.js";
import type { Scenario, ScenarioResult } from "./scenario.js";

/*
 * Issue 9's two figures, in-process through the real command handler and the embedded stores (the
 * HTTP layer costs the same for both kinds of booking and would only blur the ratio):
 *
 * 1. The lot's memory as reservations end. One lot takes `history` bookings over a simulated
 *    clock (a booking every 30 s of lot time, mostly 1–3 h windows starting within the next two
 *    hours, one in five open-ended and canceled a little later), with the lot snapshotter running
 *    on the processor runtime as in the service (every LOT_SNAPSHOT_EVERY = 1,000 events). At
 *    checkpoints it reports the reservation records in the handler's lot state, how many the
 *    snapshots have archived, the stored snapshot's size, and the heap after a full GC; and, for
 *    comparison, the records of the lot folded from its whole stream (what every state held before
 *    ended reservations left it).
 * 2. Reserving with a window vs open-ended on that lot of 100,000 past reservations, at the real
 *    clock: alternating rounds of sequential commands (each awaited: decide + append + fsync-free
 *    WAL commit), windows of 1–4 h over the next week against open-ended bookings. Target: the
 *    windowed p50 at most 1.25× the open-ended one.
 */

const ROUNDS = 6;
const LOT = "windows-bench";
const logger = createLogger("silent");
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const SNAPSHOT_EVERY = 1000;

/** A full GC, if this V8 allows it (flags set at run time apply to functions made after). */
function collectGarbage(): () => void {
  try {
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    return () => {
      gc();
      gc();
    };
  } catch {
    return () => undefined;
  }
}

type Accepted = Extract<CommandOutcome, { ok: true }>;
const context = () => ({ correlationId: randomUUID(), commandId: randomUUID(), actor: systemActor("bench") });
const iso = (ms: number) => new Date(ms).toISOString();

/** A booking on the bench's lot at `now`: for the window [start, end), or open-ended. */
const booking = (
  reservationId: string,
  customerId: string,
  now: number,
  window?: readonly [number, number],
): ParkingLotCommand => ({
  type: "ReserveParking",
  parkingLotId: LOT,
  reservationId,
  customerId,
  carNumber: "12가3456",
  amount: 3000,
  ...(window ? { startsAt: iso(window[0]), endsAt: iso(window[1]) } : {}),
  now: iso(now),
});

export const windowsScenario: Scenario = {
  name: "windows",
  title:
    "Windowed vs open-ended reservations on a lot with 100,000 past ones; lot memory as reservations end",
  async run(ctx): Promise<ScenarioResult> {
    const history = ctx.quick ? 20_000 : 100_000;
    const perRound = ctx.quick ? 200 : 500;
    const checkpoints = ctx.quick ? [5_000, 10_000, 20_000] : [10_000, 25_000, 50_000, 100_000];
    const gc = collectGarbage();
    const data = benchDataDir("windows");
    const events = SqliteEventStore.open({ file: join(data.dir, "events.sqlite"), pollIntervalMs: 20 });
    const docs = SqliteDocumentStore.open({ file: join(data.dir, "read-models.sqlite") });
    const runtime = new ProcessorRuntime({
      processors: [lotSnapshotter({ every: SNAPSHOT_EVERY })],
      eventStore: events,
      documentStore: docs,
      logger,
      batchSize: 500,
      generation: "active",
    });
    const snapshots = new DocumentLotSnapshotStore(docs);
    const handler = new ParkingLotCommandHandler(events, { retryLimit: 5, cacheSize: 100, snapshots });
    try {
      await runtime.start();
      // Lot time starts far enough back that `history` bookings every 30 s end before the real now.
      const realNow = Date.now();
      let now = realNow - history * 30_000 - 2 * 24 * HOUR;
      const send = async (command: ParkingLotCommand): Promise<Accepted> => {
        const outcome = await handler.handle(command, context());
        if (!outcome.ok) throw new Error(`${command.type} refused: ${outcome.rejection.code}`);
        return outcome;
      };
      await send({
        type: "RegisterParkingLot",
        parkingLotId: LOT,
        name: "창원 시청 주차장",
        capacity: 100_000,
        now: iso(now),
      });

      // 1. History, with the lot state's size at each checkpoint.
      const memory: Record<string, unknown>[] = [];
      const building = progress("booking the history");
      let state: ParkingLotState | undefined;
      const toCancel: string[] = [];
      /** Windows booked and never used, with when each ends, soonest first. */
      const unused: [string, number][] = [];
      const BATCH = 100;
      for (let made = 0; made < history; ) {
        const batch: Promise<Accepted>[] = [];
        for (let k = 0; k < BATCH && made < history; k++, made++) {
          now += 30_000;
          const id = `h-${made}`;
          const openEnded = made % 5 === 4;
          const start = now + (made % 8) * 15 * MINUTE;
          batch.push(
            send(
              booking(
                id,
                `C${made % 997}`,
                now,
                openEnded ? undefined : [start, start + (1 + (made % 3)) * HOUR],
              ),
            ),
          );
          if (openEnded) toCancel.push(id);
          else unused.push([id, start + (1 + (made % 3)) * HOUR]);
        }
        // What the scheduler does in the service: the windows over unused are recorded as no-shows
        // (until then the lot keeps them: RecordNoShow can still change them).
        while (unused.length > 0 && (unused[0]?.[1] ?? Number.POSITIVE_INFINITY) <= now) {
          const [id] = unused.shift() as [string, number];
          batch.push(send({ type: "RecordNoShow", parkingLotId: LOT, reservationId: id, now: iso(now) }));
        }
        // The open-ended ones of the batch before are canceled now: they end a little later.
        for (const id of toCancel.splice(0, toCancel.length - 1))
          batch.push(
            send({
              type: "CancelReservation",
              parkingLotId: LOT,
              reservationId: id,
              reason: "plans changed",
              now: iso(now),
            }),
          );
        const outcomes = await Promise.all(batch);
        state = outcomes.at(-1)?.state ?? state;
        if (checkpoints.includes(made)) {
          await caughtUp(runtime, events);
          const stored = await snapshots.load(LOT);
          gc();
          const heap = process.memoryUsage().heapUsed;
          const records = state?.kind === "registered" ? state.reservations.size : 0;
          const archived = state?.kind === "registered" ? state.archived : 0;
          const row = {
            reservations: made,
            stateRecords: records,
            archivedAtLastLoad: archived,
            snapshotRecords: stored
              ? Number((stored.parts[0] as { reservations?: number }).reservations ?? 0)
              : 0,
            snapshotKiB: stored ? Math.round(JSON.stringify(stored.parts).length / 1024) : 0,
            heapMiB: round(heap / 2 ** 20, 1),
          };
          memory.push(row);
          log(
            `  ${fmtInt(made)} reservations made: ${fmtInt(records)} records in the handler's lot state, snapshot ${fmtInt(row.snapshotRecords)} records (${fmtInt(row.snapshotKiB)} KiB), heap ${row.heapMiB} MiB`,
          );
        }
        building.update(`${fmtInt(made)} / ${fmtInt(history)}`);
      }
      building.done(
        `${fmtInt(history)} reservations booked over ${round((now - (realNow - history * 30_000 - 2 * 24 * HOUR)) / (24 * HOUR), 1)} days of lot time`,
      );
      const whole = await new LotLoader(events).load(LOT);
      const wholeRecords = whole.state.kind === "registered" ? whole.state.reservations.size : 0;
      const wholeKiB = Math.round(JSON.stringify(encodeSnapshot(whole.state)).length / 1024);
      log(
        `  the same lot folded from its whole stream (no archive): ${fmtInt(wholeRecords)} records, ${fmtInt(wholeKiB)} KiB as a snapshot`,
      );

      // 2. Windowed vs open-ended at the real clock, alternating rounds.
      const windowed = new Sample();
      const openEnded = new Sample();
      let n = 0;
      for (let round_ = 0; round_ < ROUNDS; round_++) {
        for (const kind of round_ % 2 === 0
          ? (["windowed", "open"] as const)
          : (["open", "windowed"] as const)) {
          const sample = kind === "windowed" ? windowed : openEnded;
          for (let k = 0; k < perRound; k++, n++) {
            const at = Date.now();
            const start = at + (n % (7 * 24)) * HOUR;
            const command = booking(
              `m-${n}`,
              `M${n}`,
              at,
              kind === "windowed" ? [start, start + (1 + (n % 4)) * HOUR] : undefined,
            );
            const t0 = process.hrtime.bigint();
            await send(command);
            sample.add(Number(process.hrtime.bigint() - t0) / 1e6);
          }
        }
      }
      const w = windowed.summary();
      const o = openEnded.summary();
      const cost = ratio(w.p50, o.p50);
      log(
        `  windowed: p50 ${w.p50} ms, p99 ${w.p99} ms; open-ended: p50 ${o.p50} ms, p99 ${o.p99} ms (${ROUNDS} alternating rounds of ${perRound})`,
      );

      const first = memory[0] as { stateRecords: number; heapMiB: number } | undefined;
      const last = memory.at(-1) as
        | { stateRecords: number; heapMiB: number; reservations: number }
        | undefined;
      return {
        name: "windows",
        title: this.title,
        checks: [
          {
            target: `windowed reservation ≤ 1.25× open-ended on a lot of ${fmtInt(history)} past reservations`,
            measured: `p50 ${w.p50} vs ${o.p50} ms (${cost}×), p99 ${w.p99} vs ${o.p99} ms`,
            pass: cost <= 1.25,
          },
          {
            target: "the lot's memory stays flat as reservations end",
            measured:
              last && first
                ? `${fmtInt(first.stateRecords)} → ${fmtInt(last.stateRecords)} records in the lot state from ${fmtInt(checkpoints[0] ?? 0)} to ${fmtInt(last.reservations)} reservations (the whole fold holds ${fmtInt(wholeRecords)}); heap ${first.heapMiB} → ${last.heapMiB} MiB`
                : "not measured",
            pass:
              last !== undefined &&
              first !== undefined &&
              last.stateRecords <= Math.max(2 * first.stateRecords, 5000),
          },
        ],
        figures: {
          history,
          memory,
          wholeFold: { records: wholeRecords, snapshotKiB: wholeKiB },
          windowedMs: w,
          openEndedMs: o,
          windowedOverOpenEnded: cost,
        },
      };
    } finally {
      await runtime.stop();
      await events.close();
      await docs.close();
      data.remove();
    }
  },
};

/** Until the snapshotter has handled the whole log. */
async function caughtUp(runtime: ProcessorRuntime, events: SqliteEventStore): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const head = (await events.headPosition())?.commit;
    const status = runtime.status().find((s) => s.name === LOT_SNAPSHOTTER);
    if (status?.state === "failed") throw new Error(`the snapshotter failed: ${status.error}`);
    if (status?.position?.commit === head) return;
    if (Date.now() > deadline) throw new Error("the snapshotter did not catch up within 2 minutes");
    await new Promise((r) => setTimeout(r, 50));
  }
}
