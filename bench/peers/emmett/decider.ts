import type { Command, Event } from "@event-driven-io/emmett";

/**
 * The parking lot as an Emmett decider: the same rules as the service's decider for what the
 * benchmark exercises (register a lot; reserve while active reservations < capacity; a
 * reservation id is used once). Refusals are thrown, as Emmett's command handler expects.
 */

export type RegisterLot = Command<"RegisterLot", { parkingLotId: string; name: string; capacity: number }>;
export type Reserve = Command<
  "Reserve",
  {
    parkingLotId: string;
    reservationId: string;
    customerId: string;
    carNumber: string;
    amount: number;
    now: string;
  }
>;
export type LotCommand = RegisterLot | Reserve;

export type LotRegistered = Event<
  "ParkingLotRegistered",
  { parkingLotId: string; name: string; capacity: number; registeredAt: string }
>;
export type ParkingReserved = Event<
  "ParkingReserved",
  {
    parkingLotId: string;
    reservationId: string;
    customerId: string;
    carNumber: string;
    amount: number;
    reservedAt: string;
  }
>;
export type LotEvent = LotRegistered | ParkingReserved;

export type LotState =
  | { readonly kind: "unregistered" }
  | { readonly kind: "registered"; readonly capacity: number; active: number; readonly ids: Set<string> };

export class Refused extends Error {
  constructor(
    readonly status: 404 | 409,
    message: string,
  ) {
    super(message);
  }
}

/** A fresh state per fold: evolve adds to its id set in place (Emmett folds from initialState() every time). */
export const initialState = (): LotState => ({ kind: "unregistered" });

export function evolve(state: LotState, event: LotEvent): LotState {
  switch (event.type) {
    case "ParkingLotRegistered":
      return { kind: "registered", capacity: event.data.capacity, active: 0, ids: new Set() };
    case "ParkingReserved":
      if (state.kind !== "registered") return state;
      state.ids.add(event.data.reservationId);
      state.active++;
      return state;
  }
}

export function decide(command: LotCommand, state: LotState): LotEvent[] {
  switch (command.type) {
    case "RegisterLot":
      if (state.kind === "registered") throw new Refused(409, "lot id taken");
      return [
        {
          type: "ParkingLotRegistered",
          data: { ...command.data, registeredAt: new Date().toISOString() },
        },
      ];
    case "Reserve": {
      if (state.kind !== "registered") throw new Refused(404, "unknown lot");
      if (state.ids.has(command.data.reservationId)) throw new Refused(409, "reservation id taken");
      if (state.active >= state.capacity) throw new Refused(409, "lot full");
      const { now, ...data } = command.data;
      return [{ type: "ParkingReserved", data: { ...data, reservedAt: now } }];
    }
  }
}

/** The command handler's options both peers give Emmett's DeciderCommandHandler: one stream per lot, conflicts retried. */
export const lotDecider = {
  decide,
  evolve,
  initialState,
  mapToStreamId: (id: string) => `parkingLot-${id}`,
  retry: { onVersionConflict: 10 },
};
