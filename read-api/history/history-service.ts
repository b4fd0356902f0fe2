import type { EventStore, RecordedEvent } from "../../event-store/port.js";
import { decodeEvent } from "../../schemas/event-codec.js";
import type { HistoryEntry, HistoryPage } from "../../schemas/history.js";
import { auditEntry, stampMsOfRaw } from "./audit-entry.js";
import { firstRevisionFrom, firstRevisionWhere, lastRevision } from "./stream-search.js";

export const lotStream = (parkingLotId: string): string => `parkingLot-${parkingLotId}`;
export const couponStream = (reservationId: string): string => `coupon-${reservationId}`;

/** The facts after which nothing more happens to a reservation in its lot's stream. */
export const ENDS_A_RESERVATION = new Set([
  "ReservationCanceled",
  "ReservationCheckedOut",
  "ReservationNoShow",
]);

export interface PageRequest {
  /** Only facts strictly after this log position (commit). */
  readonly cursor?: number;
  readonly limit: number;
  /** Aborted when the caller left: the reading stops there. */
  readonly signal?: AbortSignal;
}

/** Where a reservation's facts start: its lot, and the position of its ParkingReserved. */
export interface ReservationLocation {
  readonly parkingLotId: string;
  readonly position: number;
}

const pageOf = (entries: HistoryEntry[], limit: number): HistoryPage => {
  const items = entries.slice(0, limit);
  return { items, nextCursor: entries.length > limit ? (items.at(-1)?.position ?? null) : null };
};

/**
 * The audit trail: a lot's facts, or one reservation's, in log order, derived from the event store
 * alone (each event and its metadata), paged by log position. Nothing is kept beside the log.
 */
export class HistoryService {
  constructor(private readonly events: EventStore) {}

  /** A page of a lot's facts stamped in [from, until), or null when the lot has no stream. */
  async lot(
    parkingLotId: string,
    options: PageRequest & { readonly from?: number; readonly until?: number },
  ): Promise<HistoryPage | null> {
    const stream = lotStream(parkingLotId);
    const last = await lastRevision(this.events, stream);
    if (last === null) return null;
    const { cursor, from, until, limit } = options;
    const start = await firstRevisionWhere(this.events, stream, last, (e) => {
      if (cursor !== undefined && e.position.commit <= cursor) return false;
      return from === undefined || !(stampMsOfRaw(e.type, e.data) < from);
    });
    const entries: HistoryEntry[] = [];
    if (start > last) return { items: [], nextCursor: null };
    for await (const raw of this.events.readStream(stream, { fromRevision: start, maxCount: limit + 1 })) {
      options.signal?.throwIfAborted();
      if (until !== undefined && stampMsOfRaw(raw.type, raw.data) >= until) break;
      entries.push(auditEntry(decodeEvent(raw)));
    }
    return pageOf(entries, limit);
  }

  /**
   * A page of one reservation's facts: those of its lot's stream that name it, from its booking to
   * the fact that ended it, and its coupon's stream. Null when its lot's stream does not hold it.
   * `customerId` is the customer it was booked for, from its ParkingReserved.
   */
  async reservation(
    reservationId: string,
    where: ReservationLocation,
    page: PageRequest,
  ): Promise<{ readonly customerId: string; readonly page: HistoryPage } | null> {
    const stream = lotStream(where.parkingLotId);
    const start = await firstRevisionFrom(this.events, stream, where.position);
    if (start === null) return null;
    const raws: RecordedEvent[] = [];
    for await (const raw of this.events.readStream(stream, { fromRevision: start })) {
      page.signal?.throwIfAborted();
      if ((raw.data as { reservationId?: unknown } | null)?.reservationId !== reservationId) continue;
      raws.push(raw);
      if (ENDS_A_RESERVATION.has(raw.type)) break;
    }
    const booked = raws[0];
    if (booked?.type !== "ParkingReserved") return null;
    for await (const raw of this.events.readStream(couponStream(reservationId))) raws.push(raw);
    raws.sort((a, b) => a.position.commit - b.position.commit || a.position.prepare - b.position.prepare);
    const after = page.cursor;
    const entries = raws
      .filter((raw) => after === undefined || raw.position.commit > after)
      .slice(0, page.limit + 1)
      .map((raw) => auditEntry(decodeEvent(raw)));
    return {
      customerId: (booked.data as { customerId: string }).customerId,
      page: pageOf(entries, page.limit),
    };
  }
}
