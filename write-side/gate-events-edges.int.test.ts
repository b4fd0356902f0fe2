import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { SqliteEventStore } from "../event-store/embedded/sqlite-event-store.js";
import type { EventStore, RecordedEvent } from "../event-store/port.js";
import { tempDataDir } from "../test-support/service.js";
import { ParkingLotCommandHandler } from "./command-handler.js";
import { GateEvents, gateStream } from "./gate-events.js";
import { parkingLotStream } from "./parking-lot/decide.js";

/**
 * Hunt (gates): a gate read through GateEvents and the lot's command handler on the embedded store.
 * SPEC "Places, clocks and gates": a camera's read, idempotent by its id, checks a booked car in or
 * out; "Qualities": bad input gets a 4xx, never a 500, never a stray event; "What the read side
 * shows": a retried command answers what the first answered.
 */

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

const LOT = "L1";
const T0 = "2026-11-26T09:00:00.000Z";
const T1 = "2026-11-26T10:00:00.000Z";

async function collect(iterable: AsyncIterable<RecordedEvent>): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = [];
  for await (const e of iterable) out.push(e);
  return out;
}

let commands = 0;
const ctx = (now: string) => ({
  correlationId: "c",
  commandId: `k${++commands}`,
  actor: { sub: "att-1", role: "operator" as const },
  now,
});

async function lot(options: { capacity?: number; maxActivePerCustomer?: number } = {}) {
  const data = tempDataDir("gate-events-edges-");
  const store = SqliteEventStore.open({ file: join(data.dir, "events.sqlite") });
  cleanups.push(data.remove, () => store.close());
  const handler = new ParkingLotCommandHandler(store, { retryLimit: 50, cacheSize: 10 });
  const registered = await handler.handle(
    {
      type: "RegisterParkingLot",
      parkingLotId: LOT,
      name: "Gated",
      capacity: options.capacity ?? 5,
      hourlyRate: 3000,
      ...(options.maxActivePerCustomer ? { maxActivePerCustomer: options.maxActivePerCustomer } : {}),
      now: T0,
    },
    ctx(T0),
  );
  expect(registered.ok).toBe(true);
  const lotEvents = async () => (await collect(store.readStream(parkingLotStream(LOT)))).map((e) => e.type);
  const gateEvents = (eventId: string) => collect(store.readStream(gateStream(LOT, eventId)));
  /** A store whose appends to `stream` run `hook` first (a crash, or a stall). */
  const hooked = (stream: string, hook: () => Promise<void>): EventStore =>
    Object.assign(Object.create(store) as EventStore, {
      readStream: store.readStream.bind(store),
      appendToStream: async (
        s: string,
        ...rest: Parameters<EventStore["appendToStream"]> extends [string, ...infer R] ? R : never
      ) => {
        if (s === stream) await hook();
        return store.appendToStream(s, ...rest);
      },
    });
  return { store, handler, gates: new GateEvents(store, handler), lotEvents, gateEvents, hooked };
}

const read = (
  eventId: string,
  direction: "entry" | "exit",
  over: Partial<{ plate: string; confidence: number; at: string }> = {},
) => ({ eventId, gateId: "north", direction, plate: "34나2222", confidence: 0.95, at: T0, ...over });

describe("a gate read's answer is recorded for any plate", () => {
  it("a low-confidence read of a plate with 21 bookings is sent to review (no throw, nothing on the lot)", async () => {
    const { handler, gates, lotEvents, gateEvents } = await lot({ capacity: 100, maxActivePerCustomer: 100 });
    for (let i = 0; i < 21; i++) {
      const startsAt = new Date(Date.parse(T0) + (i + 1) * 86_400_000).toISOString();
      const endsAt = new Date(Date.parse(startsAt) + 3_600_000).toISOString();
      const booked = await handler.handle(
        {
          type: "ReserveParking",
          reservationId: `R${i}`,
          parkingLotId: LOT,
          customerId: "C1",
          carNumber: "34나2222",
          startsAt,
          endsAt,
          now: T0,
        },
        ctx(T0),
      );
      expect(booked.ok).toBe(true);
    }
    const before = await lotEvents();
    const answer = await gates.handle(LOT, read("E1", "entry", { confidence: 0.5 }), ctx(T0));
    expect(answer).toMatchObject({ decision: "review", reason: "LowConfidence" });
    expect(await gateEvents("E1")).toHaveLength(1);
    expect(await lotEvents()).toEqual(before);
  });
});

describe("a gate read's facts carry the request's trace, as every command's do", () => {
  it("GateEventRecorded and GateReviewResolved hold the traceparent the request came with", async () => {
    const { gates, gateEvents } = await lot();
    const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    const answer = await gates.handle(LOT, read("E1", "entry", { confidence: 0.5 }), {
      ...ctx(T0),
      traceparent,
    });
    expect(answer).toMatchObject({ decision: "review" });
    await gates.resolve(LOT, "E1", { action: "deny" }, { ...ctx(T1), traceparent });
    const recorded = await gateEvents("E1");
    expect(recorded.map((e) => [e.type, e.metadata.traceparent])).toEqual([
      ["GateEventRecorded", traceparent],
      ["GateReviewResolved", traceparent],
    ]);
  });
});

describe("a camera's clock gives a 4xx or a recorded answer, never a 500 after the lot acted", () => {
  for (const at of ["2016-12-31T23:59:60Z", "9999-12-31T23:59:59-01:00"]) {
    it(`at ${at}: refused as invalid input before anything is appended, or recorded`, async () => {
      const { gates, lotEvents, gateEvents } = await lot();
      const before = await lotEvents();
      let thrown: unknown;
      try {
        await gates.handle(LOT, read("E1", "entry", { at }), ctx(T1));
      } catch (error) {
        thrown = error;
      }
      if (thrown !== undefined) {
        // Only a validation problem may stop it, and then nothing is appended anywhere.
        expect(await lotEvents(), `stray lot events beside ${String(thrown)}`).toEqual(before);
        expect(await gateEvents("E1")).toHaveLength(0);
        // Refused before acting: app/gate-events-http.int.test.ts checks the HTTP answer is a 400.
      } else expect(await gateEvents("E1")).toHaveLength(1);
    });
  }
});

describe("a gate read retried", () => {
  it("the same id replayed with another body answers as the first and changes nothing", async () => {
    const { gates, lotEvents } = await lot();
    const first = await gates.handle(LOT, read("E1", "entry"), ctx(T0));
    const after = await lotEvents();
    for (const other of [
      read("E1", "exit"),
      read("E1", "entry", { plate: "99허9999" }),
      read("E1", "entry", { confidence: 0.1 }),
    ])
      expect(await gates.handle(LOT, other, ctx(T1))).toEqual({ ...first, replayed: true });
    expect(await lotEvents()).toEqual(after);
  });
});
