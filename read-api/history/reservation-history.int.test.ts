import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SqliteDocumentStore } from "../../document-store/embedded/sqlite-document-store.js";
import type { WriteOp } from "../../document-store/port.js";
import { SqliteEventStore } from "../../event-store/embedded/sqlite-event-store.js";
import {
  RESERVATION_EVENTS,
  reservationEventsProjection,
} from "../../projections/read-models/reservation-events.js";
import { checkpointOp, physicalCollection } from "../../projections/runtime/checkpoints.js";
import { systemActor } from "../../schemas/actor.js";
import { decodeEvent, encodeEvent } from "../../schemas/event-codec.js";
import type { DomainEvent } from "../../schemas/events.js";
import { countingReads } from "../../test-support/counting-event-store.js";
import { readAllEvents } from "../../test-support/seed.js";
import { tempDataDir } from "../../test-support/service.js";
import { couponStream } from "../../write-side/coupon/coupon.js";
import { parkingLotStream as lotStream } from "../../write-side/parking-lot/periods.js";
import { paymentStream } from "../../write-side/payment/payment.js";
import { TimeTravel } from "../time-travel/time-travel.js";
import { PositionNotReachedError } from "../views/read-context.js";
import { readViews } from "../views/views.js";
import { HistoryService } from "./history-service.js";
import { UNINDEXED_READ_LIMIT } from "./reservation-history.js";

/**
 * A reservation's history reads its own events, located by the reservation-events index, not its
 * lot's stream: with 5,000 other events in its lot after its booking, it reads its handful of events
 * (counted through the event store); with the index behind, it still answers every event (those
 * past the index read from the log, bounded, or after waiting for the index).
 */
const LOT = "busy-1";
const T0 = Date.parse("2026-11-01T00:00:00.000Z");
const iso = (ms: number) => new Date(ms).toISOString();
const OTHERS = 5_000;
const who = (reservationId: string, customerId: string) => ({ reservationId, parkingLotId: LOT, customerId });
const booking = (reservationId: string, customerId: string, at: number): DomainEvent => ({
  type: "ParkingReserved",
  data: { ...who(reservationId, customerId), carNumber: "10더8612", amount: 1000, reservedAt: iso(at) },
});

