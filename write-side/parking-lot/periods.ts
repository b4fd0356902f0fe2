import type { EventOfType } from "../../schemas/events.js";
import type { ParkingLotState } from "./state.js";
import { lotOfSummary } from "./summary.js";

/**
 * The lot's books close by period (docs/domain.md, "Periods"). Period 0 is the lot's first stream,
 * `parkingLot-{id}`; period k ≥ 1 is `parkingLot-{id}/{k}`: '/' is in no identifier, so no lot's
 * stream can be read as another's, and the category stays `parkingLot-`. These two functions are
 * the one mapping between a lot and period and its stream id.
 */

export const LOT_STREAM_PREFIX = "parkingLot-";

/** The stream of period `period` of the lot (period 0: the lot's first stream). */
export const parkingLotStream = (parkingLotId: string, period = 0): string =>
  period === 0 ? `${LOT_STREAM_PREFIX}${parkingLotId}` : `${LOT_STREAM_PREFIX}${parkingLotId}/${period}`;

/** The lot and period whose stream this is, or undefined for any other stream. */
export function lotPeriodOfStream(
  streamId: string,
): { readonly parkingLotId: string; readonly period: number } | undefined {
  if (!streamId.startsWith(LOT_STREAM_PREFIX)) return undefined;
  const rest = streamId.slice(LOT_STREAM_PREFIX.length);
  const slash = rest.indexOf("/");
  if (slash < 0) return rest.length > 0 ? { parkingLotId: rest, period: 0 } : undefined;
  const digits = rest.slice(slash + 1);
  const period = Number(digits);
  if (slash === 0 || !/^[1-9][0-9]*$/.test(digits) || !Number.isSafeInteger(period)) return undefined;
  return { parkingLotId: rest.slice(0, slash), period };
}

/** The lot whose stream (of any period) this is, or undefined for any other stream. */
export const parkingLotOfStream = (streamId: string): string | undefined =>
  lotPeriodOfStream(streamId)?.parkingLotId;

/**
 * The one cut-off rule: a period's opening carries, besides what is live, the reservations that
 * ended less than this long before it opened, so that a retried booking (Idempotency-Key) or a
 * cancel of one that ended still answers alike (the HTTP idempotency records last 24 h).
 */
export const KEEP_ENDED_MS = 25 * 60 * 60 * 1000;

/**
 * Default bound on a period's events: once an append leaves the period's stream at or over it,
 * the books close. A bound on size bounds every fold's cost (BENCHMARKS.md, "lot-period-cold-load").
 */
export const DEFAULT_PERIOD_EVENTS = 1000;

/** The state a period's opening holds: what evolve replaces the lot's state with. */
export function openedState(data: EventOfType<"LotPeriodOpened">["data"]): ParkingLotState {
  return { ...lotOfSummary(data.parkingLotId, data.summary), periodOpenedAt: Date.parse(data.openedAt) };
}
