import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { SqliteEventStore } from "../event-store/embedded/sqlite-event-store.js";
import type { EventStore, RecordedEvent } from "../event-store/port.js";
import type { Logger } from "../platform/logger.js";
import type { ParkingLotCommand, ReserveParking } from "../schemas/commands.js";
import { countingReads } from "../test-support/counting-event-store.js";
import { toSnapshot } from "../test-support/lot-snapshot.js";
import { tempDataDir } from "../test-support/service.js";
import { type CommandOutcome, ParkingLotCommandHandler } from "./command-handler.js";
import { LotLoader, type SnapshotUse } from "./lot-loader.js";
import type { LotSnapshotStore, StoredLotSnapshot } from "./lot-snapshots.js";
import { parkingLotStream, type ReservationRecord } from "./parking-lot/decider.js";
import { encodeSnapshot, SNAPSHOT_VERSION } from "./parking-lot/snapshot.js";

/*
 * Loading a lot through its snapshot: used when it can be (only the events after it are read),
 * ignored, never trusted, when it cannot (another version, corrupt, not this stream's, the store
 * failing or slow): the whole stream is folded, a warning logged, and commands are answered as
 * without a snapshot.
 */

const NOW = "2026-11-22T11:00:00.000Z";
const LOT = "L";
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function openStore(): SqliteEventStore {
  const data = tempDataDir("lot-loader-");
  const store = SqliteEventStore.open({ file: join(data.dir, "events.sqlite") });
  cleanups.push(data.remove, () => store.close());
  return store;
}

class MemorySnapshots implements LotSnapshotStore {
  readonly saved = new Map<string, StoredLotSnapshot>();
  async load(parkingLotId: string) {
    return this.saved.get(parkingLotId) ?? null;
  }
  async save(snapshot: StoredLotSnapshot) {
    this.saved.set(snapshot.parkingLotId, snapshot);
    return true;
  }
  async revisions(ids: readonly string[]) {
    return new Map(
      ids.flatMap((id) => (this.saved.has(id) ? [[id, this.saved.get(id)?.revision ?? -1]] : [])),
    );
  }
  readonly ended = new Map<string, ReservationRecord>();
  async archive(lot: string, records: readonly (readonly [string, ReservationRecord])[]) {
    for (const [id, record] of records) this.ended.set(`${lot}/${id}`, record);
  }
  async archived(lot: string, ids: readonly string[]) {
    return new Map(
      ids.flatMap((id) => {
        const record = this.ended.get(`${lot}/${id}`);
        return record ? [[id, record] as const] : [];
      }),
    );
  }
}

/** A logger that keeps what is warned about. */
function warnings(): { logger: Logger; warned: string[] } {
  const warned: string[] = [];
  const logger = {
    warn: (_fields: unknown, message: string) => warned.push(message),
    info: () => undefined,
    debug: () => undefined,
  } as unknown as Logger;
  return { logger, warned };
}

const context = (i: number | string) => ({
  correlationId: `corr-${i}`,
  commandId: `cmd-${i}`,
  actor: { sub: "ops-test", role: "operator" } as const,
});
const reserve = (i: number): ReserveParking => ({
  type: "ReserveParking",
  reservationId: `R${i}`,
  parkingLotId: LOT,
  customerId: `C${i}`,
  carNumber: "10더8612",
  amount: 5000,
  now: NOW,
});
const cancel = (i: number): ParkingLotCommand => ({
  type: "CancelReservation",
  reservationId: `R${i}`,
  parkingLotId: LOT,
  reason: "changed plans",
  now: NOW,
});

/** A lot of capacity 10 with `pairs` reservations, all but the last few canceled: 1 + 2·pairs - 3 events. */
async function seedLot(store: EventStore, pairs: number): Promise<RecordedEvent[]> {
  const handler = new ParkingLotCommandHandler(store, { retryLimit: 3, cacheSize: 10 });
  const answers: CommandOutcome[] = [
    await handler.handle(
      { type: "RegisterParkingLot", parkingLotId: LOT, name: "Lot L", capacity: 10, now: NOW },
      context("reg"),
    ),
  ];
  for (let i = 0; i < pairs; i++) {
    answers.push(await handler.handle(reserve(i), context(`r${i}`)));
    if (i < pairs - 3) answers.push(await handler.handle(cancel(i), context(`c${i}`)));
  }
  expect(answers.every((a) => a.ok)).toBe(true);
  const events: RecordedEvent[] = [];
  for await (const event of store.readStream(parkingLotStream(LOT))) events.push(event);
  return events;
}

