import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { SqliteEventStore } from "../event-store/embedded/sqlite-event-store.js";
import type { EventStore, RecordedEvent } from "../event-store/port.js";
import { type DataKeys, MemoryDataKeys } from "../platform/data-keys/port.js";
import { SqliteDataKeys } from "../platform/data-keys/sqlite-data-keys.js";
import { Database } from "../platform/sqlite.js";
import type { ParkingLotCommand, ReserveParking } from "../schemas/commands.js";
import { decodeEvent } from "../schemas/event-codec.js";
import type { EventOfType } from "../schemas/events.js";
import { ERASED, holderOf, usePersonalDataKeys } from "../schemas/personal-data.js";
import { lotCommands } from "../test-support/lot-commands.js";
import { tempDataDir } from "../test-support/service.js";
import { ParkingLotCommandHandler } from "./command-handler.js";
import { activeCount } from "./parking-lot/booking.js";
import type { ParkingLotState } from "./parking-lot/decider.js";
import { reservationsOfPlate } from "./parking-lot/gates.js";
import { lotPeriodOfStream, openedState, parkingLotStream } from "./parking-lot/periods.js";

/** Issue 48: the lot's books close by period; each period's fold starts at its opening. */

const NOW = "2026-11-22T11:00:00.000Z";
const clock = () => Date.parse(NOW);
const BOUND = 10;
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function openStores(count: number): SqliteEventStore[] {
  const data = tempDataDir("lot-periods-");
  const file = join(data.dir, "events.sqlite");
  const stores = Array.from({ length: count }, () => SqliteEventStore.open({ file, pollIntervalMs: 20 }));
  cleanups.push(data.remove, async () => {
    for (const store of stores) await store.close();
  });
  return stores;
}

const handlerOn = (store: EventStore, periodEvents = BOUND, more: { now?: () => number } = {}) =>
  new ParkingLotCommandHandler(store, { retryLimit: 5, cacheSize: 10, periodEvents, now: clock, ...more });

const { context, register, reserve } = lotCommands(NOW);
const cancel = (lot: string, reservationId: string): ParkingLotCommand => ({
  type: "CancelReservation",
  reservationId,
  parkingLotId: lot,
  reason: "changed plans",
  now: NOW,
});

async function events(store: EventStore, stream: string): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = [];
  for await (const e of store.readStream(stream)) out.push(e);
  return out;
}

/** The store, recording the stream and revision of every event its readStream calls yield. */
function recordingReads(inner: EventStore): {
  store: EventStore;
  reads: { stream: string; revision: number }[];
} {
  const reads: { stream: string; revision: number }[] = [];
  const store: EventStore = Object.create(inner);
  store.readStream = (streamId, options) =>
    (async function* () {
      for await (const event of inner.readStream(streamId, options)) {
        reads.push({ stream: streamId, revision: event.revision });
        yield event;
      }
    })();
  store.appendToStream = (streamId, toAppend, options) => inner.appendToStream(streamId, toAppend, options);
  return { store, reads };
}

/** Registers the lot and books `count` reservations `${prefix}${i}` one by one. */
async function book(handler: ParkingLotCommandHandler, lot: string, count: number, prefix = "r") {
  for (let i = 0; i < count; i++) {
    const outcome = await handler.handle(reserve(lot, `${prefix}${i}`), context(`${prefix}${i}`));
    expect(outcome.ok).toBe(true);
  }
}

