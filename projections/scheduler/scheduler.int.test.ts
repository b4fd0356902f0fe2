import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SqliteDocumentStore } from "../../document-store/embedded/sqlite-document-store.js";
import type { EventStore } from "../../event-store/port.js";
import { createLogger } from "../../platform/logger.js";
import type { StoredDomainEvent } from "../../schemas/event-codec.js";
import type { DomainEvent } from "../../schemas/events.js";
import type { ReactorContext } from "../runtime/processor.js";
import {
  type CommandSender,
  SCHEDULE,
  type SendOutcome,
  scheduler,
  type TimeDrivenCommand,
} from "./scheduler.js";

/** The scheduler's schedule follows the log, and a run sends what is due by the reactor's clock. */
const LOT = "L1";
let position = 0;
const stored = (event: DomainEvent): StoredDomainEvent => {
  position++;
  return {
    event,
    id: `event-${position}`,
    streamId: `parkingLot-${LOT}`,
    revision: position,
    position: { commit: position, prepare: position },
    metadata: { correlationId: "corr-1", causationId: "cause-1", schemaVersion: 1 },
    createdAt: new Date(0),
  };
};
const reserved = (reservationId: string, endsAt?: string) =>
  stored({
    type: "ParkingReserved",
    data: {
      reservationId,
      parkingLotId: LOT,
      customerId: "C1",
      carNumber: "12가3456",
      amount: 1000,
      reservedAt: "2026-11-23T09:00:00.000Z",
      ...(endsAt ? { startsAt: "2026-11-23T10:00:00.000Z", endsAt } : {}),
    },
  });
const checkedIn = (reservationId: string) =>
  stored({
    type: "ReservationCheckedIn",
    data: { reservationId, parkingLotId: LOT, customerId: "C1", checkedInAt: "2026-11-23T10:05:00.000Z" },
  });
const closed = (closureId: string, from: string) =>
  stored({
    type: "ParkingLotClosed",
    data: {
      closureId,
      parkingLotId: LOT,
      from,
      until: "2026-11-30T12:00:00.000Z",
      reason: "repaving",
      closedAt: "2026-11-23T09:00:00.000Z",
    },
  });

