import { Map as ImmutableMap } from "immutable";
import type {
  CancelReservation,
  ParkingLotCommand,
  RegisterParkingLot,
  ReserveParking,
} from "../../schemas/commands.js";
import type { EventOfType } from "../../schemas/events.js";

/**
 * The parking-lot aggregate as a decider: pure functions, no I/O.
 * One lot's whole life is one stream, so this state is the consistency boundary for capacity.
 */

export type ParkingLotEvent =
  | EventOfType<"ParkingLotRegistered">
  | EventOfType<"ParkingReserved">
  | EventOfType<"ReservationCanceled">;

export interface ReservationRecord {
  readonly customerId: string;
  readonly carNumber: string;
  readonly amount: number;
  readonly status: "RESERVED" | "CANCELED";
}

export type ParkingLotState =
  | { readonly kind: "unregistered" }
  | {
      readonly kind: "registered";
      readonly parkingLotId: string;
      readonly name: string;
      readonly capacity: number;
      readonly activeReservations: number;
      /** Every reservation the lot ever accepted (persistent map: evolve is O(log n), not O(n)). */
      readonly reservations: ImmutableMap<string, ReservationRecord>;
    };

export type RegisteredLot = Extract<ParkingLotState, { kind: "registered" }>;

export const initialState: ParkingLotState = { kind: "unregistered" };

/** Why a command was refused. Expected outcomes, so they are values, not exceptions. */
export type Rejection =
  | { readonly code: "LotNotFound"; readonly parkingLotId: string }
  | { readonly code: "LotAlreadyRegistered"; readonly parkingLotId: string }
  | { readonly code: "LotFull"; readonly parkingLotId: string; readonly capacity: number }
  | { readonly code: "ReservationNotFound"; readonly parkingLotId: string; readonly reservationId: string }
  | { readonly code: "ReservationIdConflict"; readonly parkingLotId: string; readonly reservationId: string };

export type Decision =
  | { readonly ok: true; readonly events: readonly ParkingLotEvent[] }
  | { readonly ok: false; readonly rejection: Rejection };

const accept = (...events: ParkingLotEvent[]): Decision => ({ ok: true, events });
const reject = (rejection: Rejection): Decision => ({ ok: false, rejection });

export function decide(command: ParkingLotCommand, state: ParkingLotState): Decision {
  switch (command.type) {
    case "RegisterParkingLot":
      return register(command, state);
    case "ReserveParking":
      return reserve(command, state);
    case "CancelReservation":
      return cancel(command, state);
  }
}

function register(command: RegisterParkingLot, state: ParkingLotState): Decision {
  if (state.kind === "registered") {
    // Re-sending the very same registration is a harmless retry; anything else takes a used id.
    if (state.name === command.name && state.capacity === command.capacity) return accept();
    return reject({ code: "LotAlreadyRegistered", parkingLotId: command.parkingLotId });
  }
  return accept({
    type: "ParkingLotRegistered",
    data: {
      parkingLotId: command.parkingLotId,
      name: command.name,
      capacity: command.capacity,
      registeredAt: command.now,
    },
  });
}

function reserve(command: ReserveParking, state: ParkingLotState): Decision {
  if (state.kind !== "registered") return reject({ code: "LotNotFound", parkingLotId: command.parkingLotId });
  const existing = state.reservations.get(command.reservationId);
  if (existing) {
    // Same id again: an idempotent retry if it asks for the same thing, a conflict if not.
    const same =
      existing.customerId === command.customerId &&
      existing.carNumber === command.carNumber &&
      existing.amount === command.amount;
    return same
      ? accept()
      : reject({
          code: "ReservationIdConflict",
          parkingLotId: command.parkingLotId,
          reservationId: command.reservationId,
        });
  }
  if (state.activeReservations >= state.capacity) {
    return reject({ code: "LotFull", parkingLotId: command.parkingLotId, capacity: state.capacity });
  }
  return accept({
    type: "ParkingReserved",
    data: {
      reservationId: command.reservationId,
      parkingLotId: command.parkingLotId,
      customerId: command.customerId,
      carNumber: command.carNumber,
      amount: command.amount,
      reservedAt: command.now,
    },
  });
}

function cancel(command: CancelReservation, state: ParkingLotState): Decision {
  if (state.kind !== "registered") return reject({ code: "LotNotFound", parkingLotId: command.parkingLotId });
  const reservation = state.reservations.get(command.reservationId);
  // Someone else's reservation is answered exactly like a missing one: existence is not revealed.
  if (!reservation || (command.requestedBy !== undefined && reservation.customerId !== command.requestedBy)) {
    return reject({
      code: "ReservationNotFound",
      parkingLotId: command.parkingLotId,
      reservationId: command.reservationId,
    });
  }
  if (reservation.status === "CANCELED") return accept(); // canceling twice changes nothing
  return accept({
    type: "ReservationCanceled",
    data: {
      reservationId: command.reservationId,
      parkingLotId: command.parkingLotId,
      customerId: reservation.customerId,
      reason: command.reason,
      canceledAt: command.now,
    },
  });
}

export function evolve(state: ParkingLotState, event: ParkingLotEvent): ParkingLotState {
  switch (event.type) {
    case "ParkingLotRegistered":
      if (state.kind === "registered") return state; // a lot is registered once; its history stays
      return {
        kind: "registered",
        parkingLotId: event.data.parkingLotId,
        name: event.data.name,
        capacity: event.data.capacity,
        activeReservations: 0,
        reservations: ImmutableMap(),
      };
    case "ParkingReserved": {
      if (state.kind !== "registered" || state.reservations.has(event.data.reservationId)) return state;
      const { reservationId, customerId, carNumber, amount } = event.data;
      return {
        ...state,
        activeReservations: state.activeReservations + 1,
        reservations: state.reservations.set(reservationId, {
          customerId,
          carNumber,
          amount,
          status: "RESERVED",
        }),
      };
    }
    case "ReservationCanceled": {
      if (state.kind !== "registered") return state;
      const reservation = state.reservations.get(event.data.reservationId);
      if (!reservation || reservation.status === "CANCELED") return state;
      return {
        ...state,
        activeReservations: state.activeReservations - 1,
        reservations: state.reservations.set(event.data.reservationId, {
          ...reservation,
          status: "CANCELED",
        }),
      };
    }
  }
}

export const fold = (
  events: Iterable<ParkingLotEvent>,
  from: ParkingLotState = initialState,
): ParkingLotState => {
  let state = from;
  for (const event of events) state = evolve(state, event);
  return state;
};

export const availableSpots = (state: RegisteredLot): number => state.capacity - state.activeReservations;

export const PARKING_LOT_EVENT_TYPES: ReadonlySet<string> = new Set([
  "ParkingLotRegistered",
  "ParkingReserved",
  "ReservationCanceled",
]);

export const parkingLotStream = (parkingLotId: string): string => `parkingLot-${parkingLotId}`;
