import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { plateForm } from "../../schemas/plates.js";
import { LOT, lotRegistered } from "../../test-support/given-when-then.js";
import { fold, fromPlain, plainOf } from "../../test-support/lot-state.js";
import { decide, type ParkingLotEvent, type ParkingLotState } from "./decider.js";
import { DRIVE_UP_MIN_STAY_MINUTES } from "./drive-ups.js";
import { decideGate, type GateRead } from "./gates.js";
import { busiest, ms, statusIn } from "./rules.js";
import type { RegisteredLot } from "./state.js";

/**
 * Hunt (gates): random histories of bookings, cancels and gate reads, decided by the lot's own
 * decider, each read checked against a brute-force oracle over the lot's reservation records (not
 * its plate index, which is what is under test). SPEC "Places, clocks and gates"; "Time windows":
 * "At every instant the spots held never exceed capacity"; "Qualities": never a stray event.
 */

const T0 = Date.parse("2026-11-26T09:00:00.000Z");
const MIN = 60_000;
const iso = (t: number) => new Date(t).toISOString();

/** A small pool of physical plates, and how each may be written. */
const PLATES = ["34나2222", "34다2222", "10더8612", "서울12가3456", "AB123CD"];
const writeAs = (plate: string, how: number): string => {
  switch (how % 5) {
    case 0:
      return plate;
    case 1:
      return [...plate].join(" ");
    case 2:
      return plate.normalize("NFD");
    case 3:
      return plate.toLowerCase();
    default:
      return [...plate].join("-");
  }
};

type Op =
  | { kind: "book"; plate: number; how: number; customer: number; start?: number; length: number }
  | { kind: "cancel"; pick: number }
  | { kind: "tick"; minutes: number }
  | {
      kind: "read";
      direction: "entry" | "exit";
      plate: number;
      how: number;
      confidence: number;
      replayOf?: number;
    };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant("book" as const),
    plate: fc.nat(PLATES.length - 1),
    how: fc.nat(4),
    customer: fc.nat(3),
    start: fc.option(fc.integer({ min: 0, max: 300 }), { nil: undefined }),
    length: fc.integer({ min: 15, max: 240 }),
  }),
  fc.record({ kind: fc.constant("cancel" as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant("tick" as const), minutes: fc.integer({ min: 1, max: 120 }) }),
  fc.record({
    kind: fc.constant("read" as const),
    direction: fc.constantFrom("entry" as const, "exit" as const),
    plate: fc.nat(PLATES.length - 1),
    how: fc.nat(4),
    confidence: fc.constantFrom(0.95, 0.95, 0.95, 0.5),
    replayOf: fc.option(fc.nat(), { nil: undefined }),
  }),
);

/** Every instant over the next days at which the spots held could change, as the lot counts them. */
function overbookedAt(lot: RegisteredLot, now: number): number | undefined {
  const top = busiest(lot, now, now + 7 * 24 * 60 * MIN, now);
  return top.held > lot.capacity ? top.at : undefined;
}

