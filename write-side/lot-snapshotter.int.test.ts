import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { SqliteDocumentStore } from "../document-store/embedded/sqlite-document-store.js";
import { DocumentStoreUnavailableError } from "../document-store/port.js";
import { SqliteEventStore } from "../event-store/embedded/sqlite-event-store.js";
import type { EventStore } from "../event-store/port.js";
import { createLogger } from "../platform/logger.js";
import { Metrics } from "../platform/metrics.js";
import { ProcessorRuntime } from "../projections/runtime/processor-runtime.js";
import { systemActor } from "../schemas/actor.js";
import type { ParkingLotCommand } from "../schemas/commands.js";
import { countingReads } from "../test-support/counting-event-store.js";
import { seedLotEvents } from "../test-support/seed.js";
import { eventually, tempDataDir } from "../test-support/service.js";
import { type CommandOutcome, ParkingLotCommandHandler } from "./command-handler.js";
import {
  DocumentLotSnapshotStore,
  ENDED_RESERVATIONS,
  LOT_SNAPSHOT_PARTS,
  LOT_SNAPSHOTS,
} from "./document-snapshot-store.js";
import { LotLoader } from "./lot-loader.js";
import { LOT_SNAPSHOTTER, lotSnapshotter } from "./lot-snapshotter.js";
import { decide } from "./parking-lot/decider.js";
import { SNAPSHOT_VERSION } from "./parking-lot/snapshot.js";
import { reservationIdFor } from "./reservation-ids.js";

/** Issue 48: these cases grow period 0 past the bound on purpose, to test its snapshots: its books never close here. */
const NO_PERIODS = 0;

/*
 * The lot snapshotter on the processor runtime, with the embedded stores: it snapshots a lot each
 * time its stream grows by EVERY events, carries on from its checkpoint after a restart, and a
 * command handler that starts cold loads the snapshot and only the events after it, deciding
 * exactly as the whole fold would.
 */

const EVERY = 500;
const logger = createLogger("silent");
const NOW = () => new Date().toISOString();
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function openStores() {
  const data = tempDataDir("lot-snapshotter-");
  const events = SqliteEventStore.open({ file: join(data.dir, "events.sqlite"), pollIntervalMs: 20 });
  const docs = SqliteDocumentStore.open({ file: join(data.dir, "read-models.sqlite") });
  cleanups.push(
    data.remove,
    () => events.close(),
    () => docs.close(),
  );
  return { events, docs };
}

type Stores = ReturnType<typeof openStores>;

async function startSnapshotter({ events, docs }: Stores, metrics?: Metrics): Promise<ProcessorRuntime> {
  const runtime = new ProcessorRuntime({
    processors: [lotSnapshotter({ every: EVERY })],
    eventStore: events,
    documentStore: docs,
    logger,
    ...(metrics ? { metrics } : {}),
    batchSize: 200,
    generation: "active",
  });
  await runtime.start();
  cleanups.push(() => runtime.stop());
  return runtime;
}

/** Until the runtime has handled the whole log. */
async function caughtUp(runtime: ProcessorRuntime, events: EventStore): Promise<void> {
  await eventually(
    async () => {
      const head = (await events.headPosition())?.commit;
      const status = runtime.status().find((s) => s.name === LOT_SNAPSHOTTER);
      if (status?.state === "failed") throw new Error(status.error);
      return status?.position?.commit === head ? true : undefined;
    },
    30_000,
    "the snapshotter at the head of the log",
  );
}

const context = () => ({ correlationId: randomUUID(), commandId: randomUUID(), actor: systemActor("test") });
const reserve = (lot: string, id: string, customer = `C-${id}`): ParkingLotCommand => ({
  type: "ReserveParking",
  reservationId: id,
  parkingLotId: lot,
  customerId: customer,
  carNumber: "10더8612",
  amount: 5000,
  now: NOW(),
});
const cancel = (lot: string, id: string): ParkingLotCommand => ({
  type: "CancelReservation",
  reservationId: id,
  parkingLotId: lot,
  reason: "plans changed",
  now: NOW(),
});