describe("the lot's periods (issue 48)", () => {
  it("closes the books once an append leaves the period at the bound, and goes on in the next period", async () => {
    const [store] = openStores(1) as [SqliteEventStore];
    const handler = handlerOn(store);
    await handler.handle(register("A"), context("register"));
    await book(handler, "A", BOUND + 3);

    const first = await events(store, parkingLotStream("A"));
    expect(first).toHaveLength(BOUND + 1);
    expect(first.at(-1)?.type).toBe("LotBooksClosed");
    expect(first.at(-1)?.data).toMatchObject({
      parkingLotId: "A",
      period: 0,
      nextPeriod: 1,
      summary: { events: BOUND },
    });
    const second = await events(store, parkingLotStream("A", 1));
    expect(second.map((e) => e.type)).toEqual([
      "LotPeriodOpened",
      "ParkingReserved",
      "ParkingReserved",
      "ParkingReserved",
      "ParkingReserved",
    ]);
    // A cold handler decides on the same state: the lot's 13 reservations are all there.
    const cold = handlerOn(store);
    const state = await cold.currentState("A");
    expect(state.kind === "registered" && state.activeReservations).toBe(BOUND + 3);
  });

  it("loads a lot from its current period's opening: no event of an earlier period is folded", async () => {
    const [store] = openStores(1) as [SqliteEventStore];
    const handler = handlerOn(store);
    await handler.handle(register("B"), context("register"));
    await book(handler, "B", 3 * BOUND + 2); // periods 0, 1, 2 closed; period 3 current
    expect((await events(store, parkingLotStream("B", 3)))[0]?.type).toBe("LotPeriodOpened");

    const { store: recording, reads } = recordingReads(store);
    const outcome = await handlerOn(recording).handle(reserve("B", "cold"), context("cold"));
    expect(outcome.ok).toBe(true);
    const current = parkingLotStream("B", 3);
    const earlier = reads.filter((r) => r.stream !== current);
    // Earlier periods: only the probes for the current one (the last event of a period's stream).
    expect(earlier.length).toBeLessThanOrEqual(2);
    expect(earlier.every((r) => r.revision === 0 || lotPeriodOfStream(r.stream)?.period !== 0)).toBe(true);
    expect(reads.some((r) => r.stream === parkingLotStream("B"))).toBe(false);
    // The current period: its last event (the probe), then from its opening on, each event once.
    const inCurrent = reads.filter((r) => r.stream === current).map((r) => r.revision);
    const last = (await events(store, current)).length - 2; // before the cold command's own event
    expect(inCurrent).toEqual([last, ...Array.from({ length: last + 1 }, (_, r) => r)]);
  });

  it("repairs a crash between the close and the opening: the next command opens the period and goes on", async () => {
    const [store] = openStores(1) as [SqliteEventStore];
    let failNextOpening = true;
    const crashing: EventStore = Object.create(store);
    crashing.appendToStream = (streamId, toAppend, options) => {
      if (failNextOpening && lotPeriodOfStream(streamId)?.period === 1) {
        failNextOpening = false;
        return Promise.reject(new Error("the process died here"));
      }
      return store.appendToStream(streamId, toAppend, options);
    };
    crashing.readStream = (streamId, options) => store.readStream(streamId, options);
    const handler = handlerOn(crashing);
    await handler.handle(register("C"), context("register"));
    await book(handler, "C", BOUND - 1); // the close is appended, the opening is not
    await handler.lotSettled("C");
    expect((await events(store, parkingLotStream("C"))).at(-1)?.type).toBe("LotBooksClosed");
    expect(await events(store, parkingLotStream("C", 1))).toHaveLength(0);

    // A fresh process (and the same one) go on in period 1, opened from the closed state.
    const outcome = await handlerOn(store).handle(reserve("C", "after"), context("after"));
    expect(outcome.ok).toBe(true);
    const second = await events(store, parkingLotStream("C", 1));
    expect(second.map((e) => e.type)).toEqual(["LotPeriodOpened", "ParkingReserved"]);
    expect(await handler.handle(reserve("C", "again"), context("again"))).toMatchObject({ ok: true });
    expect(await events(store, parkingLotStream("C"))).toHaveLength(BOUND + 1);
    const state = await handlerOn(store).currentState("C");
    expect(state.kind === "registered" && state.activeReservations).toBe(BOUND + 1);
  });

  it("answers the command that crosses the bound before the close and opening are written; the next command is decided in the new period", async () => {
    const [store] = openStores(1) as [SqliteEventStore];
    const order: string[] = [];
    const watched: EventStore = Object.create(store);
    watched.appendToStream = (streamId, toAppend, options) => {
      for (const event of toAppend)
        if (event.type === "LotBooksClosed" || event.type === "LotPeriodOpened") order.push(event.type);
      return store.appendToStream(streamId, toAppend, options);
    };
    watched.readStream = (streamId, options) => store.readStream(streamId, options);
    const handler = handlerOn(watched);
    await handler.handle(register("G"), context("register"));
    await book(handler, "G", BOUND - 2);
    expect(order).toEqual([]);
    const crossing = await handler.handle(reserve("G", "crossing"), context("crossing"));
    order.push("answered");
    expect(crossing.ok).toBe(true);

    const next = await handler.handle(reserve("G", "next"), context("next"));
    expect(order).toEqual(["answered", "LotBooksClosed", "LotPeriodOpened"]);
    expect(next.ok && next.state.kind === "registered" && next.state.activeReservations).toBe(BOUND);
    const second = await events(store, parkingLotStream("G", 1));
    expect(second.map((e) => e.type)).toEqual(["LotPeriodOpened", "ParkingReserved"]);
  });

  it("a command racing a close fails its expected revision and is decided again in the next period", async () => {
    const [one, two] = openStores(2) as [SqliteEventStore, SqliteEventStore];
    const a = handlerOn(one);
    const b = handlerOn(two);
    await a.handle(register("D"), context("register"));
    await book(a, "D", 2, "a"); // a holds the lot in its cache, at period 0
    await book(b, "D", BOUND, "b"); // b closes period 0
    expect((await events(one, parkingLotStream("D"))).at(-1)?.type).toBe("LotBooksClosed");

    const outcome = await a.handle(reserve("D", "late"), context("late"));
    expect(outcome.ok).toBe(true);
    expect(outcome.ok && outcome.state.kind === "registered" && outcome.state.activeReservations).toBe(
      BOUND + 3,
    );
    expect((await events(one, parkingLotStream("D"))).at(-1)?.type).toBe("LotBooksClosed");
    const second = await events(one, parkingLotStream("D", 1));
    expect(second.filter((e) => e.type === "LotPeriodOpened")).toHaveLength(1);
    expect(second.at(-1)?.data).toMatchObject({ reservationId: "late" });
  });

  it("answers a retried command naming a reservation that ended in the previous period as before", async () => {
    const [store] = openStores(1) as [SqliteEventStore];
    const handler = handlerOn(store);
    await handler.handle(register("E"), context("register"));
    await handler.handle(reserve("E", "kept"), context("kept"));
    await handler.handle(cancel("E", "kept"), context("cancel"));
    const retries = [reserve("E", "kept"), cancel("E", "kept")];
    const before = await Promise.all(retries.map((c, i) => handler.handle(c, context(`before-${i}`))));
    await book(handler, "E", BOUND);
    expect((await events(store, parkingLotStream("E", 1)))[0]?.type).toBe("LotPeriodOpened");

    for (const h of [handler, handlerOn(store)]) {
      const after = await Promise.all(retries.map((c, i) => h.handle(c, context(`after-${i}`))));
      expect(after.map(withoutPosition)).toEqual(before.map(withoutPosition));
    }
    expect((await events(store, parkingLotStream("E", 1))).map((e) => e.type)).not.toContain(
      "ReservationCanceled",
    );
  });

  it("closes a lot whose first stream is already over the bound (written before periods) with its next command", async () => {
    const [store] = openStores(1) as [SqliteEventStore];
    const before = handlerOn(store, 0);
    await before.handle(register("F"), context("register"));
    await book(before, "F", 3 * BOUND);
    expect(await events(store, parkingLotStream("F", 1))).toHaveLength(0);

    const after = handlerOn(store);
    const outcome = await after.handle(reserve("F", "next"), context("next"));
    expect(outcome.ok).toBe(true);
    await after.lotSettled("F");
    const first = await events(store, parkingLotStream("F"));
    expect(first.map((e) => e.type).slice(-2)).toEqual(["ParkingReserved", "LotBooksClosed"]);
    const state = await handlerOn(store).currentState("F");
    expect(state.kind === "registered" && state.activeReservations).toBe(3 * BOUND + 1);
  });

  it("closes the books at the lot's local day boundary, under the size bound (issue 68): the first command after it", async () => {
    const [store] = openStores(1) as [SqliteEventStore];
    let now = Date.parse(NOW);
    const handler = handlerOn(store, 1000, { now: () => now });
    await handler.handle(register("D"), context("register"));
    await book(handler, "D", 3);
    expect(await events(store, parkingLotStream("D", 1))).toHaveLength(0);

    now = Date.parse("2026-11-23T00:00:00.000Z"); // the lot keeps UTC: its next day
    expect((await handler.handle(reserve("D", "next"), context("next"))).ok).toBe(true);
    await handler.lotSettled("D");
    const first = (await events(store, parkingLotStream("D"))).map((e) => e.type);
    expect(first.at(-1)).toBe("LotBooksClosed");
    const opened = await events(store, parkingLotStream("D", 1));
    expect(opened[0]?.type).toBe("LotPeriodOpened");
    const state = await handlerOn(store, 1000, { now: () => now }).currentState("D");
    expect(state.kind === "registered" && state.activeReservations).toBe(4);
    // Within the new day nothing more is due.
    await book(handler, "D", 2, "s");
    expect(await events(store, parkingLotStream("D", 2))).toHaveLength(0);
  });

  it("closes no books on a read of the lot (issue 68): only the lot's next command closes a period over its bound", async () => {
    const [store] = openStores(1) as [SqliteEventStore];
    const before = handlerOn(store, 0);
    await before.handle(register("H"), context("register"));
    await book(before, "H", 2 * BOUND);
    const length = (await events(store, parkingLotStream("H"))).length;

    const state = await handlerOn(store).stateOf("H");
    expect(state.kind === "registered" && state.activeReservations).toBe(2 * BOUND);
    expect(await events(store, parkingLotStream("H"))).toHaveLength(length);
    expect(await events(store, parkingLotStream("H", 1))).toHaveLength(0);
  });

  it("forgets at the opening what ended over 25 h before: a command naming it is a new request (issue 68)", async () => {
    const [store] = openStores(1) as [SqliteEventStore];
    const later = () => Date.parse(NOW) + 26 * 3_600_000;
    const handler = handlerOn(store, BOUND, { now: later });
    await handler.handle(register("G"), context("register"));
    await handler.handle(reserve("G", "old"), context("old"));
    await handler.handle(cancel("G", "old"), context("cancel"));
    await book(handler, "G", BOUND);
    // Period 1 opened after the registration (its local day was over by the source's clock, so the
    // books were due); "old" was booked and canceled in it; period 2 opened at the size bound.
    const opened = (await events(store, parkingLotStream("G", 2)))[0];
    expect(opened?.type).toBe("LotPeriodOpened");
    expect(JSON.stringify(opened?.data)).not.toContain('"old"');

    for (const h of [handler, handlerOn(store, BOUND, { now: later })]) {
      const again = await h.handle(cancel("G", "old"), context("cancel-again"));
      expect(again).toMatchObject({ ok: false, rejection: { code: "ReservationNotFound" } });
    }
    expect((await events(store, parkingLotStream("G", 2))).map((e) => e.type)).not.toContain(
      "ReservationCanceled",
    );
  });
});

