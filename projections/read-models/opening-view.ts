import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import type { MutableDocument } from "../../document-store/embedded/update-semantics.js";
import { MemoryDocumentStore } from "../../document-store/memory/memory-document-store.js";
import type { WriteOp } from "../../document-store/port.js";
import type { EventStore } from "../../event-store/port.js";
import { decodeEvent } from "../../schemas/event-codec.js";
import type { EventOfType } from "../../schemas/events.js";
import { readLotEvents } from "../../write-side/lot-streams.js";
import type { ParkingLotState, RegisteredLot } from "../../write-side/parking-lot/decider.js";
import { lotPeriodOfStream, parkingLotStream } from "../../write-side/parking-lot/periods.js";
import { PARKING_LOTS, parkingLotsProjection } from "./parking-lots.js";
import { RESERVATIONS, reservationsProjection } from "./reservations.js";

/**
 * Issue 48: the read side's view of a lot at a period's opening (`LotPeriodViewRecorded`,
 * schemas/lot-period-view-events.ts, on its own stream: lotPeriodViewStream), and the documents a
 * fold starting at the opening writes from it. The documents are the projections' own
 * (parking-lots, reservations): computed by folding them, never restated.
 */

export type OpeningView = Pick<EventOfType<"LotPeriodViewRecorded">["data"], "lot" | "reservations">;

const VIEW_STREAM_PREFIX = "lotPeriodView-";

/**
 * The side stream holding the view of period `period`'s opening (k ≥ 1) of the lot: its category
 * is not `parkingLot-`, so write-side/parking-lot/periods.ts takes it for no lot's stream.
 */
export const lotPeriodViewStream = (parkingLotId: string, period: number): string =>
  `${VIEW_STREAM_PREFIX}${parkingLotId}/${period}`;

/** The view of period `period`'s opening, if recorded (one read of its stream's one event). */
export async function periodViewOf(
  events: EventStore,
  parkingLotId: string,
  period: number,
): Promise<OpeningView | undefined> {
  if (period < 1) return undefined;
  for await (const raw of events.readStream(lotPeriodViewStream(parkingLotId, period), { maxCount: 1 })) {
    if (raw.type !== "LotPeriodViewRecorded") return undefined;
    const { lot, reservations } = raw.data as OpeningView;
    return { lot, reservations };
  }
  return undefined;
}

const PROJECTIONS = [parkingLotsProjection, reservationsProjection];
/** Events folded between two turns of the event loop given to other work. */
const YIELD_EVERY = 200;
const logical = (name: string) => name;

/**
 * The view of the opening of period `closed + 1`: the lot's documents as the parking-lots and
 * reservations projections leave them at the end of period `closed`, folded from the view of
 * period `closed`'s opening (periodViewOf) and the period's events (one read of the period:
 * bounded by it). Period 0, and a period whose view was never recorded, are folded from the lot's
 * first event instead, once. `carried` is the state the new opening holds: the reservations it
 * carries are the ones kept, the closures over by `at` are left out. Undefined for a lot not
 * registered.
 */
export async function openingViewOf(
  events: EventStore,
  parkingLotId: string,
  closed: number,
  carried: ParkingLotState,
  at: number,
): Promise<OpeningView | undefined> {
  if (carried.kind !== "registered") return undefined;
  const store = new MemoryDocumentStore();
  const stream = parkingLotStream(parkingLotId, closed);
  const own = await periodViewOf(events, parkingLotId, closed);
  if (own) store.writeNow(viewDocuments(own, () => ({})));
  // After the opening (neither projection reads it): its state is not decoded, nor unsealed.
  const source = own
    ? events.readStream(stream, { fromRevision: 1 })
    : readLotEvents(events, parkingLotId, 0, Number.MAX_SAFE_INTEGER);
  let folded = 0;
  for await (const raw of source) {
    if ((lotPeriodOfStream(raw.streamId)?.period ?? 0) > closed) break;
    const stored = decodeEvent(raw);
    store.writeNow(PROJECTIONS.flatMap((p) => p.apply(stored, logical)).filter(kept));
    // Other lots' commands and every read go on meanwhile (about 60 µs an event: docs/operations.md).
    if (++folded % YIELD_EVERY === 0) await yieldToEventLoop();
  }
  return viewOf(store, carried, at);
}