describe("the scheduler", () => {
  let store: SqliteDocumentStore;
  let now = Date.parse("2026-11-23T09:00:00.000Z");
  const sent: TimeDrivenCommand[] = [];
  let answer: SendOutcome = "recorded";
  /** What the lot answers each chunk of a closure's cancellations (then "gone": none left). */
  let chunks: SendOutcome[] = [];
  const send: CommandSender = async (command) => {
    sent.push(command);
    if (command.type === "CancelForClosure") return chunks.shift() ?? "gone";
    return answer;
  };
  const context = (): ReactorContext => ({
    eventStore: {} as EventStore,
    documentStore: store,
    logger: createLogger("silent"),
    now: () => now,
  });
  const schedule = async () =>
    (await store.find(SCHEDULE, {}, { sort: { dueAt: 1 } })).map((d) => [d._id, d.dueAt]);

  beforeEach(() => {
    store = SqliteDocumentStore.open({ file: ":memory:" });
    sent.length = 0;
    answer = "recorded";
    now = Date.parse("2026-11-23T09:00:00.000Z");
  });
  afterEach(async () => store.close());

  it("keeps a window's end and a closure's start, and drops what an event settles", async () => {
    const reactor = scheduler({ send });
    await reactor.react(
      [
        reserved("r1", "2026-11-23T11:00:00.000Z"),
        reserved("r2", "2026-11-23T12:00:00.000Z"),
        reserved("open"),
      ],
      context(),
    );
    await reactor.react([closed("c1", "2026-11-30T10:00:00.000Z"), checkedIn("r2")], context());
    const expected = [
      ["closure-cancels:L1:c1", "2026-11-23T09:00:00.000Z"],
      ["no-show:r1", "2026-11-23T11:00:00.000Z"],
      ["closure:L1:c1", "2026-11-30T10:00:00.000Z"],
    ];
    expect(await schedule()).toEqual(expected);
    // The same events again (after a crash, before the checkpoint moved): the same schedule.
    await reactor.react([reserved("r2", "2026-11-23T12:00:00.000Z"), checkedIn("r2")], context());
    expect(await schedule()).toEqual(expected);
  });

  it("issue 48: a paid booking's hold comes off when the lot confirms it (ReservationConfirmed)", async () => {
    const reactor = scheduler({ send });
    const base = reserved("paid", "2026-11-23T11:00:00.000Z");
    const pending = stored({
      ...base.event,
      data: {
        ...(base.event.data as Extract<DomainEvent, { type: "ParkingReserved" }>["data"]),
        payment: { amount: 1000, currency: "KRW", holdUntil: "2026-11-23T09:15:00.000Z" },
      },
    } as DomainEvent);
    await reactor.react([pending], context());
    expect(await schedule()).toEqual([
      ["payment-hold:paid", "2026-11-23T09:15:00.000Z"],
      ["no-show:paid", "2026-11-23T11:00:00.000Z"],
    ]);
    const confirmed = stored({
      type: "ReservationConfirmed",
      data: {
        reservationId: "paid",
        parkingLotId: LOT,
        customerId: "C1",
        intentId: "pi_1",
        confirmedAt: "2026-11-23T09:01:00.000Z",
      },
    });
    await reactor.react([confirmed], context());
    expect(await schedule()).toEqual([["no-show:paid", "2026-11-23T11:00:00.000Z"]]);
  });

  it("a no-show of a booking still waiting for its payment takes its hold off too", async () => {
    const reactor = scheduler({ send });
    const base = reserved("late", "2026-11-23T11:00:00.000Z");
    const pending = stored({
      ...base.event,
      data: {
        ...(base.event.data as Extract<DomainEvent, { type: "ParkingReserved" }>["data"]),
        payment: { amount: 1000, currency: "KRW", holdUntil: "2026-11-23T12:00:00.000Z" },
      },
    } as DomainEvent);
    await reactor.react([pending], context());
    const noShow = stored({
      type: "ReservationNoShow",
      data: {
        reservationId: "late",
        parkingLotId: LOT,
        customerId: "C1",
        startsAt: "2026-11-23T10:00:00.000Z",
        endsAt: "2026-11-23T11:00:00.000Z",
        recordedAt: "2026-11-23T11:00:01.000Z",
      },
    });
    await reactor.react([noShow], context());
    expect(await schedule()).toEqual([]);
  });

  it("sends what is due by its clock, soonest first, stamped with that clock; nothing before", async () => {
    const reactor = scheduler({ send });
    await reactor.react(
      [reserved("r1", "2026-11-23T11:00:00.000Z"), closed("c1", "2026-11-23T10:30:00.000Z")],
      context(),
    );
    // Its cancellations are due at once: chunk after chunk until the lot appends nothing.
    chunks = ["recorded", "recorded"];
    await reactor.tick?.run(context());
    const cancels = {
      type: "CancelForClosure",
      closureId: "c1",
      parkingLotId: LOT,
      now: "2026-11-23T09:00:00.000Z",
    };
    expect(sent).toEqual([cancels, cancels, cancels]);
    sent.length = 0;
    now = Date.parse("2026-11-23T11:00:00.000Z");
    await reactor.tick?.run(context());
    expect(sent).toEqual([
      { type: "BeginClosure", closureId: "c1", parkingLotId: LOT, now: "2026-11-23T11:00:00.000Z" },
      { type: "RecordNoShow", reservationId: "r1", parkingLotId: LOT, now: "2026-11-23T11:00:00.000Z" },
    ]);
    // Recorded: the fact leaves the schedule with its event (react), not before.
    expect(await schedule()).toHaveLength(2);
  });

  it("drops a fact with nothing to record, and keeps one the lot says is not due yet", async () => {
    const reactor = scheduler({ send });
    await reactor.react([reserved("r1", "2026-11-23T11:00:00.000Z")], context());
    now = Date.parse("2026-11-23T11:00:00.000Z");
    answer = "not-due";
    await reactor.tick?.run(context());
    expect(await schedule()).toHaveLength(1);
    answer = "gone";
    await reactor.tick?.run(context());
    expect(await schedule()).toEqual([]);
  });

  it("without a sender (a replay) keeps the schedule and has no clock-driven work", () => {
    expect(scheduler().tick).toBeUndefined();
  });
});