const withoutPosition = (outcome: Awaited<ReturnType<ParkingLotCommandHandler["handle"]>>) =>
  outcome.ok ? { ok: true, events: outcome.events, view: outcome.view } : outcome;

describe("an opening's personal data (issue 36)", () => {
  afterEach(() => usePersonalDataKeys(undefined));

  /** The customer and plate of the reservation as the opening holds it, opened with the keys installed. */
  const openedRecord = (opening: RecordedEvent, reservationId: string) => {
    const state = openedState((decodeEvent(opening).event as EventOfType<"LotPeriodOpened">).data);
    if (state.kind !== "registered") throw new Error("the opening holds no registered lot");
    const record = state.reservations.get(reservationId);
    return { customerId: record?.customerId, carNumber: record?.carNumber, byCustomer: state.byCustomer };
  };

  it("seals the customer ids and plates it carries under their customers' keys: an erasure reaches them, and the lot still loads and decides", async () => {
    const keys = new MemoryDataKeys();
    usePersonalDataKeys(keys);
    const [store] = openStores(1) as [SqliteEventStore];
    const handler = handlerOn(store);
    await handler.handle(register("E"), context("register"));
    const mine = { ...reserve("E", "mine"), customerId: "C-to-erase", carNumber: "34나5678" } as const;
    expect((await handler.handle(mine, context("mine"))).ok).toBe(true);
    await book(handler, "E", BOUND);

    const [opening] = await events(store, parkingLotStream("E", 1));
    expect(opening?.type).toBe("LotPeriodOpened");
    if (!opening) return;
    const written = JSON.stringify(opening.data);
    for (const plain of ["C-to-erase", "34나5678", "C-r0", "10더8612"]) expect(written).not.toContain(plain);
    expect(openedRecord(opening, "mine")).toMatchObject({ customerId: "C-to-erase", carNumber: "34나5678" });

    keys.erase("C-to-erase");
    const erased = openedRecord(opening, "mine");
    expect(erased).toMatchObject({ customerId: "erased", carNumber: "erased" });
    // Held still under its key's name (issue 68: loaded sealed), which no customer names any more.
    expect(holderOf("C-to-erase")).toBeUndefined();
    expect(openedRecord(opening, "r0")).toMatchObject({ customerId: "C-r0", carNumber: "10더8612" });

    const cold = handlerOn(store);
    expect((await cold.handle(cancel("E", "mine"), context("cancel-mine"))).ok).toBe(true);
    expect((await cold.handle(reserve("E", "after"), context("after"))).ok).toBe(true);
  });
});

