import type { EventStore, RecordedEvent } from "../../event-store/port.js";
import { comparePositions, logOrderOf, type Position } from "../../event-store/position.js";
import { ProblemError } from "../../platform/http/problem.js";
import {
  RESERVATION_EVENTS,
  type ReservationEventEntry,
} from "../../projections/read-models/reservation-events.js";
import { decodeEvent } from "../../schemas/event-codec.js";
import type { HistoryEntry } from "../../schemas/history.js";
import { isUpgradeFact } from "../../schemas/payment-upgrade-events.js";
import { couponStream } from "../../write-side/coupon/coupon.js";
import { lotStreamsSince } from "../../write-side/lot-streams.js";
import { paymentStream } from "../../write-side/payment/payment.js";
import { PositionNotReachedError, type ReadContext, TooManyWaitingError } from "../views/read-context.js";
import { auditEntry } from "./audit-entry.js";
import { eventAt, firstRevisionWhere, lastEvent } from "./stream-search.js";

/** The facts after which its lot's stream names a reservation no more. */
const ENDS_A_RESERVATION: ReadonlySet<string> = new Set([
  "ReservationCanceled",
  "ReservationCheckedOut",
  "ReservationNoShow",
]);

/**
 * Most events of a lot's stream read past the index's position (its projector's lag) to find the
 * reservation's events not indexed yet; further behind, the read waits for the index instead.
 */
export const UNINDEXED_READ_LIMIT = 1_000;

/** What the history reads the reservation-events index through (and waits, bounded, for its position). */
export type ReservationEventsIndex = ReadContext;

/** Where a reservation's facts start: its lot, and the position of its ParkingReserved. */
export interface ReservationLocation {
  readonly parkingLotId: string;
  readonly position: number;
}

/** What locating one reservation's events reads, and for which reservation. */
interface Lookup {
  readonly events: EventStore;
  readonly index: ReservationEventsIndex;
  readonly reservationId: string;
  readonly where: ReservationLocation;
  readonly signal?: AbortSignal | undefined;
}

/** One of the reservation's events: where it is, and the event itself once read. */
interface Located {
  readonly stream: string;
  readonly revision: number;
  readonly position: Position;
  readonly type: string;
  readonly raw?: RecordedEvent;
}

const fromEntry = (e: ReservationEventEntry): Located => ({
  stream: e.stream,
  revision: e.revision,
  position: { commit: e.commit, prepare: e.prepare },
  type: e.type,
});
const fromRaw = (raw: RecordedEvent): Located => ({
  stream: raw.streamId,
  revision: raw.revision,
  position: raw.position,
  type: raw.type,
  raw,
});
const namesIt = (raw: RecordedEvent, reservationId: string) =>
  (raw.data as { reservationId?: unknown } | null)?.reservationId === reservationId;

/** The revision after the last indexed event of `stream` (0 when none is indexed). */
const nextRevision = (entries: readonly ReservationEventEntry[], stream: string): number =>
  entries.reduce((next, e) => (e.stream === stream ? Math.max(next, e.revision + 1) : next), 0);

/**
 * One reservation's events, in log order, in bounded work: those the index holds, then those past
 * its position read from the log (found by a binary search): the projector's lag, at most
 * UNINDEXED_READ_LIMIT events, or `behind` (the position to wait for).
 */
async function locate(lookup: Lookup): Promise<Located[] | { readonly behind: Position }> {
  const { events, index, reservationId, where, signal } = lookup;
  // The index's entries of it, one range, past the index's applied position left out (read first).
  const { collection, position: applied } = await index.applied(RESERVATION_EVENTS);
  const entries = applied
    ? (
        await index.store.find<ReservationEventEntry>(
          collection,
          { reservationId },
          { sort: { reservationId: 1, commit: 1, prepare: 1 } },
        )
      ).filter((e) => comparePositions(e, applied) <= 0)
    : [];
  const unindexed = (p: Position) => applied === null || comparePositions(p, applied) > 0;
  const found = entries.map(fromEntry);
  // The lot's facts past the index, in the periods since its booking: a period the index holds
  // whole costs the read of its last event.
  const lots = entries.some((e) => ENDS_A_RESERVATION.has(e.type))
    ? []
    : await lotStreamsSince(events, where.parkingLotId, where.position);
  let budget = UNINDEXED_READ_LIMIT;
  periods: for (const lot of lots) {
    const last = await lastEvent(events, lot);
    if (!last || !unindexed(last.position)) continue;
    const start = await firstRevisionWhere(
      events,
      lot,
      last.revision,
      (e) => unindexed(e.position) && e.position.commit >= where.position,
      nextRevision(entries, lot),
    );
    const count = last.revision - start + 1;
    budget -= count;
    if (budget < 0) return { behind: last.position };
    if (count === 0) continue;
    for await (const raw of events.readStream(lot, { fromRevision: start, maxCount: count })) {
      signal?.throwIfAborted();
      if (!namesIt(raw, reservationId)) continue;
      found.push(fromRaw(raw));
      if (ENDS_A_RESERVATION.has(raw.type)) break periods;
    }
  }
  // The reservation's own streams (its coupon's, its payment's): a handful of events each.
  for (const stream of [couponStream(reservationId), paymentStream(reservationId)]) {
    for await (const raw of events.readStream(stream, { fromRevision: nextRevision(entries, stream) })) {
      signal?.throwIfAborted();
      if (unindexed(raw.position) && !isUpgradeFact(raw.type)) found.push(fromRaw(raw));
    }
  }
  return found.sort((a, b) => comparePositions(a.position, b.position));
}