/** `n` more reservations on a lot, through a handler of their own. */
async function grow(events: EventStore, lot: string, n: number, tag: string): Promise<void> {
  const handler = new ParkingLotCommandHandler(events, {
    periodEvents: NO_PERIODS,
    retryLimit: 5,
    cacheSize: 10,
  });
  const answers = await Promise.all(
    Array.from({ length: n }, (_, i) => handler.handle(reserve(lot, `${tag}-${i}`), context())),
  );
  expect(answers.every((a) => a.ok && a.events.length === 1)).toBe(true);
}

const revisionOf = async (events: EventStore, lot: string) =>
  (await new LotLoader(events).load(lot)).revision;

/** What the whole fold decides for `command` now: the events it would append, or its rejection. */
async function expectedFor(events: EventStore, command: ParkingLotCommand) {
  const decision = decide(command, (await new LotLoader(events).load(command.parkingLotId)).state);
  return decision.ok ? { events: decision.events } : { rejection: decision.rejection };
}
const answered = (o: CommandOutcome) => (o.ok ? { events: o.events } : { rejection: o.rejection });

/** A lot registered, then `bookings` reservations in batches under a period bound; the lot as it stands then. */
async function bookedInPeriods(
  events: EventStore,
  lot: string,
  { bound, bookings, batch }: { bound: number; bookings: number; batch: number },
) {
  const handler = new ParkingLotCommandHandler(events, { periodEvents: bound, retryLimit: 5, cacheSize: 10 });
  const register = { type: "RegisterParkingLot", parkingLotId: lot, name: lot, capacity: 5000, now: NOW() };
  await handler.handle(register as ParkingLotCommand, context());
  for (let i = 0; i < bookings; i += batch) {
    const commands = Array.from({ length: batch }, (_, j) => reserve(lot, `${lot}-${i + j}`));
    const answers = await Promise.all(commands.map((command) => handler.handle(command, context())));
    expect(answers.every((a) => a.ok)).toBe(true);
  }
  await handler.lotSettled(lot);
  return new LotLoader(events).load(lot);
}

/** A handler started cold over the snapshots, counting its reads and what became of each snapshot it loaded. */
function coldHandler(events: EventStore, snapshots: DocumentLotSnapshotStore) {
  const counter = countingReads(events);
  const loads: string[] = [];
  const cold = new ParkingLotCommandHandler(counter.store, {
    retryLimit: 0,
    cacheSize: 10,
    snapshots,
    hooks: { onLoad: (use) => loads.push(use) },
  });
  return { counter, loads, cold };
}