describe("the per-customer limit on a lot loaded sealed", () => {
  afterEach(() => usePersonalDataKeys(undefined));

  it("makes no key for a booking it refuses, and still counts a returning customer's sealed bookings", async () => {
    const data = tempDataDir("lot-periods-keys-");
    const file = join(data.dir, "data-keys.sqlite");
    const keys = SqliteDataKeys.open(file);
    cleanups.push(data.remove, () => keys.close());
    usePersonalDataKeys(keys);
    const keyCount = () => {
      const db = new Database(file, { readonly: true });
      try {
        return (db.prepare("SELECT count(*) AS n FROM data_keys").get() as { n: number }).n;
      } finally {
        db.close();
      }
    };
    const [store] = openStores(1) as [SqliteEventStore];
    const warm = handlerOn(store);
    await warm.handle(register("K", "Lot K", 12), context("register"));
    // k0..k3 C-back's (the limit of 4), in period 0, which closes at the bound: the opening holds them sealed.
    for (let i = 0; i < 12; i++) {
      const customerId = i < 4 ? "C-back" : `C-k${i}`;
      const booked = await warm.handle(
        { ...reserve("K", `k${i}`), customerId } as ReserveParking,
        context(i),
      );
      expect(booked.ok).toBe(true);
    }
    const cold = handlerOn(store);
    const loaded = await cold.stateOf("K");
    expect(loaded.kind === "registered" && loaded.reservations.sealed, "loaded sealed").toBe(true);
    const before = keyCount();
    const newcomer = { ...reserve("K", "k-new"), customerId: "C-new" } as ReserveParking;
    expect(await cold.handle(newcomer, context("new"))).toMatchObject({
      ok: false,
      rejection: { code: "LotFull" },
    });
    const returning = { ...reserve("K", "k-back"), customerId: "C-back" } as ReserveParking;
    expect(await cold.handle(returning, context("back"))).toMatchObject({
      ok: false,
      rejection: { code: "TooManyActiveReservations" },
    });
    // Before: the newcomer's refused booking made them a key with nothing sealed under it.
    expect(keyCount()).toBe(before);
  });
});

