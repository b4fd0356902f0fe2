import type { EventStore, EventToAppend } from "../../event-store/port.js";
import { systemActor } from "../../schemas/actor.js";
import type { ParkingLotCommand } from "../../schemas/commands.js";
import { encodeEvent } from "../../schemas/event-codec.js";
import {
  decide,
  evolve,
  initialState,
  type ParkingLotEvent,
  type ParkingLotState,
} from "../../write-side/parking-lot/decider.js";

/**
 * A lot of many active bookings, decided by the lot's own decider (so its state and events are
 * what the service would hold), for the cold-load scenarios (cold-active, lot-periods).
 */

export const ACTIVE_LOT_NOW = Date.parse("2026-11-26T12:00:00.000Z");
export const BENCH_ACTOR = systemActor("bench");

/** Booking `i` of lot `lot`: open-ended, by its own customer, at the bench's instant. */
export const reserveOn = (lot: string, i: number): ParkingLotCommand => ({
  type: "ReserveParking",
  reservationId: `r${i}`,
  parkingLotId: lot,
  customerId: `C${i}`,
  carNumber: `${10 + (i % 80)}가${String(1000 + (i % 9000))}`,
  amount: 5000,
  now: new Date(ACTIVE_LOT_NOW).toISOString(),
});

/** The events of `commands` decided on `state` one by one, and the state after them. */
export function decidedAll(state: ParkingLotState, commands: Iterable<ParkingLotCommand>) {
  const events: ParkingLotEvent[] = [];
  for (const command of commands) {
    const decision = decide(command, state);
    if (!decision.ok) throw new Error(`${command.type} refused: ${decision.rejection.code}`);
    for (const event of decision.events) {
      state = evolve(state, event);
      events.push(event);
    }
  }
  return { state, events };
}

/** Lot `lot` registered with `capacity` spots: its events and state. */
export const registered = (lot: string, capacity: number) =>
  decidedAll(initialState, [
    {
      type: "RegisterParkingLot",
      parkingLotId: lot,
      name: lot,
      capacity,
      now: new Date(ACTIVE_LOT_NOW).toISOString(),
    },
  ]);

/** Bookings [from, from + count) of lot `lot`, as commands. */
export function* bookings(lot: string, from: number, count: number): Generator<ParkingLotCommand> {
  for (let i = from; i < from + count; i++) yield reserveOn(lot, i);
}

export const encodedForBench = (event: ParkingLotEvent): EventToAppend =>
  encodeEvent(event, { correlationId: "bench", causationId: "bench", actor: BENCH_ACTOR });

/** Appends `events` to `stream` a thousand per append from `revision`; the stream's revision after. */
export async function appendInThousands(
  store: EventStore,
  stream: string,
  events: readonly ParkingLotEvent[],
  revision: number | "no_stream",
): Promise<number | "no_stream"> {
  for (let i = 0; i < events.length; i += 1000) {
    const batch = events.slice(i, i + 1000).map(encodedForBench);
    revision = (await store.appendToStream(stream, batch, { expectedRevision: revision }))
      .nextExpectedRevision;
  }
  return revision;
}
