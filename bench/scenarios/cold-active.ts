import { join } from "node:path";
import { SqliteDocumentStore } from "../../document-store/embedded/sqlite-document-store.js";
import { SqliteEventStore } from "../../event-store/embedded/sqlite-event-store.js";
import { ParkingLotCommandHandler } from "../../write-side/command-handler.js";
import { DocumentLotSnapshotStore } from "../../write-side/document-snapshot-store.js";
import { parkingLotStream } from "../../write-side/parking-lot/decider.js";
import {
  decodeSnapshot,
  encodeSnapshot,
  precompileSnapshotSchemas,
  SNAPSHOT_VERSION,
} from "../../write-side/parking-lot/snapshot.js";
import {
  ACTIVE_LOT_NOW,
  appendInThousands,
  BENCH_ACTOR,
  bookings,
  decidedAll,
  registered,
  reserveOn,
} from "../lib/active-lot.js";
import { log } from "../lib/log.js";
import { benchDataDir } from "../lib/processes.js";
import { fmtInt, median, round } from "../lib/stats.js";
import type { Scenario, ScenarioOutcome } from "./scenario.js";

/**
 * Issue 48's "done when" (and issue 50's cold lot): the first command after a restart on a lot of
 * 20,000 active open-ended bookings, loaded from its snapshot (the stream's last event), on a fresh
 * handler over fresh connections to both embedded stores (a restarted process), warmed up as the
 * service warms up at start; and apart, on the same data, reading the snapshot (its documents and
 * their JSON) and decoding it into the lot's state. Target: ≤ 50 ms end to end.
 */

const ACTIVE = 20_000;
const TARGET_MS = 50;
const _NOW = ACTIVE_LOT_NOW;
const ACTOR = BENCH_ACTOR;
const LOT = "cold-active";
const reserve = (i: number) => reserveOn(LOT, i);

/** The lot registered and booked ACTIVE times in the event log, and its snapshot at the last event. */
async function seed(dir: string): Promise<void> {
  const lot = registered(LOT, 100_000);
  const booked = decidedAll(lot.state, bookings(LOT, 0, ACTIVE));
  const state = booked.state;
  const events = [...lot.events, ...booked.events];
  const store = SqliteEventStore.open({ file: join(dir, "events.sqlite") });
  const documents = SqliteDocumentStore.open({ file: join(dir, "read-models.sqlite") });
  try {
    const stream = parkingLotStream(LOT);
    const revision = await appendInThousands(store, stream, events, "no_stream");
    let eventId = "";
    for await (const recorded of store.readStream(stream, { fromRevision: revision as number }))
      eventId = recorded.id;
    await new DocumentLotSnapshotStore(documents).save({
      parkingLotId: LOT,
      revision: revision as number,
      eventId,
      version: SNAPSHOT_VERSION,
      parts: encodeSnapshot(state),
    });
  } finally {
    await documents.close();
    await store.close();
  }
}

/** Milliseconds of the first command of a fresh handler (after its warm-up) on the seeded lot. */
async function coldCommand(dir: string, i: number): Promise<number> {
  const store = SqliteEventStore.open({ file: join(dir, "events.sqlite") });
  const documents = SqliteDocumentStore.open({ file: join(dir, "read-models.sqlite") });
  try {
    let use = "";
    const handler = new ParkingLotCommandHandler(store, {
      retryLimit: 3,
      cacheSize: 10,
      snapshots: new DocumentLotSnapshotStore(documents),
      hooks: { onLoad: (snapshot) => (use = snapshot) },
    });
    await handler.warmUp();
    const started = performance.now();
    const outcome = await handler.handle(reserve(10_000_000 + i), {
      correlationId: `cold-${i}`,
      commandId: `cold-${i}`,
      actor: ACTOR,
    });
    const ms = performance.now() - started;
    if (!outcome.ok) throw new Error(`the cold command was refused: ${outcome.rejection.code}`);
    if (use !== "used") throw new Error(`the cold lot was not loaded from its snapshot: ${use}`);
    return ms;
  } finally {
    await documents.close();
    await store.close();
  }
}

/** Milliseconds of reading the lot's snapshot (fresh connection) and of decoding it, apart. */
async function readAndDecode(dir: string): Promise<{ readMs: number; decodeMs: number }> {
  const documents = SqliteDocumentStore.open({ file: join(dir, "read-models.sqlite") });
  try {
    const snapshots = new DocumentLotSnapshotStore(documents);
    await snapshots.load(".warm-up");
    const read = performance.now();
    const stored = await snapshots.load(LOT);
    const decode = performance.now();
    if (!stored) throw new Error("the lot has no snapshot");
    const state = decodeSnapshot(stored.parts, LOT);
    const done = performance.now();
    if (state.kind !== "registered" || state.reservations.size !== ACTIVE)
      throw new Error("not the seeded lot");
    return { readMs: decode - read, decodeMs: done - decode };
  } finally {
    await documents.close();
  }
}

export const coldActiveScenario: Scenario = {
  name: "cold-active",
  title: "Cold lot of 20,000 active bookings: its first command after a restart, from its snapshot",
  async run(ctx): Promise<ScenarioOutcome> {
    const runs = ctx.quick ? 5 : 9;
    const data = benchDataDir("cold-active");
    try {
      await seed(data.dir);
      precompileSnapshotSchemas();
      const first: number[] = [];
      const read: number[] = [];
      const decoded: number[] = [];
      for (let i = 0; i < runs; i++) {
        first.push(round(await coldCommand(data.dir, i), 1));
        const apart = await readAndDecode(data.dir);
        read.push(round(apart.readMs, 1));
        decoded.push(round(apart.decodeMs, 1));
      }
      const ms = round(median(first), 1);
      log(`  first command on ${fmtInt(ACTIVE)} active: median ${ms} ms (${first.join(", ")})`);
      log(
        `  apart: reading the snapshot ${round(median(read), 1)} ms (${read.join(", ")}), decoding it ${round(median(decoded), 1)} ms (${decoded.join(", ")})`,
      );
      return {
        checks: [
          {
            target: `first command after a restart on a lot of ${fmtInt(ACTIVE)} active bookings ≤ ${TARGET_MS} ms`,
            measured: `median of ${runs}: ${ms} ms (${first.join(", ")})`,
            pass: ms <= TARGET_MS,
          },
        ],
        figures: {
          firstCommandMs: first,
          firstCommandMedianMs: ms,
          snapshotReadMs: read,
          snapshotReadMedianMs: round(median(read), 1),
          decodeMs: decoded,
          decodeMedianMs: round(median(decoded), 1),
        },
      };
    } finally {
      data.remove();
    }
  },
};
