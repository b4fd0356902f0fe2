import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SqliteDocumentStore } from "../../document-store/embedded/sqlite-document-store.js";
import { SqliteEventStore } from "../../event-store/embedded/sqlite-event-store.js";
import type { EventStore, ReadStreamOptions } from "../../event-store/port.js";
import { systemActor } from "../../schemas/actor.js";
import { encodeEvent } from "../../schemas/event-codec.js";
import type { DomainEvent } from "../../schemas/events.js";
import { fold } from "../../test-support/lot-state.js";
import { projectedLog, withProjectionIndexes } from "../../test-support/projected-log.js";
import { tempDataDir } from "../../test-support/service.js";
import { liveState, openingOf } from "../../write-side/parking-lot/period-books.js";
import { LotsAt } from "./lots-at.js";
import { readViews } from "./views.js";

/**
 * Issue 68 item 2: every reader of a lot's state on the read side loads it through the write
 * side's loader (the opening of the period holding the moment and that period's events), with one
 * bounded cache caught up by stream revision: a read sees every event the log has (no read model
 * in between to lag), re-reads only the events after the state it kept, and keeps at most its bound.
 */
const HOUR = 3_600_000;
const T0 = Date.parse("2026-11-23T12:00:00.000Z");
const iso = (ms: number) => new Date(ms).toISOString();
const causation = { correlationId: "c", causationId: "c", actor: systemActor("test") };

const registered = (parkingLotId: string, capacity = 2): DomainEvent => ({
  type: "ParkingLotRegistered",
  data: { parkingLotId, name: parkingLotId, capacity, registeredAt: iso(T0 - 24 * HOUR) },
});
/** A window, by default one holding a spot at T0. */
const booked = (reservationId: string, startsAt = T0 - HOUR, endsAt = T0 + HOUR): DomainEvent => ({
  type: "ParkingReserved",
  data: {
    reservationId,
    parkingLotId: "L1",
    customerId: "C1",
    carNumber: "12가3456",
    amount: 1000,
    reservedAt: iso(T0 - 2 * HOUR),
    startsAt: iso(startsAt),
    endsAt: iso(endsAt),
  },
});

/** The event store, counting the events its stream reads return. */
function counting(store: EventStore): { events: EventStore; read: () => number } {
  let read = 0;
  const events = new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (property !== "readStream") return typeof value === "function" ? value.bind(target) : value;
      return async function* (streamId: string, options?: ReadStreamOptions) {
        for await (const event of target.readStream(streamId, options)) {
          read++;
          yield event;
        }
      };
    },
  });
  return { events, read: () => read };
}

let store: SqliteEventStore;
let data: ReturnType<typeof tempDataDir>;
const append = async (stream: string, events: readonly DomainEvent[]) =>
  store.appendToStream(
    stream,
    events.map((e) => encodeEvent(e, causation)),
    { expectedRevision: "any" },
  );

beforeEach(() => {
  data = tempDataDir("parking-lots-at-");
  store = SqliteEventStore.open({ file: join(data.dir, "events.sqlite") });
});
afterEach(async () => {
  await store.close();
  data.remove();
});