/**
 * Issue 68: the period's events after its opening are read sealed as the opening is (lot-loader.ts,
 * decodeSealedEvent): a cold lot's load reads no key and opens nothing; a booking read so is held
 * by its key's name and opened when a decision or an answer reads it; the close opens the tail's
 * bookings with their keys read at once. Counted: the keys the store is asked for.
 */
describe("a period's tail read sealed (issue 68)", () => {
  afterEach(() => usePersonalDataKeys(undefined));

  /** A key store that counts the keys it reads (`key` one each, `keysOf` each id asked). */
  const counting = (inner: MemoryDataKeys) => {
    const asked = { key: 0, keysOf: 0 };
    const keys: DataKeys = Object.assign(Object.create(inner) as DataKeys, {
      key: (id: string) => {
        asked.key++;
        return inner.key(id);
      },
      keysOf: (ids: readonly string[]) => {
        asked.keysOf += ids.length;
        return new Map(
          ids.flatMap((id) => [inner.key(id)].flatMap((key) => (key ? [[id, key] as const] : []))),
        );
      },
    });
    return { keys, asked };
  };
  const T = Date.parse(NOW);
  const CUSTOMERS = 9;
  const customerOf = (i: number) => `C-tail-${i % CUSTOMERS}`;
  const plateOf = (i: number) => `${20 + (i % 3)}가${1000 + (i % 2)}`;
  const booking = (i: number, customerId = customerOf(i)): ReserveParking => ({
    ...(reserve("S", `b${i}`) as ReserveParking),
    customerId,
    carNumber: plateOf(i),
  });
  const registered = (state: ParkingLotState) => {
    if (state.kind !== "registered") throw new Error("a registered lot");
    return state;
  };

  it("loads no key, holds each booking by its key's name, opens one when read, and the close opens the tail's at once", async () => {
    const inner = new MemoryDataKeys();
    const { keys, asked } = counting(inner);
    usePersonalDataKeys(keys);
    const [store] = openStores(1) as [SqliteEventStore];
    const warm = handlerOn(store, 20);
    await warm.handle(register("S"), context("register"));
    // Period 0: the registration and b0..b18, closed (period 1's opening holds them); b19..b26 after it.
    for (let i = 0; i < 27; i++) expect((await warm.handle(booking(i), context(`b${i}`))).ok).toBe(true);
    expect((await events(store, parkingLotStream("S", 1))).map((e) => e.type)).toEqual([
      "LotPeriodOpened",
      ...Array.from({ length: 8 }, () => "ParkingReserved"),
    ]);
    inner.erase(customerOf(3)); // b3, b12 (the opening's), b21 (the tail's)

    asked.key = asked.keysOf = 0;
    const cold = registered(await handlerOn(store, 20).stateOf("S"));
    expect(asked).toEqual({ key: 0, keysOf: 0 });
    // The per-customer limit counts a customer's bookings of the opening and of the tail, unopened.
    expect(activeCount(cold, customerOf(1), T)).toBe(3);
    expect(asked).toEqual({ key: 0, keysOf: 0 });
    // A booking read is opened alone (one key); an erased customer's reads `erased`.
    expect(cold.reservations.get("b24")).toMatchObject({
      customerId: customerOf(24),
      carNumber: plateOf(24),
    });
    expect(asked).toEqual({ key: 1, keysOf: 0 });
    expect(cold.reservations.get("b21")).toMatchObject({ customerId: ERASED, carNumber: ERASED });
    // A camera's read finds the plate's bookings, the tail's too, as the lot kept warm does.
    const hot = registered(await warm.currentState("S"));
    expect(reservationsOfPlate(cold, plateOf(5))).toEqual(reservationsOfPlate(hot, plateOf(5)));
    expect(reservationsOfPlate(cold, plateOf(5))).toContain("b23");
    for (let i = 0; i < 27; i++)
      expect(cold.reservations.get(`b${i}`), `b${i}`).toEqual({
        ...hot.reservations.get(`b${i}`),
        ...(i % CUSTOMERS === 3 ? { customerId: ERASED, carNumber: ERASED } : {}),
      });

    // Decided cold: the limit refuses a fifth active booking; a cancel of the tail's names its customer.
    const fresh = handlerOn(store, 20);
    expect((await fresh.handle(booking(30, customerOf(1)), context("fourth"))).ok).toBe(true);
    expect(await fresh.handle(booking(31, customerOf(1)), context("fifth"))).toMatchObject({
      ok: false,
      rejection: { code: "TooManyActiveReservations" },
    });
    const canceled = await fresh.handle(cancel("S", "b25"), context("cancel-b25"));
    expect(canceled.ok && canceled.events[0]?.data).toMatchObject({ customerId: customerOf(25) });
    // Period 1 at its bound: the close opens the tail's other 7 bookings, their keys read at once
    // (the erased customer's asked again alone: it is none).
    asked.key = asked.keysOf = 0;
    for (let i = 0; i < 9; i++)
      expect((await fresh.handle(booking(200 + i, `C-late-${i}`), context(`late${i}`))).ok).toBe(true);
    await fresh.lotSettled("S");
    const [opening] = await events(store, parkingLotStream("S", 2));
    expect(opening?.type).toBe("LotPeriodOpened");
    expect(asked).toEqual({ key: 1, keysOf: 7 });
    const next = registered(
      openedState((decodeEvent(opening as RecordedEvent).event as EventOfType<"LotPeriodOpened">).data),
    );
    expect(next.reservations.get("b24")).toMatchObject({
      customerId: customerOf(24),
      carNumber: plateOf(24),
    });
    expect(next.reservations.get("b21")).toMatchObject({ customerId: ERASED, carNumber: ERASED });
  });
});
