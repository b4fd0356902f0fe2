import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { SqliteEventStore } from "../event-store/embedded/sqlite-event-store.js";
import type { EventStore, RecordedEvent } from "../event-store/port.js";
import { encodeEvent } from "../schemas/event-codec.js";
import { tempDataDir } from "../test-support/service.js";
import { ParkingLotCommandHandler } from "./command-handler.js";
import { driveUpReservationId, GateEvents, gateStream } from "./gate-events.js";
import { parkingLotStream } from "./parking-lot/decide.js";

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

const LOT = "L1";
const context = {
  correlationId: "c",
  commandId: "k",
  actor: { sub: "att-1", role: "operator" as const },
  now: "2026-11-26T09:05:00.000Z",
};
const meta = { correlationId: "c", causationId: "k", actor: context.actor };

async function collect(iterable: AsyncIterable<RecordedEvent>): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = [];
  for await (const e of iterable) out.push(e);
  return out;
}

describe("GateEvents.resolve: a review is resolved once", () => {
  it("another attendant's resolution landing between the read and the append: told it is resolved, nothing appended", async () => {
    const data = tempDataDir("gate-reviews-");
    const store = SqliteEventStore.open({ file: join(data.dir, "events.sqlite") });
    cleanups.push(data.remove, () => store.close());
    const stream = gateStream(LOT, "E1");
    await store.appendToStream(
      stream,
      [
        encodeEvent(
          {
            type: "GateEventRecorded",
            data: {
              eventId: "E1",
              parkingLotId: LOT,
              gateId: "north",
              direction: "entry",
              confidence: 0.3,
              at: "2026-11-26T09:00:00.000Z",
              decision: "review",
              reason: "LowConfidence",
              candidates: [],
              recordedAt: "2026-11-26T09:00:01.000Z",
            },
          },
          meta,
        ),
      ],
      { expectedRevision: "no_stream" },
    );
    const theirs = encodeEvent(
      {
        type: "GateReviewResolved",
        data: { eventId: "E1", parkingLotId: LOT, action: "deny", resolvedAt: context.now },
      },
      meta,
    );
    // The other attendant appends right after this resolve has read the stream (a stale read).
    let raced = false;
    const racing: EventStore = Object.assign(Object.create(store) as EventStore, {
      readStream: (id: string, options?: Parameters<EventStore["readStream"]>[1]) =>
        (async function* () {
          yield* store.readStream(id, options);
          if (!raced) {
            raced = true;
            await store.appendToStream(stream, [theirs], { expectedRevision: "any" });
          }
        })(),
      appendToStream: store.appendToStream.bind(store),
    });
    // A deny runs no lot command: the lot's handler is not reached.
    const gates = new GateEvents(racing, {} as ParkingLotCommandHandler);
    expect(await gates.resolve(LOT, "E1", { action: "deny" }, context)).toEqual({ alreadyResolved: true });
    expect((await collect(store.readStream(stream))).map((e) => e.type)).toEqual([
      "GateEventRecorded",
      "GateReviewResolved",
    ]);
  });
});

