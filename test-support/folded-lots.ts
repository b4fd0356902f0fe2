import type { LotAt } from "../read-api/views/lots-at.js";
import type { DomainEvent } from "../schemas/events.js";
import {
  evolve,
  initialState,
  PARKING_LOT_EVENT_TYPES,
  type ParkingLotEvent,
  type ParkingLotState,
} from "../write-side/parking-lot/decider.js";
import { heldTimeline } from "../write-side/parking-lot/held-timeline.js";

/**
 * Each lot's decider state folded from these events (the lot's, by their `parkingLotId`, with
 * `evolve`), as the views read it (ReadOptions.lots): the lots of a log a test writes into read
 * models alone, with no event store to load them from, and the reference the loader is held to.
 */
export function foldedLots(): {
  add(event: DomainEvent): void;
  lots(parkingLotId: string): Promise<LotAt>;
} {
  const states = new Map<string, ParkingLotState>();
  return {
    add(event) {
      const lot = (event.data as { parkingLotId?: unknown }).parkingLotId;
      if (typeof lot !== "string" || !PARKING_LOT_EVENT_TYPES.has(event.type)) return;
      states.set(lot, evolve(states.get(lot) ?? initialState, event as ParkingLotEvent));
    },
    async lots(parkingLotId) {
      return {
        state: states.get(parkingLotId) ?? initialState,
        revision: -1,
        position: null,
        stampMs: Number.NaN,
        final: false,
        timeline: (lot, now) => heldTimeline(lot, now),
      };
    },
  };
}