/** locate, waiting for the index (bounded) when it is too far behind. */
async function locateAll(lookup: Lookup): Promise<Located[]> {
  let found = await locate(lookup);
  if (!Array.isArray(found)) {
    await lookup.index.awaitPosition(RESERVATION_EVENTS, found.behind);
    found = await locate(lookup);
    if (!Array.isArray(found)) throw new PositionNotReachedError(found.behind, "reservation-events", null);
  }
  return found;
}

/**
 * Every event of one reservation, in log order, as the index locates them: what time travel folds
 * for a reservation as of a moment. Its work is its handful of events and the index's lag.
 */
export async function reservationFacts(
  events: EventStore,
  index: ReservationEventsIndex,
  reservationId: string,
  where: ReservationLocation,
): Promise<RecordedEvent[]> {
  const raws: RecordedEvent[] = [];
  for (const located of await locateAll({ events, index, reservationId, where }))
    raws.push(await read(events, located));
  return raws;
}

/**
 * Answers the index being far behind the log, after the wait, as the service being behind: 503
 * overloaded with Retry-After (what an expensive read answers past its gate too).
 */
export async function indexCaughtUp<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    if (error instanceof PositionNotReachedError || error instanceof TooManyWaitingError) {
      throw new ProblemError("overloaded", "The reservation's events are being indexed; retry shortly.", {
        retryAfterSeconds: 1,
      });
    }
    throw error;
  }
}

/** The event an index entry points at (one single-event read), checked against the entry. */
async function read(events: EventStore, located: Located): Promise<RecordedEvent> {
  if (located.raw) return located.raw;
  const raw = await eventAt(events, located.stream, located.revision);
  if (raw.position.commit !== located.position.commit || raw.type !== located.type) {
    throw new Error(`the reservation-events index does not match ${located.stream}@${located.revision}`);
  }
  return raw;
}

/** A fact of a page and its place in log order (logOrderOf), which the next page's cursor is. */
export interface PagedEntry {
  readonly entry: HistoryEntry;
  readonly order: number;
}

/**
 * A page of one reservation's facts and the customer it was booked for; null when the log holds no
 * booking of it. When the index is too far behind, waits for it (bounded).
 */
export async function reservationHistory(
  events: EventStore,
  index: ReservationEventsIndex,
  reservationId: string,
  where: ReservationLocation,
  page: { readonly cursor?: number; readonly limit: number; readonly signal?: AbortSignal },
): Promise<{ readonly customerId: string; readonly entries: PagedEntry[] } | null> {
  const found = await locateAll({ events, index, reservationId, where, signal: page.signal });
  // Its booking: the first of its facts, but for a drive-up, admitted just before.
  const booked = found.find((l) => l.type === "ParkingReserved");
  if (!booked) return null;
  const after = page.cursor;
  const chosen = found
    .filter((l) => after === undefined || logOrderOf(l.position) > after)
    .slice(0, page.limit + 1);
  const raws: RecordedEvent[] = [];
  for (const located of chosen) {
    page.signal?.throwIfAborted();
    raws.push(await read(events, located));
  }
  const bookedRaw = raws[chosen.indexOf(booked)] ?? (await read(events, booked));
  return {
    // Decoded: the log holds the customer sealed (schemas/personal-data.ts), `erased` once erased.
    customerId: (decodeEvent(bookedRaw).event.data as { customerId: string }).customerId,
    entries: raws.map((raw) => ({ entry: auditEntry(decodeEvent(raw)), order: logOrderOf(raw.position) })),
  };
}
