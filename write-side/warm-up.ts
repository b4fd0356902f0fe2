import { fromBigInt } from "../event-store/position.js";
import { MemoryDataKeys } from "../platform/data-keys/port.js";
import { precompileRequests } from "../platform/http/operation-routes.js";
import { systemActor } from "../schemas/actor.js";
import type { ParkingLotCommand } from "../schemas/commands.js";
import { decodeEvent, encodeEvent } from "../schemas/event-codec.js";
import { EventDataSchemas, EventMetadata, type EventType } from "../schemas/events.js";
import { withPersonalDataKeys } from "../schemas/personal-data.js";
import { precompile } from "../schemas/validation.js";
import { COMMAND_OPERATIONS } from "./http/operations.js";
import {
  decide,
  evolve,
  initialState,
  PARKING_LOT_EVENT_TYPES,
  type ParkingLotEvent,
  type ParkingLotState,
} from "./parking-lot/decider.js";
import { lotOfSummary, summaryOf } from "./parking-lot/summary.js";

const WARM_LOT = "warm-up";
const WARM_CAUSATION = {
  correlationId: "00000000-0000-4000-8000-000000000000",
  causationId: "00000000-0000-4000-8000-000000000000",
  actor: systemActor("warm-up"),
};

/**
 * Pays at start-up what a fresh process's first command would: compiling the command routes' and
 * the lot's events' schemas (ajv compiles each on first use, tens of ms together), and running the
 * lot's code path once so that V8 has compiled it. In memory: nothing is read or written.
 */
export function warmUpCommandPath(now: number = Date.now()): void {
  precompile(
    EventMetadata,
    ...[...PARKING_LOT_EVENT_TYPES].map((type) => EventDataSchemas[type as EventType]),
  );
  precompileRequests(COMMAND_OPERATIONS);
  const at = (minutes: number) => new Date(now + minutes * 60_000).toISOString();
  const commands: ParkingLotCommand[] = [
    { type: "RegisterParkingLot", parkingLotId: WARM_LOT, name: WARM_LOT, capacity: 2, now: at(0) },
    ...[0, 1].map(
      (i): ParkingLotCommand => ({
        type: "ReserveParking",
        reservationId: `warm-${i}`,
        parkingLotId: WARM_LOT,
        customerId: "warm-up",
        carNumber: "12가3456",
        amount: 1000,
        ...(i === 0 ? { startsAt: at(60), endsAt: at(120) } : {}),
        now: at(0),
      }),
    ),
    {
      type: "CancelReservation",
      parkingLotId: WARM_LOT,
      reservationId: "warm-0",
      reason: "warm-up",
      now: at(1),
    },
  ];
  let state: ParkingLotState = initialState;
  let revision = 0;
  // The sealing path warmed too, under keys of its own (the key store keeps no warm-up customer).
  const keys = new MemoryDataKeys();
  for (const command of commands) {
    const decision = decide(command, state);
    if (!decision.ok) continue;
    for (const event of decision.events) {
      const decoded = withPersonalDataKeys(keys, () =>
        decodeEvent({
          ...encodeEvent(event, WARM_CAUSATION),
          id: `warm-${revision}`,
          streamId: WARM_LOT,
          revision: revision++,
          position: fromBigInt(BigInt(revision), BigInt(revision)),
          createdAt: new Date(now),
        }),
      );
      state = evolve(state, decoded.event as ParkingLotEvent);
    }
  }
  if (state.kind === "registered") lotOfSummary(WARM_LOT, summaryOf(state));
}