/** A snapshot of the lot as of `revision`, as the snapshotter writes it (through JSON, as stored). */
async function snapshotAt(
  store: EventStore,
  events: RecordedEvent[],
  revision: number,
): Promise<StoredLotSnapshot> {
  // The lot as of `revision`: its stream read only that far.
  const { state } = await new LotLoader(countingReads(store, { maxCount: revision + 1 }).store).load(LOT);
  return {
    parkingLotId: LOT,
    revision,
    eventId: (events[revision] as RecordedEvent).id,
    version: SNAPSHOT_VERSION,
    parts: JSON.parse(JSON.stringify(encodeSnapshot(state))),
  };
}

describe("loading a lot through its snapshot", () => {
  it("uses the snapshot and reads only its last event and the events after it; same state as the whole fold", async () => {
    const store = openStore();
    const events = await seedLot(store, 150); // 1 + 150 + 147 = 298 events
    const full = await new LotLoader(store).load(LOT);
    expect(full).toMatchObject({ snapshot: "none", revision: 297 });

    const snapshots = new MemorySnapshots();
    await snapshots.save(await snapshotAt(store, events, 250));
    const counter = countingReads(store);
    const loaded = await new LotLoader(counter.store, { snapshots }).load(LOT);
    expect(loaded.snapshot).toBe("used");
    expect(counter.read()).toBe(1 + 47); // the snapshot's own event (checked), then revisions 251..297
    expect(loaded).toMatchObject({ revision: 297, eventId: (events[297] as RecordedEvent).id });
    expect(loaded.position).toEqual((events[297] as RecordedEvent).position);
    expect(toSnapshot(loaded.state)).toEqual(toSnapshot(full.state));

    // A snapshot at the head: nothing to fold after it.
    await snapshots.save(await snapshotAt(store, events, 297));
    counter.reset();
    const atHead = await new LotLoader(counter.store, { snapshots }).load(LOT);
    expect(atHead).toMatchObject({ snapshot: "used", revision: 297 });
    expect(counter.read()).toBe(1);
    expect(toSnapshot(atHead.state)).toEqual(toSnapshot(full.state));
  });

  const ignored: [SnapshotUse, string, (s: StoredLotSnapshot) => StoredLotSnapshot, boolean][] = [
    [
      "other-version",
      "a snapshot of a later version",
      (s) => ({ ...s, version: SNAPSHOT_VERSION + 1 }),
      false,
    ],
    [
      "undecodable",
      "a corrupt snapshot (a page's ids out of order)",
      (s) => ({
        ...s,
        parts: s.parts.map((p, i) =>
          i === 1 ? { ...p, ids: String(p.ids).split(",").reverse().join(",") } : p,
        ),
      }),
      true,
    ],
    [
      "undecodable",
      "another lot's snapshot stored under this lot",
      (s) => ({ ...s, parts: s.parts.map((p, i) => (i === 0 ? { ...p, parkingLotId: "other" } : p)) }),
      true,
    ],
    [
      "not-in-stream",
      "a snapshot whose last event is not the stream's (a reset event store)",
      (s) => ({ ...s, eventId: "00000000-0000-4000-8000-000000000000" }),
      true,
    ],
    ["not-in-stream", "a snapshot beyond the stream's end", (s) => ({ ...s, revision: 5000 }), true],
  ];
  it.each(ignored)("ignores %s: %s, folds the whole stream, same state", async (use, _what, spoil, warns) => {
    const store = openStore();
    const events = await seedLot(store, 40);
    const full = await new LotLoader(store).load(LOT);
    const snapshots = new MemorySnapshots();
    await snapshots.save(spoil(await snapshotAt(store, events, 60)));
    const { logger, warned } = warnings();
    const counter = countingReads(store);
    const loaded = await new LotLoader(counter.store, { snapshots, logger }).load(LOT);
    expect(loaded.snapshot).toBe(use);
    expect(toSnapshot(loaded.state)).toEqual(toSnapshot(full.state));
    expect(loaded).toMatchObject({ revision: full.revision, eventId: full.eventId, position: full.position });
    expect(counter.read()).toBeGreaterThanOrEqual(events.length);
    expect(warned.length > 0, warned.join("; ")).toBe(warns);
  });

  it("folds the whole stream when the snapshot store fails or does not answer in time", async () => {
    const store = openStore();
    await seedLot(store, 20);
    const full = await new LotLoader(store).load(LOT);
    const failing: LotSnapshotStore = {
      load: () => Promise.reject(new Error("connection refused")),
      save: () => Promise.resolve(false),
      revisions: () => Promise.resolve(new Map()),
      archive: () => Promise.reject(new Error("connection refused")),
      archived: () => Promise.reject(new Error("connection refused")),
    };
    const hanging: LotSnapshotStore = { ...failing, load: () => new Promise(() => undefined) };
    for (const snapshots of [failing, hanging]) {
      const { logger, warned } = warnings();
      const started = Date.now();
      const loaded = await new LotLoader(store, { snapshots, logger, snapshotTimeoutMs: 100 }).load(LOT);
      expect(loaded.snapshot).toBe("unavailable");
      expect(toSnapshot(loaded.state)).toEqual(toSnapshot(full.state));
      expect(warned).toHaveLength(1);
      expect(Date.now() - started).toBeLessThan(5_000);
    }
  });
});