/** Only the documents the view holds (not the plate search's). */
const kept = (op: WriteOp) => op.collection === PARKING_LOTS || op.collection === RESERVATIONS;

function viewOf(store: MemoryDocumentStore, lot: RegisteredLot, at: number): OpeningView | undefined {
  const since = new Date(at).toISOString();
  let lotDocument: MutableDocument | undefined;
  const reservations: OpeningView["reservations"] = [];
  for (const [collection, doc] of store.documents()) {
    if (collection === PARKING_LOTS && doc._id === lot.parkingLotId) lotDocument = doc;
    if (collection === RESERVATIONS && lot.reservations.has(doc._id)) {
      const { _id, customerId: _customer, carNumber: _car, ...rest } = doc;
      reservations.push({ ...rest, reservationId: _id });
    }
  }
  if (!lotDocument) return undefined;
  const { _id, closures, closuresBegun, ...rest } = lotDocument as MutableDocument & {
    closures?: { closureId: string; until: string }[];
    closuresBegun?: { closureId: string }[];
  };
  // Closures over by the opening are never shown again (the views leave ended ones out).
  const notOver = (closures ?? []).filter((c) => c.until > since);
  const ids = new Set(notOver.map((c) => c.closureId));
  return {
    lot: {
      ...rest,
      ...(closures ? { closures: notOver } : {}),
      ...(closuresBegun ? { closuresBegun: closuresBegun.filter((c) => ids.has(c.closureId)) } : {}),
    },
    reservations,
  };
}

/**
 * The documents a view holds, for a fold starting at its opening: the lot's, and each reservation's
 * with its customer and plate as `personal` gives them (the opening's record: sealed in the log).
 */
export function viewDocuments(
  view: OpeningView,
  personal: (reservationId: string) => { readonly customerId?: string; readonly carNumber?: string },
  collection: (logical: string) => string = logical,
): WriteOp[] {
  const { parkingLotId } = view.lot as { parkingLotId: string };
  const upsert = (name: string, id: string, doc: Record<string, unknown>): WriteOp => ({
    op: "update",
    collection: collection(name),
    id,
    upsert: true,
    update: { $set: doc },
  });
  return [
    upsert(PARKING_LOTS, parkingLotId, view.lot),
    ...view.reservations.map((r) =>
      upsert(RESERVATIONS, r.reservationId, { ...ownCouponOnly(r), ...personal(r.reservationId) }),
    ),
  ];
}

/**
 * A view recorded before the reservations projection stopped taking the coupon a booking spent for
 * its own (the spent one has no `status`) may hold it where the booking's own coupon belongs: left
 * out, as the projection now leaves it, so that no read from that opening shows it.
 */
function ownCouponOnly(r: OpeningView["reservations"][number]): Record<string, unknown> {
  const { coupon, ...rest } = r as { coupon?: unknown };
  const own = typeof coupon === "object" && coupon !== null && "status" in coupon;
  return own ? r : rest;
}

/** The documents a fold starting at a period's opening writes from its view (time travel's `page`). */
export const lotPageAtOpening =
  (view: OpeningView) =>
  (lot: RegisteredLot, collection: (logical: string) => string): WriteOp[] =>
    viewDocuments(
      view,
      (id) => {
        const record = lot.reservations.get(id);
        return record ? { customerId: record.customerId, carNumber: record.carNumber } : {};
      },
      collection,
    );

/** The lot's document a fold starting at a period's opening writes from its view (time travel's `lot`). */
export const lotAtOpening =
  (view: OpeningView) =>
  (_lot: RegisteredLot, collection: (logical: string) => string): WriteOp[] =>
    viewDocuments({ ...view, reservations: [] }, () => ({}), collection);