describe("GateEvents.resolve drive-up: a car with no booking let in from its entry's review", () => {
  const NOW = "2026-11-26T09:05:00.000Z";
  const at = (commandId: string) => ({ ...context, commandId, now: NOW });

  /** A lot with an hourly rate and `capacity` spots, on `connections` connections to one store. */
  async function lot(capacity: number, connections = 1) {
    const data = tempDataDir("gate-drive-ups-");
    const file = join(data.dir, "events.sqlite");
    const stores = Array.from({ length: connections }, () =>
      SqliteEventStore.open({ file, pollIntervalMs: 20 }),
    );
    cleanups.push(data.remove, () => {
      for (const store of stores) store.close();
    });
    const handlers = stores.map((s) => new ParkingLotCommandHandler(s, { retryLimit: 50, cacheSize: 10 }));
    const gates = stores.map((s, i) => new GateEvents(s, handlers[i] as ParkingLotCommandHandler));
    const [store] = stores as [SqliteEventStore];
    const registered = await handlers[0]?.handle(
      { type: "RegisterParkingLot", parkingLotId: LOT, name: "Gated", capacity, hourlyRate: 3000, now: NOW },
      at("reg"),
    );
    expect(registered?.ok).toBe(true);
    const lotEvents = async () => (await collect(store.readStream(parkingLotStream(LOT)))).map((e) => e.type);
    const gateEvents = (eventId: string) => collect(store.readStream(gateStream(LOT, eventId)));
    /** A doubtful read (below the default 0.8): sent to review, nothing done at the lot. */
    const review = async (eventId: string, direction: "entry" | "exit" = "entry") => {
      const read = { eventId, gateId: "north", direction, plate: "34나2222", confidence: 0.3, at: NOW };
      expect(await gates[0]?.handle(LOT, read, at(`read-${eventId}`))).toMatchObject({ decision: "review" });
    };
    return { store, gates: gates as [GateEvents, ...GateEvents[]], lotEvents, gateEvents, review };
  }

  it("books one stay under the typed plate and records the resolution without the plate; a repeated resolve books nothing more", async () => {
    const { gates, lotEvents, gateEvents, review } = await lot(2);
    await review("E1");
    const stay = driveUpReservationId(LOT, "E1");
    expect(await gates[0].resolve(LOT, "E1", { action: "drive-up", plate: "34 나 2222" }, at("r1"))).toEqual({
      resolved: {
        eventId: "E1",
        action: "drive-up",
        reservationId: stay,
        position: expect.stringMatching(/^[0-9]+$/),
      },
    });
    const booked = await lotEvents();
    expect(booked.slice(1)).toEqual(["DriveUpAdmitted", "ParkingReserved", "ReservationCheckedIn"]);
    const recorded = await gateEvents("E1");
    expect(recorded.map((e) => e.type)).toEqual(["GateEventRecorded", "GateReviewResolved"]);
    expect(recorded[1]?.data).toEqual({
      eventId: "E1",
      parkingLotId: LOT,
      action: "drive-up",
      reservationId: stay,
      resolvedAt: NOW,
    });
    // The plate is on the lot's stay only, never on the read's stream. Event ids carry the wall
    // clock (UUIDv7), so the digits are looked for in the data, the Hangul anywhere.
    expect(JSON.stringify(recorded.map((e) => e.data))).not.toMatch(/2222/);
    expect(JSON.stringify(recorded)).not.toMatch(/나/);
    expect(await gates[0].resolve(LOT, "E1", { action: "drive-up", plate: "34나2222" }, at("r2"))).toEqual({
      alreadyResolved: true,
    });
    expect(await lotEvents()).toEqual(booked);
  });

  it("a crash between the stay's append and the resolution's: the review stays open, resolving it again records it and books no second stay", async () => {
    const { store, lotEvents, gateEvents, review } = await lot(2);
    await review("E1");
    const crashing: EventStore = Object.assign(Object.create(store) as EventStore, {
      readStream: store.readStream.bind(store),
      appendToStream: (
        stream: string,
        ...rest: Parameters<EventStore["appendToStream"]> extends [string, ...infer R] ? R : never
      ) => {
        if (stream === gateStream(LOT, "E1")) throw new Error("process died");
        return store.appendToStream(stream, ...rest);
      },
    });
    const handler = new ParkingLotCommandHandler(store, { retryLimit: 50, cacheSize: 10 });
    const body = { action: "drive-up", plate: "34나2222" } as const;
    await expect(new GateEvents(crashing, handler).resolve(LOT, "E1", body, at("r1"))).rejects.toThrow(
      "process died",
    );
    const booked = await lotEvents();
    expect(booked.slice(1)).toEqual(["DriveUpAdmitted", "ParkingReserved", "ReservationCheckedIn"]);
    expect(await gateEvents("E1")).toHaveLength(1);
    expect(await new GateEvents(store, handler).resolve(LOT, "E1", body, at("r2"))).toEqual({
      resolved: {
        eventId: "E1",
        action: "drive-up",
        reservationId: driveUpReservationId(LOT, "E1"),
        position: expect.stringMatching(/^[0-9]+$/),
      },
    });
    expect(await lotEvents()).toEqual(booked);
  });

  it("a full lot refuses as its gate would: the refusal is the answer and nothing is appended anywhere", async () => {
    const { gates, lotEvents, gateEvents, review } = await lot(1);
    await review("E1");
    await review("E2");
    const plate = "12가3456";
    expect(await gates[0].resolve(LOT, "E1", { action: "drive-up", plate }, at("r1"))).toHaveProperty(
      "resolved",
    );
    const full = await lotEvents();
    expect(await gates[0].resolve(LOT, "E2", { action: "drive-up", plate }, at("r2"))).toEqual({
      rejection: expect.objectContaining({ code: "LotFull" }),
    });
    expect(await lotEvents()).toEqual(full);
    expect(await gateEvents("E2")).toHaveLength(1);
  });

  it("an exit's review cannot be settled as a drive-up: told so, nothing appended", async () => {
    const { gates, lotEvents, gateEvents, review } = await lot(2);
    await review("X1", "exit");
    const before = await lotEvents();
    expect(await gates[0].resolve(LOT, "X1", { action: "drive-up", plate: "34나2222" }, at("r1"))).toEqual({
      driveUpOnExit: true,
    });
    expect(await lotEvents()).toEqual(before);
    expect(await gateEvents("X1")).toHaveLength(1);
  });

  it("two attendants admitting the same car at once: one resolves, the other is told it is resolved; one stay", async () => {
    const { gates, lotEvents, gateEvents, review } = await lot(2, 2);
    await review("E1");
    const body = { action: "drive-up", plate: "34나2222" } as const;
    const both = await Promise.all(gates.map((g, i) => g.resolve(LOT, "E1", body, at(`r${i}`))));
    expect(both.filter((o) => "resolved" in o)).toHaveLength(1);
    expect(both.filter((o) => "alreadyResolved" in o)).toHaveLength(1);
    expect((await lotEvents()).filter((t) => t === "DriveUpAdmitted")).toHaveLength(1);
    expect((await gateEvents("E1")).map((e) => e.type)).toEqual(["GateEventRecorded", "GateReviewResolved"]);
  });
});
