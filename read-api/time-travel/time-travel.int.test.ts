import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SqliteDocumentStore } from "../../document-store/embedded/sqlite-document-store.js";
import { SqliteEventStore } from "../../event-store/embedded/sqlite-event-store.js";
import type { Position } from "../../event-store/position.js";
import { parkingLotsProjection } from "../../projections/read-models/parking-lots.js";
import { reservationsProjection } from "../../projections/read-models/reservations.js";
import { systemActor } from "../../schemas/actor.js";
import { encodeEvent } from "../../schemas/event-codec.js";
import type { DomainEvent } from "../../schemas/events.js";
import { tempDataDir } from "../../test-support/service.js";
import { lotStream } from "../history/history-service.js";
import type { Cut } from "./as-of.js";
import { CheckpointStore, TIME_TRAVEL_CHECKPOINTS } from "./checkpoint-store.js";
import { FoldCache } from "./fold-cache.js";
import { TimeTravel } from "./time-travel.js";

/**
 * Checkpoints change nothing but speed: a lot folded from its checkpoints (which leave out what
 * ended long before) answers every moment exactly as a fold of its whole stream does, and once the
 * checkpoints exist an answer folds at most `every` events.
 */
const LOT = "tt-1";
const T0 = Date.parse("2026-11-01T00:00:00.000Z");
const MINUTE = 60_000;
const iso = (ms: number) => new Date(ms).toISOString();

/** A lot's life over about two weeks: bookings open-ended and windowed, cancellations, stays. */
function lotLife(): DomainEvent[] {
  const events: DomainEvent[] = [
    {
      type: "ParkingLotRegistered",
      data: { parkingLotId: LOT, name: "Time lot", capacity: 5, registeredAt: iso(T0) },
    },
  ];
  const base = { parkingLotId: LOT, carNumber: "10더8612", amount: 1000 };
  for (let k = 0; k < 120; k++) {
    const t = T0 + (k + 1) * 170 * MINUTE;
    const reservationId = `r-${k}`;
    const customerId = `C${k % 7}`;
    const ids = { reservationId, parkingLotId: LOT, customerId };
    if (k % 3 === 2) {
      const startsAt = iso(t + 30 * MINUTE);
      const endsAt = iso(t + 90 * MINUTE);
      events.push({
        type: "ParkingReserved",
        data: { ...base, ...ids, reservedAt: iso(t), startsAt, endsAt },
      });
      continue;
    }
    events.push({ type: "ParkingReserved", data: { ...base, ...ids, reservedAt: iso(t) } });
    if (k % 3 === 0) {
      events.push({
        type: "ReservationCanceled",
        data: { ...ids, reason: "changed plans", canceledAt: iso(t + 5 * MINUTE) },
      });
    } else {
      events.push({ type: "ReservationCheckedIn", data: { ...ids, checkedInAt: iso(t + 5 * MINUTE) } });
      if (k % 9 !== 1) {
        events.push({ type: "ReservationCheckedOut", data: { ...ids, checkedOutAt: iso(t + 60 * MINUTE) } });
      }
    }
  }
  return events;
}

