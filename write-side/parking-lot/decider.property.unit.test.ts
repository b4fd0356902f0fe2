import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { CancelReservation, ParkingLotCommand, ReserveParking } from "../../schemas/commands.js";
import { LOT, NOW, registerLot } from "../../test-support/given-when-then.js";
import { fold, plainOf, throughSummary } from "../../test-support/lot-state.js";
import {
  availableSpots,
  type Decision,
  decide,
  initialState,
  type ParkingLotEvent,
  type ParkingLotState,
  type Rejection,
} from "./decider.js";

/*
 * Random command sequences against one lot (one stream), run through decide + evolve the way the
 * command handler does: accepted events are applied, rejections change nothing.
 */

const NUM_RUNS = 300;

/** Re-sends the lot's current registration (resolved against the state), so retries are common. */
type RepeatRegistration = { readonly type: "RepeatRegistration" };
type Step = ParkingLotCommand | RepeatRegistration;

const POOL = ["r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9"] as const;
const GHOSTS = ["ghost-1", "ghost-2"] as const;

const registerArb: fc.Arbitrary<ParkingLotCommand> = fc
  .record({ name: fc.constantFrom("강남 1주차장", "판교 2주차장"), capacity: fc.integer({ min: 0, max: 8 }) })
  .map((details) => registerLot(details));

const details = fc.record({
  customerId: fc.constantFrom("CUST1", "CUST2"),
  carNumber: fc.constantFrom("10더8612", "AB-123-CD"),
  amount: fc.constantFrom(5000, 7000),
});

/** Mostly the details that belong to the id (so repeats are retries), sometimes others (conflicts). */
const reserveArb: fc.Arbitrary<ReserveParking> = fc
  .record({
    reservationId: fc.constantFrom(...POOL),
    other: fc.option(details, { freq: 4 }),
  })
  .map(({ reservationId, other }) => ({
    type: "ReserveParking",
    reservationId,
    parkingLotId: LOT,
    customerId: other?.customerId ?? `CUST-${reservationId}`,
    carNumber: other?.carNumber ?? "10더8612",
    amount: other?.amount ?? 5000,
    now: NOW,
  }));

const cancelArb: fc.Arbitrary<CancelReservation> = fc
  .record({
    reservationId: fc.constantFrom(...POOL, ...GHOSTS),
    reason: fc.constantFrom("plans changed", "wrong lot"),
  })
  .map(({ reservationId, reason }) => ({
    type: "CancelReservation",
    reservationId,
    parkingLotId: LOT,
    reason,
    now: NOW,
  }));

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 1, arbitrary: registerArb },
  { weight: 1, arbitrary: fc.constant<RepeatRegistration>({ type: "RepeatRegistration" }) },
  { weight: 6, arbitrary: reserveArb },
  { weight: 3, arbitrary: cancelArb },
);

/** Usually starts with a registration; sometimes not, so commands against an unknown lot happen too. */
const stepsArb: fc.Arbitrary<readonly Step[]> = fc
  .tuple(fc.option(registerArb, { freq: 6 }), fc.array(stepArb, { maxLength: 40, size: "+1" }))
  .map(([first, rest]) => (first ? [first, ...rest] : rest));

const resolve = (step: Step, state: ParkingLotState): ParkingLotCommand => {
  if (step.type !== "RepeatRegistration") return step;
  return state.kind === "registered"
    ? registerLot({ name: state.name, capacity: state.capacity })
    : registerLot();
};

interface Transition {
  readonly before: ParkingLotState;
  readonly command: ParkingLotCommand;
  readonly decision: Decision;
  readonly after: ParkingLotState;
  /** Every event accepted before this step. */
  readonly history: readonly ParkingLotEvent[];
  /** Every event accepted so far, this step's included. */
  readonly emitted: readonly ParkingLotEvent[];
}