describe("the read side's lots, from the one loader (lots-at.ts)", () => {
  it("counts a lot and a reservation's status on every event of the log, though the read models lag behind", async () => {
    const docs = SqliteDocumentStore.open({ file: ":memory:" });
    try {
      await withProjectionIndexes(docs);
      // r2: a window over by T0 with no check-in yet: NO_SHOW, holding no spot.
      const events = [registered("L1"), booked("r1"), booked("r2", T0 - 2 * HOUR, T0 - HOUR / 2)];
      await projectedLog(new Date(T0)).apply(docs, events);
      await append("parkingLot-L1", events);
      const views = readViews(docs, { eventStore: store, readYourWritesTimeoutMs: 0, now: () => T0 });
      expect(await views.lots.parkingLot("L1")).toMatchObject({ activeReservations: 1, availableSpots: 1 });
      expect(await views.reservations.reservation("r2")).toMatchObject({ status: "NO_SHOW" });
      // Its check-in (late, within the window) is in the log, and in no read model yet: the car
      // stays past its window, OVERSTAYING, and holds a spot.
      await append("parkingLot-L1", [
        {
          type: "ReservationCheckedIn",
          data: { reservationId: "r2", parkingLotId: "L1", customerId: "C1", checkedInAt: iso(T0 - HOUR) },
        },
      ]);
      expect(await views.lots.parkingLot("L1")).toMatchObject({ activeReservations: 2, availableSpots: 0 });
      expect(await views.reservations.reservation("r2")).toMatchObject({ status: "OVERSTAYING" });
      const center = await views.controlCenter.controlCenter({ limit: 10 });
      expect(center.parkingLots.find((l) => l.parkingLotId === "L1")?.presence).toMatchObject({ inLot: 1 });
    } finally {
      await docs.close();
    }
  });

  it("folds only the events after the state it kept, and a period opened since from its opening", async () => {
    const lot = [registered("L1", 10), booked("r1"), booked("r2")];
    await append("parkingLot-L1", lot);
    const { events, read } = counting(store);
    const lots = new LotsAt(events, 10);
    expect((await lots.at("L1")).revision).toBe(2);
    const first = read();
    // Read again with nothing new: no event is read (the kept period's stream is empty after it).
    await lots.at("L1");
    expect(read()).toBe(first);
    // One more booking: that one event.
    await append("parkingLot-L1", [booked("r3")]);
    const after = await lots.at("L1");
    expect(read()).toBe(first + 1);
    expect(after.state.kind === "registered" && after.state.reservations.size).toBe(3);
    // The books close and period 1 opens with the lot's state, then r4: the lot is period 1's
    // opening and r4, none of period 0's events read again.
    const state = fold([...lot, booked("r3")] as Parameters<typeof fold>[0]);
    await append("parkingLot-L1", [
      {
        type: "LotBooksClosed",
        data: {
          parkingLotId: "L1",
          period: 0,
          nextPeriod: 1,
          closedAt: iso(T0),
          summary: { events: 4, activeReservations: 3, carried: 3 },
        },
      },
    ]);
    await append("parkingLot-L1/1", [openingOf(liveState(state, T0), "L1", 1, T0), booked("r4")]);
    const before = read();
    const opened = await lots.at("L1");
    expect(opened.state.kind === "registered" && opened.state.reservations.size).toBe(4);
    expect(opened.revision).toBe(1);
    // LotBooksClosed, then period 1's two events (and the probes that find period 1: its first events).
    expect(read() - before).toBeLessThanOrEqual(6);
    // A fresh cache loads the current period alone: its two events and the probes.
    const fresh = counting(store);
    const again = await new LotsAt(fresh.events, 10).at("L1");
    expect(again.state).toEqual(opened.state);
    expect(fresh.read()).toBeLessThanOrEqual(6);
  });

  it("answers an earlier moment of the kept period from the checkpoint before it, not from the opening", async () => {
    const bookings = Array.from({ length: 1_100 }, (_, i) => booked(`r${i}`));
    await append("parkingLot-L1", [registered("L1", 2_000), ...bookings]);
    const positions: number[] = [];
    for await (const e of store.readStream("parkingLot-L1")) positions.push(e.position.commit);
    const { events, read } = counting(store);
    const lots = new LotsAt(events, 10);
    await lots.at("L1");
    // At the 1,050th event: from the checkpoint at the 1,000th, about 50 events, not 1,050.
    const before = read();
    const earlier = await lots.at("L1", { kind: "position", commit: positions[1_050] as number });
    expect(earlier.revision).toBe(1_050);
    expect(earlier.state.kind === "registered" && earlier.state.reservations.size).toBe(1_050);
    expect(read() - before).toBeLessThanOrEqual(60);
    // The present again: from the state kept at the 1,050th (its checkpoints kept), the 50 after it.
    const again = read();
    expect((await lots.at("L1")).revision).toBe(1_100);
    expect(read() - again).toBeLessThanOrEqual(60);
  });

  it("keeps at most its bound of lots, the least recently asked out first, and forgets a lot erased", async () => {
    for (const id of ["A", "B", "C"]) await append(`parkingLot-${id}`, [registered(id)]);
    const lots = new LotsAt(store, 2);
    for (const id of ["A", "B", "C"]) await lots.at(id);
    expect(lots.size).toBe(2);
    expect(lots.keptBytes).toBeGreaterThan(0);
    lots.forget(["C"]);
    expect(lots.size).toBe(1);
    lots.forget();
    expect(lots.size).toBe(0);
    expect(lots.keptBytes).toBe(0);
    // A byte bound below one lot's state keeps only the lot asked last.
    const tight = new LotsAt(store, 10, 1);
    for (const id of ["A", "B", "C"]) await tight.at(id);
    expect(tight.size).toBe(1);
  });

  it("keeps the lots a page touched before reading them in chunks: a chunk's loads push out others (issue 66)", async () => {
    for (const id of ["A", "B", "C", "D"]) await append(`parkingLot-${id}`, [registered(id)]);
    const { events, read } = counting(store);
    const lots = new LotsAt(events, 3);
    for (const id of ["A", "B", "C"]) await lots.at(id);
    // A page of A and B, about to read them: D's load then pushes out C, not A.
    lots.touch(["A", "B"]);
    await lots.at("D");
    const before = read();
    await lots.at("A");
    await lots.at("B");
    expect(read() - before).toBe(0);
    await lots.at("C");
    expect(read() - before).toBeGreaterThan(0);
  });
});