describe("time travel through checkpoints", () => {
  const data = tempDataDir("parking-time-travel-");
  let store: SqliteEventStore;
  const positions: Position[] = [];
  const life = lotLife();

  beforeAll(async () => {
    store = SqliteEventStore.open({ file: join(data.dir, "events.sqlite") });
    let revision: number | "no_stream" = "no_stream";
    for (const event of life) {
      const causation = { correlationId: "c", causationId: "c", actor: systemActor("test") };
      const appended = await store.appendToStream(lotStream(LOT), [encodeEvent(event, causation)], {
        expectedRevision: revision,
      });
      revision = appended.nextExpectedRevision;
      positions.push(appended.position);
    }
  });
  afterAll(async () => {
    await store?.close();
    data.remove();
  });

  it("answers every moment exactly as a fold of the whole stream does", async () => {
    const checkpointed = new TimeTravel(store, { checkpointEvery: 10 });
    // Checkpoints within a tight budget: thinned out, still exact.
    const thinned = new TimeTravel(store, { checkpointEvery: 5, maxEntries: 150 });
    const whole = new TimeTravel(store, { checkpointEvery: Number.MAX_SAFE_INTEGER });
    const cuts: Cut[] = [
      ...positions.filter((_p, i) => i % 7 === 3).map((p): Cut => ({ kind: "position", commit: p.commit })),
      ...[1, 50, 333, 1000, 2000, 20_000].map((m): Cut => ({ kind: "instant", ms: T0 + m * MINUTE + 1 })),
    ];
    // Late moments first, so that earlier answers start from checkpoints laid by later folds.
    for (const cut of [...cuts].reverse().concat(cuts)) {
      const [fast, reference] = await Promise.all([
        checkpointed.parkingLot(LOT, cut),
        whole.parkingLot(LOT, cut),
      ]);
      expect(fast, JSON.stringify(cut)).toEqual(reference);
      expect(await thinned.parkingLot(LOT, cut), JSON.stringify(cut)).toEqual(reference);
      const [fastCenter, referenceCenter] = await Promise.all([
        checkpointed.controlCenter(cut, { limit: 10 }),
        whole.controlCenter(cut, { limit: 10 }),
      ]);
      expect(fastCenter, JSON.stringify(cut)).toEqual(referenceCenter);
    }
    expect(checkpointed.stats().checkpoints).toBeGreaterThan(20);
    expect(thinned.stats().entries).toBeLessThanOrEqual(300);
  });

  it("lays the whole log's checkpoints in the background after the control center's first answer", async () => {
    const travel = new TimeTravel(store, { checkpointEvery: 10 });
    const early = positions[15] as Position;
    const view = await travel.controlCenter({ kind: "position", commit: early.commit }, { limit: 10 });
    expect(view.asOf.position).not.toBeNull();
    await expect
      .poll(() => travel.stats().checkpoints, { timeout: 10_000 })
      .toBe(Math.floor(life.length / 10));
  });

  it("folds at most `every` events once the checkpoints up to the moment exist", async () => {
    const cache = new FoldCache({ every: 25, maxSources: 2 });
    const source = {
      key: `lot:${LOT}`,
      projections: [parkingLotsProjection, reservationsProjection],
      read: (count: number) => store.readStream(lotStream(LOT), { fromRevision: count }),
    };
    const head: Cut = { kind: "position", commit: (positions.at(-1) as Position).commit };
    expect((await cache.fold(source, head)).folded).toBe(life.length);
    for (const [i, p] of positions.entries()) {
      const folded = await cache.fold(source, { kind: "position", commit: p.commit });
      expect(folded.folded).toBeLessThanOrEqual(25);
      expect(folded.position).toEqual(positions[i]);
    }
  });

  it("keeps the checkpoints in the document store: a restarted process folds at most `every` events, and as little kept", async () => {
    const documents = SqliteDocumentStore.open({ file: join(data.dir, "checkpoints.sqlite") });
    try {
      const source = {
        key: `lot:${LOT}`,
        projections: [parkingLotsProjection, reservationsProjection],
        read: (count: number) => store.readStream(lotStream(LOT), { fromRevision: count }),
      };
      const first = new FoldCache({ every: 25, maxSources: 2, store: new CheckpointStore(documents) });
      // The first answer, early in the lot's life, lays the rest of its checkpoints in the background.
      const early = positions[30] as Position;
      expect((await first.fold(source, { kind: "position", commit: early.commit })).folded).toBe(31);
      first.layAhead(source);
      await expect
        .poll(() => first.stats().checkpoints, { timeout: 10_000 })
        .toBe(Math.floor(life.length / 25));
      await first.settled();

      // A new process over the same document store: warm from its first answer.
      const restarted = new FoldCache({ every: 25, maxSources: 2, store: new CheckpointStore(documents) });
      for (const [i, p] of positions.entries()) {
        if (i % 11 !== 0) continue;
        const cut: Cut = { kind: "position", commit: p.commit };
        // The same state as the process that laid them (checkpoints leave out what ended long before).
        const [warm, laid] = await Promise.all([restarted.fold(source, cut), first.fold(source, cut)]);
        expect(warm.folded).toBeLessThanOrEqual(25);
        expect(warm.position).toEqual(laid.position);
        expect([...warm.state.documents()]).toEqual([...laid.state.documents()]);
      }
      for (const minutes of [1, 333, 2000, 20_000]) {
        const cut: Cut = { kind: "instant", ms: T0 + minutes * MINUTE + 1 };
        const [warm, laid] = await Promise.all([restarted.fold(source, cut), first.fold(source, cut)]);
        expect(warm.folded).toBeLessThanOrEqual(25);
        expect(warm.position).toEqual(laid.position);
        expect([...warm.state.documents()]).toEqual([...laid.state.documents()]);
      }
      // Each of those answers read its nearest checkpoint alone: none of the others was loaded.
      expect(restarted.stats().checkpoints).toBe(0);
      // Laying ahead loads the rest (and lays none again).
      restarted.layAhead(source);
      await expect
        .poll(() => restarted.stats().checkpoints, { timeout: 10_000 })
        .toBe(Math.floor(life.length / 25));

      // Let go of in memory (two other sources past maxSources), let go of in the store.
      const other = (key: string) => ({ ...source, key });
      await restarted.fold(other("lot:a"), { kind: "position", commit: early.commit });
      await restarted.fold(other("lot:b"), { kind: "position", commit: early.commit });
      await restarted.settled();
      const kept = await documents.find(TIME_TRAVEL_CHECKPOINTS, {
        kind: "checkpoint",
        source: `lot:${LOT}`,
      });
      expect(kept).toEqual([]);
      expect(await documents.find(TIME_TRAVEL_CHECKPOINTS, { kind: "source" })).toHaveLength(2);
    } finally {
      await documents.close();
    }
  });
});
