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

/** The audit trail: a lot's facts, or one reservation's, in log order, from the event store alone. */
export class HistoryService {
  constructor(
    private readonly events: EventStore,
    private readonly index: ReservationEventsIndex,
  ) {}

  /** A page of a lot's facts stamped in [from, until), its periods' streams in turn; null when it has none. */
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
   * A page of one reservation's facts, located by the reservation-events index (not a scan of the
   * lot's stream), with the customer it was booked for; null when the log holds no booking of it.
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
