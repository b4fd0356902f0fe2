import { Map as ImmutableMap } from "immutable";
import { localDay, nextDay, startOfLocalDay } from "../../platform/local-time.js";
import type { CloseBooks } from "../../schemas/commands.js";
import type { EventOfType } from "../../schemas/events.js";
import { forgetEnded } from "./ended.js";
import { KEEP_ENDED_MS } from "./periods.js";
import { accept, iso, ms, reject } from "./rules.js";
import type { Decision, ParkingLotState, RegisteredLot } from "./state.js";
import { summaryOf } from "./summary.js";

/**
 * How a period's books close and the next one opens (docs/domain.md, "Periods"). Pure:
 * both events are derived from the lot's state as the closing period leaves it, so a crash between
 * the two appends is repaired by deriving the opening again from the same closed state (as of
 * when it is derived: what has ended by then more than 25 h ago goes).
 */

/**
 * When the current period's books are due to close, epoch ms: at once from `bound` events (0: no
 * size bound), else at the lot's first local midnight (UTC without a place) after the period
 * opened; never for a lot not registered or whose period's opening time is unknown.
 */
export function booksDueAt(lot: ParkingLotState, events: number, bound: number): number | undefined {
  if (lot.kind !== "registered") return undefined;
  if (bound > 0 && events >= bound) return Number.NEGATIVE_INFINITY;
  if (lot.periodOpenedAt === undefined) return undefined;
  const zone = lot.place?.timeZone ?? "UTC";
  return startOfLocalDay(nextDay(localDay(lot.periodOpenedAt, zone)), zone);
}

/**
 * CloseBooks decided: once due (booksDueAt), the last event of period `period`, whose stream holds
 * `events` events before it; else NotDue.
 */
export function closeBooks(command: CloseBooks, lot: RegisteredLot): Decision {
  const { parkingLotId, period, events, bound, now } = command;
  const due = booksDueAt(lot, events, bound);
  if (due === undefined || due > ms(now))
    return reject({ code: "NotDue", parkingLotId, at: due === undefined ? "never" : iso(due) });
  const live = liveState(lot, ms(now));
  return accept({
    type: "LotBooksClosed",
    data: {
      parkingLotId,
      period,
      nextPeriod: period + 1,
      closedAt: iso(ms(now)),
      summary: {
        events,
        activeReservations: lot.activeReservations,
        carried: live.kind === "registered" ? live.reservations.size : 0,
      },
    },
  });
}

/**
 * The lot's live state as the next period opens with it: everything that can still hold a spot or
 * change (active and open-ended bookings, cars in the lot, terms, closures in force), and the
 * reservations that ended less than KEEP_ENDED_MS before `at`; the other ended ones are forgotten,
 * only counted in `archived` (a command naming one answers as for an unknown reservation).
 */
export function liveState(state: ParkingLotState, at: number): ParkingLotState {
  if (state.kind !== "registered") return state;
  const endedAt = state.endedAt ?? ImmutableMap<string, number>();
  const since = at - KEEP_ENDED_MS;
  const recent = (id: string): boolean => (endedAt.get(id) ?? Number.NEGATIVE_INFINITY) >= since;
  const { state: live } = forgetEnded(state, recent);
  if (live.kind !== "registered") return live;
  return { ...live, endedAt: endedAt.filter((when, id) => when >= since && live.reservations.has(id)) };
}

/** The first event of period `period`, carrying the summary of `live` (liveState's) as of `at`. */
export function openingOf(
  live: ParkingLotState,
  parkingLotId: string,
  period: number,
  at: number,
): EventOfType<"LotPeriodOpened"> {
  if (live.kind !== "registered") throw new Error(`lot ${parkingLotId} is not registered: no period opens`);
  const openedAt = new Date(at).toISOString();
  return { type: "LotPeriodOpened", data: { parkingLotId, period, openedAt, summary: summaryOf(live) } };
}
