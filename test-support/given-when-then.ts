import { deepStrictEqual, fail } from "node:assert/strict";
import type {
  CancelReservation,
  ParkingLotCommand,
  RegisterParkingLot,
  ReserveParking,
} from "../schemas/commands.js";
import {
  type DecideContext,
  type Decision,
  decide,
  type ParkingLotEvent,
  type ParkingLotState,
  type Rejection,
} from "../write-side/parking-lot/decider.js";
import { fold } from "./lot-state.js";

/**
 * Test support for the parking-lot decider: `given(history).when(command).then(expected)`.
 * Uses node:assert (not vitest) so that nothing here pulls a dev dependency into a build.
 */

/** What a command should lead to: the exact events (`[]` = accepted, nothing new), a rejection code, or a whole rejection. */
export type Expectation = readonly ParkingLotEvent[] | Rejection["code"] | Rejection;

export interface Outcome {
  readonly decision: Decision;
  /** The state after applying the accepted events (the given state when rejected). */
  readonly state: ParkingLotState;
}

const describeDecision = (decision: Decision): string =>
  decision.ok
    ? `accepted with ${JSON.stringify(decision.events)}`
    : `rejected ${JSON.stringify(decision.rejection)}`;

/** `context`: what the configuration tells the decision (payments on, issue 38); none by default. */
export function given(history: readonly ParkingLotEvent[] = [], context: DecideContext = {}) {
  const before = fold(history);
  return {
    state: before,
    when(command: ParkingLotCommand) {
      const decision = decide(command, before, context);
      return {
        decision,
        // biome-ignore lint/suspicious/noThenProperty: the given/when/then reading is the point; this object is never awaited.
        then(expected: Expectation): Outcome {
          if (Array.isArray(expected)) {
            if (!decision.ok)
              fail(`expected events ${JSON.stringify(expected)}, got ${describeDecision(decision)}`);
            deepStrictEqual(decision.events, expected);
            return { decision, state: fold(decision.events, before) };
          }
          if (decision.ok)
            fail(`expected rejection ${JSON.stringify(expected)}, got ${describeDecision(decision)}`);
          if (typeof expected === "string") deepStrictEqual(decision.rejection.code, expected);
          else deepStrictEqual(decision.rejection, expected);
          return { decision, state: before };
        },
      };
    },
  };
}

/* ---------- builders: sensible defaults, override what the test is about ---------- */

export const NOW = "2024-05-01T09:00:00.000Z";
export const LOT = "lot-1";

export const registerLot = (over: Partial<RegisterParkingLot> = {}): RegisterParkingLot => ({
  type: "RegisterParkingLot",
  parkingLotId: LOT,
  name: "강남 1주차장",
  capacity: 2,
  now: NOW,
  ...over,
});

export const reserveParking = (over: Partial<ReserveParking> = {}): ReserveParking => ({
  type: "ReserveParking",
  reservationId: "res-1",
  parkingLotId: LOT,
  customerId: "CUST1",
  carNumber: "12가3456",
  amount: 5000,
  now: NOW,
  ...over,
});

export const cancelReservation = (over: Partial<CancelReservation> = {}): CancelReservation => ({
  type: "CancelReservation",
  reservationId: "res-1",
  parkingLotId: LOT,
  reason: "plans changed",
  now: NOW,
  ...over,
});

type Data<K extends ParkingLotEvent["type"]> = Extract<ParkingLotEvent, { type: K }>["data"];

export const lotRegistered = (
  over: Partial<Data<"ParkingLotRegistered">> = {},
): Extract<ParkingLotEvent, { type: "ParkingLotRegistered" }> => ({
  type: "ParkingLotRegistered",
  data: { parkingLotId: LOT, name: "강남 1주차장", capacity: 2, registeredAt: NOW, ...over },
});

export const parkingReserved = (
  over: Partial<Data<"ParkingReserved">> = {},
): Extract<ParkingLotEvent, { type: "ParkingReserved" }> => ({
  type: "ParkingReserved",
  data: {
    reservationId: "res-1",
    parkingLotId: LOT,
    customerId: "CUST1",
    carNumber: "12가3456",
    amount: 5000,
    reservedAt: NOW,
    ...over,
  },
});

export const reservationCanceled = (
  over: Partial<Data<"ReservationCanceled">> = {},
): Extract<ParkingLotEvent, { type: "ReservationCanceled" }> => ({
  type: "ReservationCanceled",
  data: {
    reservationId: "res-1",
    parkingLotId: LOT,
    customerId: "CUST1",
    reason: "plans changed",
    canceledAt: NOW,
    ...over,
  },
});
