import { comparePositions, type Position } from "../../event-store/position.js";
import {
  RESERVATION_EVENTS,
  type ReservationEventEntry,
} from "../../projections/read-models/reservation-events.js";
import type { ReadContext } from "./read-context.js";

/** A reservation's indexed events, and the position up to which the index holds all of them. */
export interface IndexedReservationEvents {
  /** Every event of the log up to here is in `entries` if it names the reservation; null: nothing applied. */
  readonly applied: Position | null;
  /** In log order. */
  readonly entries: readonly ReservationEventEntry[];
}

/**
 * Where a reservation's events are in the log: one index range. The applied position is read first
 * and entries past it left out, so the caller knows exactly which part of the log the answer covers.
 */
export async function reservationEvents(
  ctx: ReadContext,
  reservationId: string,
): Promise<IndexedReservationEvents> {
  const { collection, position } = await ctx.applied(RESERVATION_EVENTS);
  if (!position) return { applied: null, entries: [] };
  const docs = await ctx.store.find<ReservationEventEntry>(
    collection,
    { reservationId },
    { sort: { reservationId: 1, commit: 1, prepare: 1 } },
  );
  return { applied: position, entries: docs.filter((d) => comparePositions(d, position) <= 0) };
}
