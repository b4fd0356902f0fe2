import { join } from "node:path";
import { v7 as uuidv7 } from "uuid";
import { SqliteDocumentStore } from "../../document-store/embedded/sqlite-document-store.js";
import type { Document } from "../../document-store/port.js";
import { encodeEvent } from "../../event-store/codec.js";
import { SqliteEventStore } from "../../event-store/embedded/sqlite-event-store.js";
import type { EventStore, EventToAppend } from "../../event-store/port.js";
import { COUPON_POLICY, couponStream } from "../../projections/coupon-policy/coupon-policy.js";
import { checkpointOp } from "../../projections/runtime/checkpoints.js";
import { LOT_SNAPSHOT_PARTS, LOT_SNAPSHOTS } from "../../write-side/document-snapshot-store.js";
import { parkingLotStream } from "../../write-side/parking-lot/decider.js";
import {
  causation,
  couponIssued,
  couponRevoked,
  lotRegistered,
  parkingReserved,
  reservationCanceled,
  reserveBody,
} from "../lib/domain.js";
import { HttpClient } from "../lib/http.js";
import { describeLoad, runLoad } from "../lib/load.js";
import { log, progress } from "../lib/log.js";
import { benchDataDir, startService } from "../lib/processes.js";
import { profiler } from "../lib/profiling.js";
import { waitForCatchUp } from "../lib/service-api.js";
import { fmtInt, ratio, round, Sample } from "../lib/stats.js";
import { CAPACITY } from "./reserve.js";
import type { Scenario, ScenarioResult } from "./scenario.js";

const SHORT_LOT = "history-10";
const LONG_LOT = "history-100k";
const CONNECTIONS = 16;

/**
 * A lot whose stream holds exactly `events` events: registered, then reserve/cancel pairs (each
 * with its coupon issued and revoked in the coupon stream), and a last reservation when the count
 * is even. Appended through the event store, many events per append.
 */
async function seedLot(
  store: EventStore,
  lot: string,
  events: number,
  first: number,
  onProgress?: (n: number) => void,
): Promise<number> {
  const stream = parkingLotStream(lot);
  const now = new Date().toISOString();
  await store.appendToStream(stream, [encodeEvent(lotRegistered(lot, CAPACITY, now), causation())], {
    expectedRevision: "no_stream",
  });
  let revision = 0;
  let i = first;
  const CHUNK = 1000;
  while (revision + 1 < events) {
    const lotEvents: EventToAppend[] = [];
    const coupons: Promise<unknown>[] = [];
    while (lotEvents.length < CHUNK && revision + 1 + lotEvents.length < events) {
      const id = uuidv7();
      const pair = revision + 1 + lotEvents.length + 2 <= events;
      lotEvents.push(encodeEvent(parkingReserved(id, lot, i, now), causation()));
      const coupon = [encodeEvent(couponIssued(id, lot, i, now), causation())];
      if (pair) {
        lotEvents.push(encodeEvent(reservationCanceled(id, lot, i, now), causation()));
        coupon.push(encodeEvent(couponRevoked(id, lot, i, now), causation()));
      }
      coupons.push(store.appendToStream(couponStream(id), coupon, { expectedRevision: "no_stream" }));
      i++;
    }
    await store.appendToStream(stream, lotEvents, { expectedRevision: revision });
    await Promise.all(coupons);
    revision += lotEvents.length;
    onProgress?.(revision + 1);
  }
  return revision + 1;
}

/** Takes the lot snapshots out of the document store (the service stopped); `put` puts them back. */
async function takeSnapshots(dataDir: string): Promise<{ put: () => Promise<void> }> {
  const file = join(dataDir, "read-models.sqlite");
  const documents = SqliteDocumentStore.open({ file });
  const taken: [string, Document[]][] = [];
  try {
    for (const collection of [LOT_SNAPSHOTS, LOT_SNAPSHOT_PARTS]) {
      taken.push([collection, await documents.find(collection, {})]);
      await documents.dropCollection(collection);
    }
  } finally {
    await documents.close();
  }
  return {
    async put() {
      const again = SqliteDocumentStore.open({ file });
      try {
        await again.write(
          taken.flatMap(([collection, docs]) =>
            docs.map((document) => ({ op: "replace" as const, collection, id: document._id, document })),
          ),
        );
      } finally {
        await again.close();
      }
    },
  };
}

/**
 * The first command on each lot in a fresh process (nothing cached), `rounds` times with the long
 * lot's snapshot in the store and as many times without (alternating; the snapshots are taken out
 * and put back between processes). LOT_SNAPSHOT_EVERY=0 meanwhile, so that no snapshot is made
 * (or remade) while measuring. The short lot goes first, so the long lot's command does not pay
 * for the process's first request.
 */