describe("the lot snapshotter", () => {
  it("snapshots a lot once its stream has grown by EVERY events; a cold handler reads the snapshot and only the tail, and decides as the whole fold", async () => {
    const stores = openStores();
    const { events, docs } = stores;
    // Two lots of 1 + 1,500 + 500 = 2,001 events each, and a small one.
    await seedLotEvents(events, { lots: 2, capacity: 5000, reservations: 3000, cancellations: 1000 });
    await grow(events, "small", 0, "none");
    await new ParkingLotCommandHandler(events, {
      periodEvents: NO_PERIODS,
      retryLimit: 5,
      cacheSize: 10,
    }).handle(
      { type: "RegisterParkingLot", parkingLotId: "small", name: "Small", capacity: 50, now: NOW() },
      context(),
    );
    await grow(events, "small", 20, "s");

    const metrics = new Metrics({ defaultMetrics: false });
    const runtime = await startSnapshotter(stores, metrics);
    await caughtUp(runtime, events);
    const snapshots = new DocumentLotSnapshotStore(docs);
    // Each long lot snapshotted at its head (the snapshotter loads to the stream's end), once.
    expect(await snapshots.revisions(["lot-1", "lot-2", "small"])).toEqual(
      new Map([
        ["lot-1", 2000],
        ["lot-2", 2000],
      ]),
    );
    const written = async () =>
      (await metrics.lotSnapshots.get()).values.find((v) => v.labels.outcome === "written")?.value;
    expect(await written()).toBe(2);

    // Fewer than EVERY more events: no new snapshot.
    await grow(events, "lot-1", 120, "a");
    await caughtUp(runtime, events);
    expect((await snapshots.revisions(["lot-1"])).get("lot-1")).toBe(2000);

    // A command handler with an empty cache: the snapshot, then only the 120 events after it.
    const counter = countingReads(events);
    const loads: string[] = [];
    const cold = new ParkingLotCommandHandler(counter.store, {
      periodEvents: NO_PERIODS,
      retryLimit: 0,
      cacheSize: 10,
      snapshots,
      hooks: { onLoad: (s) => loads.push(s) },
    });
    const first = reserve("lot-1", "cold-1");
    const expected = await expectedFor(events, first);
    expect(answered(await cold.handle(first, context()))).toEqual(expected);
    expect(loads).toEqual(["used"]);
    expect(counter.read()).toBe(1 + 120); // the snapshot's own event (checked), then the tail
    // Later commands (from the cache now) decide as the whole fold too: a retry, an old id with
    // other details, a cancellation of an active one and of a canceled one.
    for (const command of [
      reserve("lot-1", "cold-1"),
      reserve("lot-1", "lot-r1", "someone-else"),
      cancel("lot-1", "a-3"),
      cancel("lot-1", "lot-r1"),
    ]) {
      const want = await expectedFor(events, command);
      expect(answered(await cold.handle(command, context())), command.type).toEqual(want);
    }

    // EVERY more events since the snapshot: a new one, again at the head.
    await grow(events, "lot-1", EVERY, "b");
    await caughtUp(runtime, events);
    expect((await snapshots.revisions(["lot-1"])).get("lot-1")).toBe(await revisionOf(events, "lot-1"));
    expect(await written()).toBe(3);
  });

  it("snapshots a lot's current period past its opening (issue 48): a cold handler reads that snapshot and the tail, not the opening, and decides as the whole fold", async () => {
    const stores = openStores();
    const { events, docs } = stores;
    const inPeriod = await bookedInPeriods(events, "p", { bound: 800, bookings: 1400, batch: 100 });
    expect(inPeriod.stream).toBe("parkingLot-p/1");
    expect(inPeriod.revision + 1).toBeGreaterThanOrEqual(EVERY);

    const runtime = await startSnapshotter(stores);
    await caughtUp(runtime, events);
    const snapshots = new DocumentLotSnapshotStore(docs);
    // Its revision counted lot-wide (periods.ts, lotOrdinal): period 1's head.
    expect((await snapshots.revisions(["p"])).get("p")).toBe(2 ** 32 + inPeriod.revision);

    await grow(events, "p", 30, "tail");
    const { counter, loads, cold } = coldHandler(events, snapshots);
    const command = reserve("p", "cold-1");
    const expected = await expectedFor(events, command);
    expect(answered(await cold.handle(command, context()))).toEqual(expected);
    expect(loads).toEqual(["used"]);
    // Finding the period (a few one-event probes), the snapshot's own event, the 30 after it: not
    // the opening and the 600 bookings of the period before the snapshot.
    expect(counter.read()).toBeLessThan(1 + 30 + 10);
  });

  it("snapshots a period at its opening (issue 48): a restart right after a close loads that snapshot, not the opening and its sealed values", async () => {
    const stores = openStores();
    const { events, docs } = stores;
    // Both periods far shorter than EVERY, neither due by its growth: period 1 holds its opening.
    const inPeriod = await bookedInPeriods(events, "q", { bound: 100, bookings: 120, batch: 40 });
    expect(inPeriod.stream).toBe("parkingLot-q/1");
    expect(inPeriod.revision + 1).toBeLessThan(EVERY);

    const runtime = await startSnapshotter(stores);
    await caughtUp(runtime, events);
    const snapshots = new DocumentLotSnapshotStore(docs);
    // Period 1's own snapshot, at its head (lot-wide ordinal), though it grew by fewer than EVERY.
    expect((await snapshots.revisions(["q"])).get("q")).toBe(2 ** 32 + inPeriod.revision);

    const { loads, cold } = coldHandler(events, snapshots);
    const command = reserve("q", "cold-q");
    const expected = await expectedFor(events, command);
    expect(answered(await cold.handle(command, context()))).toEqual(expected);
    expect(loads).toEqual(["used"]);
  });

  it("carries on from its checkpoint after a restart, counting from the stored snapshot", async () => {
    const stores = openStores();
    const { events, docs } = stores;
    await seedLotEvents(events, { lots: 2, capacity: 5000, reservations: 2000, cancellations: 0 });
    const first = await startSnapshotter(stores);
    await caughtUp(first, events);
    const header = async (lot: string) => docs.findById(LOT_SNAPSHOTS, lot);
    const before = { "lot-1": await header("lot-1"), "lot-2": await header("lot-2") };
    expect(before["lot-1"]).toMatchObject({ revision: 1000 });
    await first.stop();

    // While it is down: lot-1 grows past EVERY, lot-2 a little.
    await grow(events, "lot-1", EVERY + 10, "down");
    await grow(events, "lot-2", 30, "down");
    const second = await startSnapshotter(stores); // a new reactor: nothing in memory
    await caughtUp(second, events);
    expect(await header("lot-1")).toMatchObject({ revision: await revisionOf(events, "lot-1") });
    // lot-2's snapshot was not made again: its events before the checkpoint were not handled again,
    // and 30 events are not enough.
    expect(await header("lot-2")).toEqual(before["lot-2"]);
  });

  it("a corrupt or future-version snapshot in the store is ignored by the handler (same decisions) and replaced by the snapshotter", async () => {
    const stores = openStores();
    const { events, docs } = stores;
    await seedLotEvents(events, { lots: 1, capacity: 5000, reservations: 1200, cancellations: 100 });
    const runtime = await startSnapshotter(stores);
    await caughtUp(runtime, events);
    const snapshots = new DocumentLotSnapshotStore(docs);
    const header = (await docs.findById(LOT_SNAPSHOTS, "lot-1")) as unknown as {
      slot: number;
      revision: number;
    };
    expect(header.revision).toBe(1300);

    const handle = async (command: ParkingLotCommand) => {
      const loads: string[] = [];
      const handler = new ParkingLotCommandHandler(events, {
        periodEvents: NO_PERIODS,
        retryLimit: 0,
        cacheSize: 10,
        snapshots,
        logger,
        hooks: { onLoad: (s) => loads.push(s) },
      });
      const want = await expectedFor(events, command);
      expect(answered(await handler.handle(command, context()))).toEqual(want);
      return loads;
    };

    // A page whose ids are garbage.
    await docs.write([
      {
        op: "update",
        collection: LOT_SNAPSHOT_PARTS,
        id: `lot-1:${header.slot}:1`,
        update: { $set: { "part.ids": "zz,aa" } },
      },
    ]);
    expect(await handle(reserve("lot-1", "x1"))).toEqual(["undecodable"]);
    // A snapshot written by a later version.
    await docs.write([
      { op: "update", collection: LOT_SNAPSHOTS, id: "lot-1", update: { $set: { version: 99 } } },
      {
        op: "update",
        collection: LOT_SNAPSHOT_PARTS,
        id: `lot-1:${header.slot}:0`,
        update: { $set: { version: 99 } },
      },
      {
        op: "update",
        collection: LOT_SNAPSHOT_PARTS,
        id: `lot-1:${header.slot}:1`,
        update: { $set: { version: 99 } },
      },
    ]);
    expect(await snapshots.load("lot-1")).toMatchObject({ version: 99 });
    expect(await handle(cancel("lot-1", "lot-r5"))).toEqual(["other-version"]);

    // EVERY more events: the snapshotter writes a good one of its own version over it.
    await grow(events, "lot-1", EVERY, "more");
    await caughtUp(runtime, events);
    expect(await snapshots.load("lot-1")).toMatchObject({
      version: SNAPSHOT_VERSION,
      revision: await revisionOf(events, "lot-1"),
    });
    expect(await handle(reserve("lot-1", "x2"))).toEqual(["used"]);
  });

  it("leaves ended reservations out of its snapshots (archived): a busy lot's state stays flat, and an ended id still answers", async () => {
    const stores = openStores();
    const { events, docs } = stores;
    const runtime = await startSnapshotter(stores);
    const snapshots = new DocumentLotSnapshotStore(docs);
    const hot = new ParkingLotCommandHandler(events, {
      periodEvents: NO_PERIODS,
      retryLimit: 5,
      cacheSize: 10,
      snapshots,
      reloadAfter: 300,
    });
    await hot.handle(
      { type: "RegisterParkingLot", parkingLotId: "L", name: "L", capacity: 500, now: NOW() },
      context(),
    );
    // Ten rounds of 200 bookings, each canceled: 4,000 events, 2,000 reservations, none active.
    const sizes: number[] = [];
    for (let round = 0; round < 10; round++) {
      for (const kind of [reserve, cancel]) {
        const answers = await Promise.all(
          Array.from({ length: 200 }, (_, i) => hot.handle(kind("L", `k-${round}-${i}`), context())),
        );
        expect(answers.every((a) => a.ok && a.events.length === 1)).toBe(true);
        const last = answers.at(-1);
        if (last?.ok && last.state.kind === "registered") sizes.push(last.state.reservations.size);
      }
      await caughtUp(runtime, events);
    }
    // The hot handler's lot holds what ended since its last load (from the newest snapshot), not
    // every reservation of its history.
    expect(Math.max(...sizes.slice(-6))).toBeLessThan(1000);
    const loaded = await new LotLoader(events, { snapshots }).load("L");
    expect(loaded.snapshot).toBe("used");
    if (loaded.state.kind !== "registered") throw new Error("not registered");
    expect(loaded.state.reservations.size).toBeLessThan(600);
    expect(loaded.state.archived + loaded.state.reservations.size).toBe(2000);
    expect(await docs.count(ENDED_RESERVATIONS, {})).toBe(loaded.state.archived);

    // A handler that starts cold, from that snapshot: every ended id answers as the whole fold does.
    const cold = new ParkingLotCommandHandler(events, {
      periodEvents: NO_PERIODS,
      retryLimit: 0,
      cacheSize: 10,
      snapshots,
    });
    const retried = reserve("L", "k-0-7");
    for (const command of [
      cancel("L", "k-0-1"), // canceled twice: a no-op
      retried, // the same booking again: an idempotent no-op
      reserve("L", "k-0-8", "someone-else"), // an ended id with other details: a conflict
      { ...cancel("L", "k-0-2"), requestedBy: "someone-else" }, // someone else's: not found
      cancel("L", "never-booked"),
      reserve("L", "new-1"),
    ] as ParkingLotCommand[]) {
      const want = await expectedFor(events, command);
      expect(answered(await cold.handle(command, context())), JSON.stringify(command)).toEqual(want);
    }
    const replay = await cold.handle(retried, context());
    expect(
      replay.ok && replay.state.kind === "registered" && replay.state.reservations.get("k-0-7"),
    ).toMatchObject({
      customerId: "C-k-0-7",
      status: "CANCELED",
    });

    // Without the archive nothing is decided blind: the command fails as a store that is down does.
    const revision = await revisionOf(events, "L");
    const down = new ParkingLotCommandHandler(events, {
      periodEvents: NO_PERIODS,
      retryLimit: 0,
      cacheSize: 10,
      snapshots: {
        load: (id) => snapshots.load(id),
        save: (snapshot) => snapshots.save(snapshot),
        revisions: (ids) => snapshots.revisions(ids),
        archive: (id, records) => snapshots.archive(id, records),
        archived: () => Promise.reject(new Error("down")),
      },
    });
    await expect(down.handle(reserve("L", "k-1-1"), context())).rejects.toBeInstanceOf(
      DocumentStoreUnavailableError,
    );
    expect(await revisionOf(events, "L")).toBe(revision);
    // A booking without an Idempotency-Key gets a fresh id, which names nothing earlier: it needs
    // no lookup, so new bookings go on while the archive is down.
    const fresh = reservationIdFor("secret", "L", "C-fresh", undefined);
    const booked = await down.handle(reserve("L", fresh, "C-fresh"), context());
    expect(booked.ok && booked.events.map((e) => e.type)).toEqual(["ParkingReserved"]);
  });
});
