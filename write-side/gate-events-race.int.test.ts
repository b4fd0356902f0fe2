import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { SqliteEventStore } from "../event-store/embedded/sqlite-event-store.js";
import type { EventStore } from "../event-store/port.js";
import { decodeEvent } from "../schemas/event-codec.js";
import { tempDataDir } from "../test-support/service.js";
import { type CommandContext, ParkingLotCommandHandler } from "./command-handler.js";
import { driveUpReservationId, GateEvents, gateStream } from "./gate-events.js";
import { availableSpots, reservationStatus } from "./parking-lot/decider.js";

/*
 * Linearizability hunt (gates): one camera read (one eventId) handled by two writers at once, while
 * an operator cancels the booking the plate has. The read has one answer (whichever writer recorded
 * it first); the lot must hold the step of that answer and no other: a read answered `deny` leaves
 * no drive-up stay holding a spot in the lot (one let in by the losing writer is canceled).
 */

const NOW = "2026-11-22T11:00:00.000Z";
const LOT = "G1";
const data = tempDataDir("gate-events-race-");
const stores: SqliteEventStore[] = [];
afterAll(async () => {
  for (const s of stores) await s.close();
  data.remove();
});

let n = 0;
const ctx = (): CommandContext & { now: string } => ({
  correlationId: `corr-${++n}`,
  commandId: `cmd-${n}`,
  actor: { sub: "ops-test", role: "operator" },
  now: NOW,
});

/** A promise and its release. */
function latch(): { wait: Promise<void>; open: () => void } {
  let open = () => {};
  const wait = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { wait, open };
}

describe("one gate read from two writers while its booking is canceled", () => {
  for (const dies of [false, true])
    it(`answers both alike, and the lot holds only the step of that answer${dies ? " (the losing writer dies first: the read's repeat withdraws its drive-up)" : ""}`, async () => {
      const file = join(data.dir, `events-${dies}.sqlite`);
      const one = SqliteEventStore.open({ file, pollIntervalMs: 20 });
      const two = SqliteEventStore.open({ file, pollIntervalMs: 20 });
      stores.push(one, two);
      const options = { retryLimit: 20, cacheSize: 10 };
      const lotsA = new ParkingLotCommandHandler(one, options);
      const lotsB = new ParkingLotCommandHandler(two, options);
      const plate = "34나2222";
      for (const command of [
        {
          type: "RegisterParkingLot",
          parkingLotId: LOT,
          name: "Gated",
          capacity: 1,
          hourlyRate: 3000,
          now: NOW,
        },
        {
          type: "ReserveParking",
          parkingLotId: LOT,
          reservationId: "r1",
          customerId: "C1",
          carNumber: plate,
          now: NOW,
        },
      ] as const)
        expect((await lotsA.handle(command, ctx())).ok).toBe(true);

      // Writer A decides the read (check r1 in) and is slow to take its step; writer B's record is slow.
      const aStep = latch();
      const aStepping = latch();
      const slowLots = Object.create(lotsA) as ParkingLotCommandHandler;
      slowLots.handle = async (command, context) => {
        aStepping.open();
        await aStep.wait;
        return lotsA.handle(command, context);
      };
      const bRecord = latch();
      const bRecording = latch();
      const slowRecords: EventStore = Object.create(two);
      slowRecords.readStream = (id, o) => two.readStream(id, o);
      slowRecords.appendToStream = async (id, events, o) => {
        if (id.startsWith("gate-")) {
          bRecording.open();
          await bRecord.wait;
        }
        return two.appendToStream(id, events, o);
      };
      const gatesA = new GateEvents(one, slowLots);
      // Writer B dies (when `dies`) before it can withdraw what it let in.
      const dying = Object.create(lotsB) as ParkingLotCommandHandler;
      dying.handle = async (command, context) => {
        if (dies && command.type === "CancelReservation") throw new Error("injected: writer B died");
        return lotsB.handle(command, context);
      };
      const gatesB = new GateEvents(slowRecords, dying);
      const read = {
        eventId: "cam-1",
        gateId: "north",
        direction: "entry",
        plate,
        confidence: 0.95,
        at: NOW,
      } as const;

      const a = gatesA.handle(LOT, read, ctx());
      await aStepping.wait;
      // The operator cancels r1 meanwhile; the same read reaches writer B, which finds no booking.
      const canceled = await lotsB.handle(
        { type: "CancelReservation", parkingLotId: LOT, reservationId: "r1", reason: "ops", now: NOW },
        ctx(),
      );
      expect(canceled.ok).toBe(true);
      const b = gatesB.handle(LOT, read, ctx());
      await bRecording.wait;
      aStep.open();
      const answerA = await a;
      bRecord.open();
      const answerB = dies
        ? await b.then(
            () => expect.unreachable("writer B died"),
            () => new GateEvents(one, lotsA).handle(LOT, read, ctx()), // the camera sends it again
          )
        : await b;

      expect(answerB).toMatchObject({ decision: "decision" in answerA ? answerA.decision : "?" });
      const recorded: { type: string; data: unknown }[] = [];
      for await (const e of one.readStream(gateStream(LOT, read.eventId)))
        recorded.push(decodeEvent(e).event);
      expect(recorded).toHaveLength(1);
      const decision = (recorded[0]?.data as { decision?: string } | undefined)?.decision;
      // The lot holds only the step of that answer: a drive-up stay only if the read let one in.
      const state = await new ParkingLotCommandHandler(one, options).stateOf(LOT);
      if (state.kind !== "registered") throw new Error("not registered");
      const driveUp = driveUpReservationId(LOT, read.eventId);
      const holding = reservationStatus(state, driveUp, Date.parse(NOW));
      expect({ decision, driveUp: holding, free: availableSpots(state, Date.parse(NOW)) }).toEqual(
        decision === "open"
          ? { decision, driveUp: "CHECKED_IN", free: 0 }
          : { decision, driveUp: holding === undefined ? undefined : "CANCELED", free: 1 },
      );
    });
});