async function coldFirstCommands(
  dataDir: string,
  rounds: number,
): Promise<{ withSnapshot: number[]; withoutSnapshot: number[]; shortLot: number[] }> {
  const withSnapshot: number[] = [];
  const withoutSnapshot: number[] = [];
  /** The short lot's first command in the same processes: what a cold command costs without history. */
  const shortLot: number[] = [];
  let i = 0;
  for (let r = 0; r < rounds; r++) {
    for (const present of r % 2 === 0 ? [true, false] : [false, true]) {
      const taken = present ? undefined : await takeSnapshots(dataDir);
      const service = await startService(dataDir, {
        env: { LOT_SNAPSHOT_EVERY: "0" },
        label: `service (cold ${present ? "with" : "without"} snapshot)`,
      });
      const http = new HttpClient(service.url);
      try {
        await waitForCatchUp(http, 120_000);
        for (const lot of [SHORT_LOT, LONG_LOT]) {
          const response = await http.post(
            `/parking-lots/${lot}/reservations`,
            JSON.parse(reserveBody(4_000_000 + i++)),
          );
          if (response.status !== 201)
            throw new Error(`cold reservation on ${lot}: ${response.status} ${response.body}`);
          if (lot === LONG_LOT) (present ? withSnapshot : withoutSnapshot).push(round(response.ms));
          else shortLot.push(round(response.ms));
        }
      } finally {
        http.close();
        await service.stop();
        await taken?.put();
      }
      log(
        `  cold round ${r + 1}, ${present ? "with" : "without"} the snapshot: ${LONG_LOT} ${(present ? withSnapshot : withoutSnapshot).at(-1)} ms (${SHORT_LOT} before it: ${shortLot.at(-1)} ms)`,
      );
    }
  }
  return { withSnapshot, withoutSnapshot, shortLot };
}

function lotRequests(lot: string, offset: number) {
  let i = 0;
  return () => ({ path: `/parking-lots/${lot}/reservations`, body: reserveBody(offset + i++) });
}

/**
 * 3. Command cost against history: reservation latency on a lot whose stream has 10 events and
 * on one with 100,000 (seeded straight into the event store before the service starts), over
 * HTTP after a warm-up, in alternating rounds so that drift on the machine hits both alike; and
 * the cold first command on the long lot in a fresh process, with its lot snapshot and without.
 */