function execute(steps: readonly Step[]): Transition[] {
  const transitions: Transition[] = [];
  let state = initialState;
  let emitted: readonly ParkingLotEvent[] = [];
  for (const step of steps) {
    const command = resolve(step, state);
    const decision = decide(command, state);
    const after = decision.ok ? fold(decision.events, state) : state;
    const history = emitted;
    if (decision.ok) emitted = [...emitted, ...decision.events];
    transitions.push({ before: state, command, decision, after, history, emitted });
    state = after;
  }
  return transitions;
}

/** A plain, order-independent picture of a state, for deep equality (the collections are Immutable). */
const snapshot = (state: ParkingLotState) => plainOf(state);

const countOf = (events: readonly ParkingLotEvent[], type: ParkingLotEvent["type"]): number =>
  events.filter((event) => event.type === type).length;

const property = (check: (transitions: Transition[]) => void): void =>
  fc.assert(
    fc.property(stepsArb, (steps) => check(execute(steps))),
    { numRuns: NUM_RUNS },
  );

describe("parking-lot decider, random command sequences", { timeout: 60_000 }, () => {
  it("keeps the capacity invariants after every step", () => {
    property((transitions) => {
      for (const { after, emitted } of transitions) {
        const active = after.kind === "registered" ? after.activeReservations : 0;
        expect(countOf(emitted, "ParkingReserved") - countOf(emitted, "ReservationCanceled")).toBe(active);
        if (after.kind !== "registered") continue;
        expect(after.activeReservations).toBeGreaterThanOrEqual(0);
        expect(after.activeReservations).toBeLessThanOrEqual(after.capacity);
        expect(availableSpots(after)).toBe(after.capacity - after.activeReservations);
        const reserved = [...after.reservations].filter(([, r]) => r.status === "RESERVED").length;
        expect(after.activeReservations).toBe(reserved);
      }
    });
  });

  it("never emits a second ParkingReserved or ReservationCanceled for one reservation, nor cancels an unknown one", () => {
    property((transitions) => {
      const reserved = new Set<string>();
      const canceled = new Set<string>();
      for (const { decision } of transitions) {
        if (!decision.ok) continue;
        for (const event of decision.events) {
          if (event.type === "ParkingReserved") {
            expect(reserved.has(event.data.reservationId)).toBe(false);
            reserved.add(event.data.reservationId);
          } else if (event.type === "ReservationCanceled") {
            expect(reserved.has(event.data.reservationId)).toBe(true);
            expect(canceled.has(event.data.reservationId)).toBe(false);
            canceled.add(event.data.reservationId);
          }
        }
      }
    });
  });

  it("never registers the lot twice", () => {
    property((transitions) => {
      const all = transitions.at(-1)?.emitted ?? [];
      expect(countOf(all, "ParkingLotRegistered")).toBeLessThanOrEqual(1);
      if (all.length > 0) expect(all[0]?.type).toBe("ParkingLotRegistered");
    });
  });

  it("decides deterministically: same command and state give a deep-equal decision", () => {
    property((transitions) => {
      for (const { before, command, decision, history } of transitions) {
        expect(decide(command, before)).toEqual(decision);
        // ...also on an equal state rebuilt from scratch rather than the very same object.
        const rebuilt = fold(history);
        expect(snapshot(rebuilt)).toEqual(snapshot(before));
        expect(decide(command, rebuilt)).toEqual(decision);
      }
    });
  });

  it("reproduces the state by folding the emitted events from the initial state, and through its summary", () => {
    property((transitions) => {
      for (const { after, emitted } of transitions) {
        expect(snapshot(fold(emitted))).toEqual(snapshot(after));
        expect(snapshot(throughSummary(after))).toEqual(snapshot(after));
      }
    });
  });

  it("emits nothing and changes nothing when it rejects a command", () => {
    property((transitions) => {
      for (const { before, command, decision, after } of transitions) {
        if (decision.ok) continue;
        expect(Object.keys(decision).sort()).toEqual(["ok", "rejection"]);
        expect(after).toBe(before);
        if ("parkingLotId" in decision.rejection)
          expect(decision.rejection.parkingLotId).toBe(command.parkingLotId);
      }
    });
  });

  it("treats every accepted command as idempotent: deciding it again on the result emits nothing", () => {
    property((transitions) => {
      for (const { command, decision, after } of transitions) {
        if (decision.ok) expect(decide(command, after)).toEqual({ ok: true, events: [] });
      }
    });
  });

  it("stamps every event with the command's lot and clock", () => {
    property((transitions) => {
      for (const { command, decision } of transitions) {
        if (!decision.ok) continue;
        expect(decision.events.length).toBeLessThanOrEqual(1);
        for (const event of decision.events) {
          expect(event.data.parkingLotId).toBe(command.parkingLotId);
          const stamp =
            event.type === "ParkingLotRegistered"
              ? event.data.registeredAt
              : event.type === "ParkingReserved"
                ? event.data.reservedAt
                : event.type === "ReservationCanceled"
                  ? event.data.canceledAt
                  : undefined;
          expect(stamp).toBe(NOW);
        }
      }
    });
  });

  it("agrees with a plain reference model of the rules", () => {
    interface Booking {
      customerId: string;
      carNumber: string;
      amount: number;
      active: boolean;
    }
    type Expected = { readonly code: Rejection["code"] } | { readonly events: ParkingLotEvent["type"][] };

    property((transitions) => {
      let lot: { name: string; capacity: number } | null = null;
      const bookings = new Map<string, Booking>();
      const activeCount = () => [...bookings.values()].filter((b) => b.active).length;

      for (const { command, decision } of transitions) {
        let expected: Expected | undefined;
        switch (command.type) {
          case "RegisterParkingLot":
            if (!lot) {
              lot = { name: command.name, capacity: command.capacity };
              expected = { events: ["ParkingLotRegistered"] };
            } else if (lot.name === command.name && lot.capacity === command.capacity) {
              expected = { events: [] };
            } else {
              expected = { code: "LotAlreadyRegistered" };
            }
            break;
          case "ReserveParking": {
            const booking = bookings.get(command.reservationId);
            if (!lot) expected = { code: "LotNotFound" };
            else if (booking) {
              const same =
                booking.customerId === command.customerId &&
                booking.carNumber === command.carNumber &&
                booking.amount === command.amount;
              expected = same ? { events: [] } : { code: "ReservationIdConflict" };
            } else if (
              [...bookings.values()].filter((b) => b.active && b.customerId === command.customerId).length >=
              4
            )
              expected = { code: "TooManyActiveReservations" };
            else if (activeCount() >= lot.capacity) expected = { code: "LotFull" };
            else {
              bookings.set(command.reservationId, {
                customerId: command.customerId,
                carNumber: command.carNumber,
                amount: command.amount ?? 0,
                active: true,
              });
              expected = { events: ["ParkingReserved"] };
            }
            break;
          }
          case "CancelReservation": {
            const booking = bookings.get(command.reservationId);
            if (!lot) expected = { code: "LotNotFound" };
            else if (!booking) expected = { code: "ReservationNotFound" };
            else if (!booking.active) expected = { events: [] };
            else {
              booking.active = false;
              expected = { events: ["ReservationCanceled"] };
              if (decision.ok) {
                expect(decision.events[0]).toMatchObject({
                  type: "ReservationCanceled",
                  data: { customerId: booking.customerId, reason: command.reason },
                });
              }
            }
            break;
          }
        }
        if (expected === undefined) throw new Error(`no reference for ${command.type}`);
        const actual: Expected = decision.ok
          ? { events: decision.events.map((event) => event.type) }
          : { code: decision.rejection.code };
        expect(actual).toEqual(expected);
      }
    });
  });
});