function run(capacity: number, ops: readonly Op[], check: { capacity: boolean }) {
  let now = T0;
  let state: ParkingLotState = fold([
    lotRegistered({ capacity, hourlyRate: 3000, maxActivePerCustomer: 10 }),
  ]);
  const lot = () => state as RegisteredLot;
  const apply = (events: readonly ParkingLotEvent[]) => {
    state = fold(events, state);
  };
  const booked: string[] = [];
  const reads: { read: GateRead; events: number }[] = [];
  let n = 0;
  for (const op of ops) {
    if (op.kind === "tick") now += op.minutes * MIN;
    else if (op.kind === "book") {
      const id = `R${++n}`;
      const start = op.start === undefined ? undefined : now + op.start * MIN;
      const d = decide(
        {
          type: "ReserveParking",
          reservationId: id,
          parkingLotId: LOT,
          customerId: `C${op.customer}`,
          carNumber: writeAs(PLATES[op.plate] as string, op.how),
          ...(start === undefined ? {} : { startsAt: iso(start), endsAt: iso(start + op.length * MIN) }),
          now: iso(now),
        },
        state,
      );
      if (d.ok) {
        apply(d.events);
        booked.push(id);
      }
    } else if (op.kind === "cancel") {
      const id = booked[op.pick % Math.max(1, booked.length)];
      if (id === undefined) continue;
      const d = decide(
        { type: "CancelReservation", parkingLotId: LOT, reservationId: id, reason: "x", now: iso(now) },
        state,
      );
      if (d.ok) apply(d.events);
    } else {
      const earlier =
        op.replayOf === undefined || reads.length === 0 ? undefined : reads[op.replayOf % reads.length];
      const plate = writeAs(PLATES[op.plate] as string, op.how);
      const read: GateRead = earlier
        ? // The same car read again by another camera event (its own id: a replay of one id never
          // reaches the decider, GateEvents answers it from its record).
          { ...earlier.read, at: iso(now), driveUpId: `du-${reads.length}` }
        : {
            parkingLotId: LOT,
            direction: op.direction,
            plate,
            confidence: op.confidence,
            at: iso(now),
            gateId: "north",
            driveUpId: `du-${reads.length}`,
          };
      const before = lot();
      const outcome = decideGate(read, before);
      // A lot loaded from its snapshot decides alike (its plate index is derived).
      expect(decideGate(read, fromPlain(plainOf(before)))).toEqual(outcome);
      const form = plateForm(read.plate);
      // The oracle: the plate's bookings, by a scan of every record.
      const mine = [...before.reservations.entries()].filter(([, r]) => plateForm(r.carNumber) === form);
      const others = [...before.reservations.entries()].filter(([, r]) => plateForm(r.carNumber) !== form);
      const statusOf = (id: string) => statusIn(before, id, before.reservations.get(id) as never, now);
      const checkable = mine.filter(([id, r]) => {
        const s = statusOf(id);
        if (s === "CHECKED_IN" || s === "OVERSTAYING") return true;
        return s === "RESERVED" && (!r.startsAt || now >= ms(r.startsAt) - 5 * MIN);
      });
      const inLot = mine.filter(([id]) => before.inLot.has(id));
      if (outcome.decision !== "open") {
        // Nothing refused or sent to review acts on the lot.
        expect(outcome).not.toHaveProperty("events");
      }
      if (read.confidence < 0.8) expect(outcome.decision).toBe("review");
      else if (outcome.decision === "open") {
        const { reservationId, reason, events } = outcome;
        if (reason === "DriveUp") {
          expect(checkable, "a booked car checkable now was taken for a drive-up").toEqual([]);
          expect(events.map((e) => e.type)).toEqual([
            "DriveUpAdmitted",
            "ParkingReserved",
            "ReservationCheckedIn",
          ]);
        } else {
          const record = before.reservations.get(reservationId);
          expect(record && plateForm(record.carNumber), "another plate's booking was opened").toBe(form);
          expect(others.map(([id]) => id)).not.toContain(reservationId);
          if (reason === "CheckedOut") expect(inLot.map(([id]) => id)).toEqual([reservationId]);
          else expect(checkable.map(([id]) => id)).toEqual([reservationId]);
        }
        apply(events);
      } else if (outcome.decision === "review" && outcome.reason === "SeveralBookings") {
        expect(outcome.reservationIds.length).toBeGreaterThan(1);
      } else if (outcome.decision === "deny" && outcome.reason === "LotFull") {
        const top = busiest(before, now, now + DRIVE_UP_MIN_STAY_MINUTES * MIN, now);
        expect(top.held).toBeGreaterThanOrEqual(before.capacity);
      }
      if (read.direction === "exit" && outcome.decision === "review" && outcome.reason === "NoStay")
        expect(inLot).toEqual([]);
      reads.push({ read, events: outcome.decision === "open" ? outcome.events.length : 0 });
      // A read decided again once its events are in (the camera's retry): nothing more happens.
      if (outcome.decision === "open") {
        const again = decideGate(read, lot());
        if (again.decision === "open") expect(again.events).toEqual([]);
      }
    }
    if (check.capacity) {
      const at = overbookedAt(lot(), now);
      expect(at === undefined ? undefined : iso(at), "spots held exceed capacity").toBeUndefined();
    }
  }
}

describe("gate reads over random histories", () => {
  it("match the plate's own bookings only, never act when refused, and a retry changes nothing", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3 }), fc.array(opArb, { maxLength: 40 }), (capacity, ops) =>
        run(capacity, ops, { capacity: false }),
      ),
      { numRuns: Number(process.env.HUNT_RUNS ?? 400) },
    );
  });
});

describe("a booked car whose plate was typed in full-width digits", () => {
  it("is checked in by its booking at the gate, not let in as a drive-up", () => {
    const startsAt = iso(T0);
    const state = fold([
      lotRegistered({ hourlyRate: 3000 }),
      {
        type: "ParkingReserved",
        data: {
          reservationId: "res-1",
          parkingLotId: LOT,
          customerId: "CUST1",
          carNumber: "１０더８６１２",
          amount: 6000,
          reservedAt: iso(T0 - 60 * MIN),
          startsAt,
          endsAt: iso(T0 + 120 * MIN),
        },
      },
    ]);
    const read: GateRead = {
      parkingLotId: LOT,
      direction: "entry",
      plate: "10더8612",
      confidence: 0.95,
      at: startsAt,
      gateId: "north",
      driveUpId: "du-1",
    };
    expect(decideGate(read, state)).toMatchObject({
      decision: "open",
      reason: "CheckedIn",
      reservationId: "res-1",
    });
  });
});