export const historyScenario: Scenario = {
  name: "history",
  title: "Command cost against history (10 vs 100,000 prior events)",
  async run(ctx): Promise<ScenarioResult> {
    const longEvents = 100_000;
    const data = benchDataDir("history");
    const store = SqliteEventStore.open({ file: join(data.dir, "events.sqlite") });
    const seedStarted = Date.now();
    const bar = progress("seeding");
    try {
      await seedLot(store, SHORT_LOT, 10, 0);
      await seedLot(store, LONG_LOT, longEvents, 1_000_000, (n) =>
        bar.update(`${LONG_LOT}: ${fmtInt(n)} / ${fmtInt(longEvents)} events`),
      );
      // The coupons of the seeded reservations are in the log already: the coupon policy starts at
      // the head, as it would have if it had issued them itself (the projectors still catch up).
      const head = await store.headPosition();
      const documents = SqliteDocumentStore.open({ file: join(data.dir, "read-models.sqlite") });
      try {
        await documents.write([checkpointOp(COUPON_POLICY, 1, { position: head, state: "running" })]);
      } finally {
        await documents.close();
      }
    } finally {
      await store.close();
    }
    const seedSec = (Date.now() - seedStarted) / 1000;
    bar.done(
      `${LONG_LOT} has ${fmtInt(longEvents)} events, ${SHORT_LOT} 10 (plus their coupon streams) in ${seedSec.toFixed(1)} s`,
    );

    // A first process catches up on the seeded history: the projections, and the lot snapshotter,
    // which snapshots the long lot (it has grown by far more than LOT_SNAPSHOT_EVERY).
    let catchUpMs: number;
    {
      const first = await startService(data.dir, { label: "service (catching up)" });
      const http = new HttpClient(first.url);
      try {
        const catchUp = progress("service catching up on the seeded history");
        catchUpMs = await waitForCatchUp(http, 600_000, (lag) => catchUp.update(`lag ${fmtInt(lag)} events`));
        catchUp.done(`caught up in ${(catchUpMs / 1000).toFixed(1)} s (projections and lot snapshots)`);
      } finally {
        http.close();
        await first.stop();
      }
      const documents = SqliteDocumentStore.open({ file: join(data.dir, "read-models.sqlite") });
      try {
        const header = await documents.findById(LOT_SNAPSHOTS, LONG_LOT);
        if (!header) throw new Error(`no snapshot of ${LONG_LOT} after the catch-up`);
        log(`  ${LONG_LOT} snapshotted at revision ${fmtInt(Number(header.revision))}`);
      } finally {
        await documents.close();
      }
    }
    const cold = await coldFirstCommands(data.dir, ctx.quick ? 1 : 3);
    const median = (xs: number[]) =>
      [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)] ?? Number.NaN;
    const coldWith = median(cold.withSnapshot);
    const coldWithout = median(cold.withoutSnapshot);
    log(
      `  cold first command on ${LONG_LOT} (fresh process): with its snapshot ${cold.withSnapshot.join(", ")} ms, without ${cold.withoutSnapshot.join(", ")} ms; on ${SHORT_LOT} ${cold.shortLot.join(", ")} ms`,
    );

    const prof = profiler(ctx, "history");
    const service = await startService(data.dir, prof.spawn);
    const http = new HttpClient(service.url);
    const rounds = ctx.quick ? 1 : 3;
    const roundSec = ctx.quick ? 3 : 5;
    const samples: Record<string, Sample> = { [SHORT_LOT]: new Sample(), [LONG_LOT]: new Sample() };
    const rps: Record<string, number[]> = { [SHORT_LOT]: [], [LONG_LOT]: [] };
    const first: Record<string, number> = {};
    let errors = 0;
    try {
      await waitForCatchUp(http, 120_000);
      // The first command on each lot loads its state (nothing is cached yet): the long lot's from
      // its snapshot and the few events after it.
      for (const lot of [SHORT_LOT, LONG_LOT]) {
        const response = await http.post(
          `/parking-lots/${lot}/reservations`,
          JSON.parse(reserveBody(5_000_000)),
        );
        if (response.status !== 201)
          throw new Error(`first reservation on ${lot}: ${response.status} ${response.body}`);
        first[lot] = round(response.ms);
      }
      log(
        `  first command (cold state load): ${SHORT_LOT} ${first[SHORT_LOT]} ms, ${LONG_LOT} ${first[LONG_LOT]} ms`,
      );
      for (const lot of [SHORT_LOT, LONG_LOT]) {
        await runLoad({
          title: `warm-up ${lot}`,
          url: service.url,
          connections: CONNECTIONS,
          durationSec: ctx.quick ? 1 : 2,
          method: "POST",
          next: lotRequests(lot, 6_000_000),
        });
      }
      await waitForCatchUp(http, 120_000);
      await prof.window(service.pid, "service under history load (both lots)", async () => {
        for (let r = 0; r < rounds; r++) {
          for (const lot of r % 2 === 0 ? [SHORT_LOT, LONG_LOT] : [LONG_LOT, SHORT_LOT]) {
            const samplesOf = samples[lot] as Sample;
            const result = await runLoad({
              title: lot,
              url: service.url,
              connections: CONNECTIONS,
              durationSec: roundSec,
              method: "POST",
              next: lotRequests(lot, 7_000_000 + r * 1_000_000 + (lot === LONG_LOT ? 500_000 : 0)),
              serverPid: service.pid,
              onLatency: (ms, status) => {
                if (status === 201) samplesOf.add(ms);
              },
            });
            errors += result.status.non2xx + result.errors;
            rps[lot]?.push(result.rps2xx);
            log(`  round ${r + 1} ${lot}: ${describeLoad(result)}`);
            await waitForCatchUp(http, 120_000);
          }
        }
      });
    } finally {
      http.close();
      await service.stop();
      data.remove();
    }

    const short = (samples[SHORT_LOT] as Sample).summary();
    const long = (samples[LONG_LOT] as Sample).summary();
    const p50Ratio = ratio(long.p50, short.p50);
    const p99Ratio = ratio(long.p99, short.p99);
    const mean = (xs: number[]) => Math.round(xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length));
    return {
      name: this.name,
      title: this.title,
      checks: [
        {
          target: "cold first command on a 100,000-event lot ≤ 50 ms (fresh process, with its snapshot)",
          measured: `median ${coldWith} ms with the snapshot (${cold.withSnapshot.join(", ")}), ${coldWithout} ms without (${cold.withoutSnapshot.join(", ")}); a 10-event lot's ${median(cold.shortLot)} ms`,
          pass: coldWith <= 50,
        },
        {
          target: "reserve latency on a 100,000-event lot ≤ 1.25× a 10-event lot",
          measured: `p50 ${long.p50} vs ${short.p50} ms (${p50Ratio}×), p99 ${long.p99} vs ${short.p99} ms (${p99Ratio}×)`,
          pass: p50Ratio <= 1.25 && p99Ratio <= 1.25 && errors === 0,
        },
      ],
      figures: {
        connections: CONNECTIONS,
        rounds,
        roundSec,
        seedSec,
        catchUpOnStartMs: catchUpMs,
        firstCommandMs: first,
        coldFirstCommandMs: {
          withSnapshot: cold.withSnapshot,
          withoutSnapshot: cold.withoutSnapshot,
          [SHORT_LOT]: cold.shortLot,
        },
        coldFirstCommandMedianMs: {
          withSnapshot: coldWith,
          withoutSnapshot: coldWithout,
          [SHORT_LOT]: median(cold.shortLot),
        },
        latencyMs: { [SHORT_LOT]: short, [LONG_LOT]: long },
        rps: { [SHORT_LOT]: mean(rps[SHORT_LOT] ?? []), [LONG_LOT]: mean(rps[LONG_LOT] ?? []) },
        ratios: { p50: p50Ratio, p99: p99Ratio },
        non2xxOrErrors: errors,
      },
      profiles: prof.summaries,
    };
  },
};
