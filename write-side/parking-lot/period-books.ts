import { Map as ImmutableMap } from "immutable";
import type { EventOfType } from "../../schemas/events.js";
import { forgetEnded } from "./ended.js";
import { KEEP_ENDED_MS } from "./periods.js";
import { encodeSnapshot, SNAPSHOT_VERSION } from "./snapshot.js";
import type { ParkingLotState, ReservationRecord } from "./state.js";

/**
 * Issue 48: how a period's books close and the next one opens (docs/domain.md, "Periods"). Pure:
 * both events are derived from the lot's state as the closing period leaves it, so a crash between
 * the two appends is repaired by deriving the opening again from the same closed state (as of
 * when it is derived: what has ended by then more than 25 h ago goes).
 */

/**
 * The lot's live state as the next period opens with it: everything that can still hold a spot or
 * change (active and open-ended bookings, cars in the lot, terms, closures in force), and the
 * reservations that ended less than KEEP_ENDED_MS before `at`; the rest of the ended ones are
 * `dropped`, counted in `archived` (the caller keeps their records in the archive of ended
 * reservations, as the snapshotter does, so a command naming one still answers as before).
 */
export function periodSplit(
  state: ParkingLotState,
  at: number,
): { readonly live: ParkingLotState; readonly dropped: readonly (readonly [string, ReservationRecord])[] } {
  if (state.kind !== "registered") return { live: state, dropped: [] };
  const endedAt = state.endedAt ?? ImmutableMap<string, number>();
  const since = at - KEEP_ENDED_MS;
  const recent = (id: string): boolean => (endedAt.get(id) ?? Number.NEGATIVE_INFINITY) >= since;
  const { state: live, ended } = forgetEnded(state, recent);
  if (live.kind !== "registered") return { live, dropped: ended };
  return {
    live: { ...live, endedAt: endedAt.filter((when, id) => when >= since && live.reservations.has(id)) },
    dropped: ended,
  };
}

/** The live state alone (see periodSplit). */
export const liveState = (state: ParkingLotState, at: number): ParkingLotState => periodSplit(state, at).live;

/** The first event of period `period`, holding `live` (periodSplit's) as of `at`. */
export function openingOf(
  live: ParkingLotState,
  parkingLotId: string,
  period: number,
  at: number,
): EventOfType<"LotPeriodOpened"> {
  const ended = live.kind === "registered" ? [...(live.endedAt ?? ImmutableMap<string, number>())] : [];
  ended.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return {
    type: "LotPeriodOpened",
    data: {
      parkingLotId,
      period,
      openedAt: new Date(at).toISOString(),
      version: SNAPSHOT_VERSION,
      state: [...encodeSnapshot(live)],
      ended: ended.map(([reservationId, endedAt]) => ({ reservationId, endedAt })),
    },
  };
}

/** The last event of period `period`, whose stream holds `events` events before it. */
export function closingOf(
  state: ParkingLotState,
  parkingLotId: string,
  period: number,
  events: number,
  at: number,
): EventOfType<"LotBooksClosed"> {
  const live = liveState(state, at);
  return {
    type: "LotBooksClosed",
    data: {
      parkingLotId,
      period,
      nextPeriod: period + 1,
      closedAt: new Date(at).toISOString(),
      summary: {
        events,
        activeReservations: state.kind === "registered" ? state.activeReservations : 0,
        carried: live.kind === "registered" ? live.reservations.size : 0,
      },
    },
  };
}
