import type { EventOfType } from "../../schemas/events.js";
import type { BookingSummary, LotSummary } from "../../schemas/lot-summary.js";

/**
 * Issue 48: a period's opening (`LotPeriodOpened`, its domain summary: schemas/lot-summary.ts) as
 * the lot-facts projection keeps it, and back. One document per booking the summary carries (all
 * of them in one document would come near MongoDB's 16 MB limit with their plates; one alone never
 * does), each holding its customer's id and plate where an erasure rewrites them (lot-facts.ts,
 * `CustomerErased`), and the lot's document holding the rest of the summary, no personal value.
 */

/** One booking of an opening's summary. */
export type OpeningRecord = BookingSummary;

/** What of an opening the lot's document keeps: all but its bookings. */
export interface OpeningHead {
  readonly period: number;
  readonly openedAt: string;
  readonly head: Omit<LotSummary, "bookings">;
}

/** The opening's summary without its bookings, and each of its bookings. */
export function openingParts(data: EventOfType<"LotPeriodOpened">["data"]): {
  readonly head: OpeningHead;
  readonly records: OpeningRecord[];
} {
  const { bookings, ...head } = data.summary;
  return { head: { period: data.period, openedAt: data.openedAt, head }, records: [...bookings] };
}

/** The opening these parts were taken from (its bookings ascending by id, as the summary lists them). */
export function openingOf(
  parkingLotId: string,
  head: OpeningHead,
  records: readonly OpeningRecord[],
): EventOfType<"LotPeriodOpened"> {
  const bookings = [...records].sort((a, b) => compare(a.reservationId, b.reservationId));
  const { period, openedAt } = head;
  return {
    type: "LotPeriodOpened",
    data: { parkingLotId, period, openedAt, summary: { ...head.head, bookings } },
  };
}

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