describe("a reservation's history, from its index", () => {
  const data = tempDataDir("parking-reservation-history-");
  let events: SqliteEventStore;
  let docs: SqliteDocumentStore;
  /** How many events of the log the index has applied (in log order). */
  let indexed = 0;
  const booked: Record<string, number> = {};

  /** Applies the index projection to the log's events up to the `upTo`th (all by default), with its checkpoint. */
  const project = async (upTo = Number.POSITIVE_INFINITY) => {
    const ops: WriteOp[] = [];
    let seen = 0;
    let last: { commit: number; prepare: number } | undefined;
    for await (const raw of events.readAll()) {
      if (++seen > upTo) break;
      if (seen <= indexed) continue;
      const stored = decodeEvent(raw);
      if (reservationEventsProjection.eventTypes.has(stored.event.type))
        ops.push(...reservationEventsProjection.apply(stored, (logical) => physicalCollection(logical, 1)));
      last = raw.position;
    }
    indexed = Math.min(seen, upTo);
    if (!last) return;
    ops.push(checkpointOp(reservationEventsProjection.name, 1, { position: last, state: "running" }, 1));
    await docs.write(ops);
  };
  const rebuildIndex = async (upTo?: number) => {
    indexed = 0;
    await docs.dropCollection(physicalCollection(RESERVATION_EVENTS, 1));
    await docs.ensureIndexes(
      physicalCollection(RESERVATION_EVENTS, 1),
      reservationEventsProjection.collections[RESERVATION_EVENTS] ?? [],
    );
    await project(upTo);
  };

  const append = async (stream: string, list: readonly DomainEvent[]) => {
    const causation = { correlationId: "c", causationId: "c", actor: systemActor("test") };
    const appended = await events.appendToStream(
      stream,
      list.map((e) => encodeEvent(e, causation)),
      { expectedRevision: "any" },
    );
    return appended.position.commit;
  };

  const history = (timeoutMs = 0) => {
    const counting = countingReads(events);
    const { context } = readViews(docs, { readYourWritesTimeoutMs: timeoutMs, eventStore: events });
    return { counting, service: new HistoryService(counting.store, context) };
  };
  const where = (reservationId: string) => ({ parkingLotId: LOT, position: booked[reservationId] as number });

  beforeAll(async () => {
    events = SqliteEventStore.open({ file: join(data.dir, "events.sqlite") });
    docs = SqliteDocumentStore.open({ file: join(data.dir, "read-models.sqlite") });
    await append(lotStream(LOT), [
      {
        type: "ParkingLotRegistered",
        data: { parkingLotId: LOT, name: "Busy", capacity: 9000, registeredAt: iso(T0) },
      },
    ]);
    booked.DONE = await append(lotStream(LOT), [booking("DONE", "CUST1", T0 + 1)]);
    booked.OPEN = await append(lotStream(LOT), [booking("OPEN", "CUST2", T0 + 2)]);
    // 5,000 other events in the lot after both bookings.
    for (let k = 0; k < OTHERS; k += 500) {
      await append(
        lotStream(LOT),
        Array.from({ length: 500 }, (_, i) => booking(`other-${k + i}`, `C${i % 9}`, T0 + 10 + k + i)),
      );
    }
    const ids = who("DONE", "CUST1");
    await append(lotStream(LOT), [
      { type: "ReservationCheckedIn", data: { ...ids, checkedInAt: iso(T0 + 60_000) } },
      {
        type: "ReservationCheckedOut",
        data: { ...ids, checkedOutAt: iso(T0 + 3_600_000), couponEarned: true },
      },
    ]);
    await append(couponStream("DONE"), [
      { type: "CouponIssued", data: { ...ids, couponId: "coupon-DONE", issuedAt: iso(T0 + 3_600_001) } },
    ]);
  }, 60_000);
  afterAll(async () => {
    await events?.close();
    await docs?.close();
    data.remove();
  });

  const DONE_STEPS = ["ParkingReserved", "ReservationCheckedIn", "ReservationCheckedOut", "CouponIssued"];

  it("answers every event of the reservation even with the index behind by a few (read past it, bounded)", async () => {
    const total = OTHERS + 6;
    await rebuildIndex(total - 3); // the index has the booking, not the check-in, check-out or coupon
    const { counting, service } = history();
    const found = await service.reservation("DONE", where("DONE"), { limit: 50 });
    expect(found?.customerId).toBe("CUST1");
    expect(found?.page.items.map((e) => e.type)).toEqual(DONE_STEPS);
    // A binary search of the lot's stream past the index (about log₂ 5,000 single reads), the
    // lot's events past the index, the booking: far fewer than the 5,000 events in between.
    expect(counting.read()).toBeLessThan(40);
  });

  it("waits for an index far behind, and answers once it caught up", async () => {
    await rebuildIndex(2); // the lot's registration and the first booking only
    // Behind by more than the history reads past the index: without a wait it is not answered…
    expect(OTHERS).toBeGreaterThan(UNINDEXED_READ_LIMIT);
    await expect(history(0).service.reservation("OPEN", where("OPEN"), { limit: 50 })).rejects.toThrow(
      PositionNotReachedError,
    );
    // …and it is once the index catches up during the wait.
    const waiting = history(10_000).service.reservation("DONE", where("DONE"), { limit: 50 });
    await project();
    expect((await waiting)?.page.items.map((e) => e.type)).toEqual(DONE_STEPS);
  });

  it("reads only the reservation's own events once indexed, however many events its lot has since", async () => {
    await project();
    const { counting, service } = history();
    const done = await service.reservation("DONE", where("DONE"), { limit: 50 });
    expect(done?.page.items.map((e) => e.type)).toEqual(DONE_STEPS);
    expect(done?.page.items.every((e) => e.reservationId === "DONE")).toBe(true);
    expect(counting.read()).toBe(DONE_STEPS.length);

    // Still open: its booking, and the lot's newest event (nothing past the index).
    counting.reset();
    const open = await service.reservation("OPEN", where("OPEN"), { limit: 50 });
    expect(open).toMatchObject({ customerId: "CUST2", page: { items: [{ type: "ParkingReserved" }] } });
    expect(counting.read()).toBe(2);
  });

  it("folds a reservation as of a moment from its own events (time travel through the index)", async () => {
    await project();
    const counting = countingReads(events);
    const { context } = readViews(docs, { readYourWritesTimeoutMs: 0, eventStore: events });
    const timeTravel = new TimeTravel(counting.store, { index: context });
    const at = (ms: number) =>
      timeTravel.reservation(
        "DONE",
        { parkingLotId: LOT, position: { commit: booked.DONE as number, prepare: 0 } },
        { kind: "instant", ms },
      );
    expect(await at(T0 + 120_000)).toMatchObject({ reservationId: "DONE", status: "CHECKED_IN" });
    // Its own facts, and its lot's state at the moment (its status is the lot's decider's then,
    // lots-at.ts): at most the lot's period up to the moment, read once.
    const lotEvents = (await readAllEvents(events)).filter((e) =>
      e.streamId.startsWith("parkingLot-"),
    ).length;
    expect(counting.read()).toBeGreaterThanOrEqual(DONE_STEPS.length);
    expect(counting.read()).toBeLessThanOrEqual(DONE_STEPS.length + lotEvents);
    // The lot's state at that moment is kept: asked again, the reservation reads its own facts alone.
    counting.reset();
    expect(await at(T0 + 120_000)).toMatchObject({ reservationId: "DONE", status: "CHECKED_IN" });
    expect(counting.read()).toBe(DONE_STEPS.length);
    expect(await at(T0 + 7_200_000)).toMatchObject({ status: "COMPLETED", coupon: { status: "ISSUED" } });
  });

  it("pages by position, each page reading at most its entries and the booking", async () => {
    await project();
    const { counting, service } = history();
    const types: string[] = [];
    let cursor: number | undefined;
    do {
      counting.reset();
      const found = await service.reservation("DONE", where("DONE"), {
        limit: 1,
        ...(cursor === undefined ? {} : { cursor }),
      });
      expect(found?.customerId).toBe("CUST1");
      expect(counting.read()).toBeLessThanOrEqual(3);
      types.push(...(found?.page.items.map((e) => e.type) ?? []));
      cursor = found?.page.nextCursor === null ? undefined : Number(found?.page.nextCursor);
    } while (cursor !== undefined);
    expect(types).toEqual(DONE_STEPS);
  });

  it("issue 48: reads the reservation's payment stream too, past the index, as its coupon's", async () => {
    await project();
    const released: DomainEvent = {
      type: "PaymentIntentReleased",
      data: {
        reservationId: "DONE",
        parkingLotId: LOT,
        intentId: "pi_DONE",
        amount: 0,
        because: "booking-ended",
        releasedAt: iso(T0 + 3_600_002),
      },
    };
    // The upgrade's fact (issue 48, item 5) is no fact of the reservation: the history skips it.
    const carried: DomainEvent = {
      type: "PaymentCarriedOver",
      data: {
        reservationId: "DONE",
        parkingLotId: LOT,
        carriedAt: iso(T0 + 3_600_003),
        status: "pending",
        intentId: "pi_DONE",
        currency: "KRW",
        authorized: 0,
        captured: 0,
        refunded: 0,
        refundsOutstanding: [],
        settled: false,
        steps: [],
        releasedIntents: ["pi_DONE"],
        facts: [],
        asked: {
          amount: 1000,
          currency: "KRW",
          holdUntil: iso(T0 + 600_000),
          terms: {
            currency: "KRW",
            deposit: 0,
            cancellation: { freeUntilMinutesBefore: 60, feePercent: 0 },
            noShowFee: 0,
          },
        },
      },
    };
    await append(paymentStream("DONE"), [released, carried]);
    expect(paymentStream("DONE")).toBe("payment-DONE");
    const { service } = history();
    const found = await service.reservation("DONE", where("DONE"), { limit: 50 });
    expect(found?.page.items.map((e) => e.type)).toEqual([...DONE_STEPS, "PaymentIntentReleased"]);
    // Indexed, the same: the reservation-events index does not hold the upgrade's fact either.
    await project();
    const indexed = await service.reservation("DONE", where("DONE"), { limit: 50 });
    expect(indexed?.page.items.map((e) => e.type)).toEqual([...DONE_STEPS, "PaymentIntentReleased"]);
  });

  it("finds nothing for a reservation the log never booked", async () => {
    const { service } = history();
    expect(await service.reservation("nope", { parkingLotId: LOT, position: 1 }, { limit: 50 })).toBeNull();
  });
});