describe("the command handler with snapshots", () => {
  it("decides on a snapshot's state plus the tail as without it, appending at the stream's real revision", async () => {
    const store = openStore();
    const events = await seedLot(store, 40); // R37..R39 active
    const snapshots = new MemorySnapshots();
    await snapshots.save(await snapshotAt(store, events, 30)); // stale: 49 events behind the head
    const loads: string[] = [];
    const conflicts: string[] = [];
    const hooks = { onLoad: (s: string) => loads.push(s), onConflict: (c: string) => conflicts.push(c) };
    const withSnapshot = new ParkingLotCommandHandler(store, {
      retryLimit: 0,
      cacheSize: 10,
      snapshots,
      hooks,
    });
    const conflicting: ParkingLotCommand = { ...reserve(1), customerId: "someone-else" };
    const script = [cancel(38), reserve(38), reserve(1), conflicting, cancel(39), reserve(100), cancel(5)];
    const answers = [];
    for (const [i, command] of script.entries())
      answers.push(await withSnapshot.handle(command, context(`s${i}`)));
    expect(loads).toEqual(["used"]);
    expect(conflicts).toEqual([]); // retryLimit 0: a wrong expected revision would have thrown

    // The same commands on a copy of the lot loaded without a snapshot decide the same.
    const other = openStore();
    const copy = await seedLot(other, 40);
    expect(copy.map((e) => e.type)).toEqual(events.map((e) => e.type));
    const without = new ParkingLotCommandHandler(other, { retryLimit: 0, cacheSize: 10 });
    const expected = [];
    for (const [i, command] of script.entries())
      expected.push(await without.handle(command, context(`s${i}`)));
    const verdict = (o: CommandOutcome) =>
      o.ok ? { events: o.events, state: toSnapshot(o.state) } : { rejection: o.rejection };
    expect(answers.map(verdict)).toEqual(expected.map(verdict));
    expect(answers.map((a) => (a.ok ? a.events.length : a.rejection.code))).toEqual([
      1,
      0,
      0,
      "ReservationIdConflict",
      1,
      1,
      0,
    ]);
  });

  it("answers commands normally (no error) when the lot's snapshot is corrupt, logging a warning", async () => {
    const store = openStore();
    const events = await seedLot(store, 10);
    const snapshots = new MemorySnapshots();
    const good = await snapshotAt(store, events, 12);
    await snapshots.save({ ...good, parts: [{ kind: "registered" }, { garbage: true }] });
    const { logger, warned } = warnings();
    const loads: string[] = [];
    const handler = new ParkingLotCommandHandler(store, {
      retryLimit: 0,
      cacheSize: 10,
      snapshots,
      logger,
      hooks: { onLoad: (s) => loads.push(s) },
    });
    const answer = await handler.handle(reserve(50), context("after-corrupt"));
    expect(answer.ok && answer.events.map((e) => e.type)).toEqual(["ParkingReserved"]);
    expect(loads).toEqual(["undecodable"]);
    expect(warned.join("\n")).toMatch(/cannot be decoded/);
  });
});
