import type { EventStore } from "../../event-store/port.js";
import { logOrderOf } from "../../event-store/position.js";
import { decodeEvent } from "../../schemas/event-codec.js";
import { stampMsOfRaw } from "../../schemas/event-stamps.js";
import type { HistoryPage } from "../../schemas/history.js";
import { lotStreamsSince } from "../../write-side/lot-streams.js";
import { auditEntry } from "./audit-entry.js";
import {
  type PagedEntry,
  type ReservationEventsIndex,
  type ReservationLocation,
  reservationHistory,
} from "./reservation-history.js";
import { firstRevisionWhere, lastEvent } from "./stream-search.js";

export interface PageRequest {
  /**
   * Only facts strictly after this place in log order (logOrderOf: on EventStoreDB the events of
   * one append share their commit position, so a commit would skip the rest of a batch).
   */
  readonly cursor?: number;
  readonly limit: number;
  /** Aborted when the caller left: the reading stops there. */
  readonly signal?: AbortSignal;
}

const pageOf = (entries: readonly PagedEntry[], limit: number): HistoryPage => {
  const items = entries.slice(0, limit);
  const last = items.at(-1);
  return {
    items: items.map((i) => i.entry),
    nextCursor: entries.length > limit && last ? String(last.order) : null,
  };
};

/**
 * The audit trail: a lot's facts, or one reservation's, in log order, derived from the event store
 * alone (each event and its metadata), paged by log position; a reservation's events are found
 * through the reservation-events index (where each is in the log), the events read from the log.
 */
export class HistoryService {
  constructor(
    private readonly events: EventStore,
    private readonly index: ReservationEventsIndex,
  ) {}

  /**
   * A page of a lot's facts stamped in [from, until), or null when the lot has no stream: read from
   * each of its periods' streams in turn (issue 48), from the one holding the cursor on.
   */
  async lot(
    parkingLotId: string,
    options: PageRequest & { readonly from?: number; readonly until?: number },
  ): Promise<HistoryPage | null> {
    const { cursor, from, until, limit } = options;
    const streams = await lotStreamsSince(this.events, parkingLotId, cursor ?? Number.NEGATIVE_INFINITY);
    const entries: PagedEntry[] = [];
    let exists = false;
    for (const stream of streams) {
      const last = (await lastEvent(this.events, stream))?.revision;
      if (last === undefined) continue;
      exists = true;
      const start = await firstRevisionWhere(this.events, stream, last, (e) => {
        if (cursor !== undefined && logOrderOf(e.position) <= cursor) return false;
        return from === undefined || !(stampMsOfRaw(e.type, e.data) < from);
      });
      if (start > last) continue;
      const maxCount = limit + 1 - entries.length;
      for await (const raw of this.events.readStream(stream, { fromRevision: start, maxCount })) {
        options.signal?.throwIfAborted();
        if (until !== undefined && stampMsOfRaw(raw.type, raw.data) >= until) return pageOf(entries, limit);
        entries.push({ entry: auditEntry(decodeEvent(raw)), order: logOrderOf(raw.position) });
      }
      if (entries.length > limit) break;
    }
    return exists ? pageOf(entries, limit) : null;
  }

  /**
   * A page of one reservation's facts: those of its lot's stream that name it, from its booking to
   * the fact that ended it, and its coupon's stream, located by the reservation-events index (not a
   * scan of the lot's stream: see reservation-history.ts). Null when the log holds no booking of it.
   * `customerId` is the customer it was booked for, from its ParkingReserved.
   */
  async reservation(
    reservationId: string,
    where: ReservationLocation,
    page: PageRequest,
  ): Promise<{ readonly customerId: string; readonly page: HistoryPage } | null> {
    const found = await reservationHistory(this.events, this.index, reservationId, where, page);
    return found && { customerId: found.customerId, page: pageOf(found.entries, page.limit) };
  }
}
