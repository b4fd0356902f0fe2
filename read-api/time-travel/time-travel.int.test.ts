import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SqliteEventStore } from "../../event-store/embedded/sqlite-event-store.js";
import type { Position } from "../../event-store/position.js";
import { systemActor } from "../../schemas/actor.js";
import { encodeEvent } from "../../schemas/event-codec.js";
import type { DomainEvent } from "../../schemas/events.js";
import { countingReads } from "../../test-support/counting-event-store.js";
import { tempDataDir } from "../../test-support/service.js";
import { lotStream } from "../history/history-service.js";
import type { Cut } from "./as-of.js";
import { FoldTooFarError } from "./fold-cache.js";
import { TimeTravel } from "./time-travel.js";

/**
 * Checkpoints change nothing but the work: a lot folded from its checkpoints (which leave out what
 * ended long before) answers every moment exactly as a fold of its whole stream does, and no answer
 * folds more than `maxFold` events, however long the lot's history (issue 34 item 4): a moment
 * further from every checkpoint is answered FoldTooFarError (503) after laying checkpoints towards
 * it, and a later request starts there.
 */
const LOT = "tt-1";
/** The same life five times as long. */
const LONG_LOT = "tt-5";
const T0 = Date.parse("2026-11-01T00:00:00.000Z");
const MINUTE = 60_000;
const iso = (ms: number) => new Date(ms).toISOString();

/** A lot's life over about two weeks per 120 bookings: open-ended and windowed, cancellations, stays. */
function lotLife(lotId: string, bookings = 120): DomainEvent[] {
  const events: DomainEvent[] = [
    {
      type: "ParkingLotRegistered",
      data: { parkingLotId: lotId, name: "Time lot", capacity: 5, registeredAt: iso(T0) },
    },
  ];
  const base = { parkingLotId: lotId, carNumber: "10더8612", amount: 1000 };
  for (let k = 0; k < bookings; k++) {
    const t = T0 + (k + 1) * 170 * MINUTE;
    const reservationId = `r-${k}`;
    const customerId = `C${k % 7}`;
    const ids = { reservationId, parkingLotId: lotId, customerId };
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

const NO_BOUND = 1_000_000_000;

describe("time travel through checkpoints", () => {
  const data = tempDataDir("parking-time-travel-");
  let store: SqliteEventStore;
  const lives = new Map([
    [LOT, lotLife(LOT)],
    [LONG_LOT, lotLife(LONG_LOT, 600)],
  ]);
  const positions = new Map<string, Position[]>();

  beforeAll(async () => {
    store = SqliteEventStore.open({ file: join(data.dir, "events.sqlite") });
    for (const [lot, life] of lives) {
      let revision: number | "no_stream" = "no_stream";
      const at: Position[] = [];
      for (const event of life) {
        const causation = { correlationId: "c", causationId: "c", actor: systemActor("test") };
        const appended = await store.appendToStream(lotStream(lot), [encodeEvent(event, causation)], {
          expectedRevision: revision,
        });
        revision = appended.nextExpectedRevision;
        at.push(appended.position);
      }
      positions.set(lot, at);
    }
  });
  afterAll(async () => {
    await store?.close();
    data.remove();
  });

  /** The moments asked of a lot: positions through its life, and instants. */
  const cutsOf = (lot: string): Cut[] => [
    ...(positions.get(lot) ?? [])
      .filter((_p, i) => i % 37 === 3)
      .map((p): Cut => ({ kind: "position", commit: p.commit })),
    ...[1, 50, 333, 2000, 20_000, 90_000].map((m): Cut => ({ kind: "instant", ms: T0 + m * MINUTE + 1 })),
  ];

  /** Asks until answered (each refusal laid checkpoints towards the moment); how many asks it took. */
  async function answered<T>(ask: () => Promise<T>): Promise<{ view: T; asks: number }> {
    for (let asks = 1; asks <= 1_000; asks++) {
      try {
        return { view: await ask(), asks };
      } catch (error) {
        if (!(error instanceof FoldTooFarError)) throw error;
      }
    }
    throw new Error("never answered");
  }

  it("answers every moment exactly as a fold of the whole stream does, each answer folding at most maxFold events whatever the history", async () => {
    const counted = countingReads(store);
    const bounded = new TimeTravel(counted.store, { checkpointEvery: 10, maxFold: 40 });
    const whole = new TimeTravel(store, { checkpointEvery: NO_BOUND, maxFold: NO_BOUND });
    const mostRead = new Map<string, number>();
    for (const lot of lives.keys()) {
      // Late moments first, then early ones (from the start again), then late ones again (warm).
      const cuts = cutsOf(lot);
      const references = new Map<Cut, unknown>();
      for (const cut of cuts) references.set(cut, await whole.parkingLot(lot, cut));
      for (const cut of [...cuts].reverse().concat(cuts, [...cuts].reverse())) {
        const reference = references.get(cut);
        const { view } = await answered(async () => {
          counted.reset();
          try {
            return await bounded.parkingLot(lot, cut);
          } finally {
            // At most maxFold events and the one that says whether the moment was reached.
            mostRead.set(lot, Math.max(mostRead.get(lot) ?? 0, counted.read()));
          }
        });
        expect(view, `${lot} ${JSON.stringify(cut)}`).toEqual(reference);
      }
    }
    expect(mostRead.get(LOT)).toBeLessThanOrEqual(41);
    expect(mostRead.get(LONG_LOT)).toBeLessThanOrEqual(41);
    // The long lot's history is five times the other's: its answers read no more per request.
    expect((lives.get(LONG_LOT) as DomainEvent[]).length).toBeGreaterThan(
      5 * (lives.get(LOT) as DomainEvent[]).length - 10,
    );
  });

  it("the control center as of a moment: the same answers through bounded folds of the whole log", async () => {
    const bounded = new TimeTravel(store, { checkpointEvery: 10, maxFold: 50 });
    const whole = new TimeTravel(store, { checkpointEvery: NO_BOUND, maxFold: NO_BOUND });
    const cuts = cutsOf(LONG_LOT).filter((_c, i) => i % 3 === 0);
    for (const cut of [...cuts].reverse().concat(cuts)) {
      const reference = await whole.controlCenter(cut, { limit: 10 });
      const { view } = await answered(() => bounded.controlCenter(cut, { limit: 10 }));
      expect(view, JSON.stringify(cut)).toEqual(reference);
    }
  });

  it("keeps the checkpoints within their byte budgets, least recently used out first, the answers still exact", async () => {
    const perSource = 100_000;
    const tight = new TimeTravel(store, {
      checkpointEvery: 5,
      maxFold: 20,
      maxBytesPerSource: perSource,
      maxBytes: 150_000,
    });
    const whole = new TimeTravel(store, { checkpointEvery: NO_BOUND, maxFold: NO_BOUND });
    let refusals = 0;
    for (const lot of lives.keys())
      for (const cut of cutsOf(lot)) {
        const { view, asks } = await answered(() => tight.parkingLot(lot, cut));
        refusals += asks - 1;
        expect(view, `${lot} ${JSON.stringify(cut)}`).toEqual(await whole.parkingLot(lot, cut));
        expect(tight.stats().bytes).toBeLessThanOrEqual(150_000);
      }
    expect(tight.stats().checkpoints).toBeGreaterThan(0);
    // Evicted checkpoints were laid again when a moment asked for them.
    expect(refusals).toBeGreaterThan(0);
  });
});
