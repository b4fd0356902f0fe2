import type { StoredDomainEvent } from "../../schemas/event-codec.js";
import type { EventOfType } from "../../schemas/events.js";
import { ERASED } from "../../schemas/personal-data.js";
import { type ParkingLotEvent, parkingLotOfStream } from "../../write-side/parking-lot/decider.js";
import { lotOrdinal } from "../../write-side/parking-lot/periods.js";
import type { PaymentEvent } from "../../write-side/payment/payment-facts.js";
import { type OpeningHead, type OpeningRecord, openingParts } from "./lot-opening.js";
import { type CollectionOf, defineProjection, type Projection, updateOne, upsertOne } from "./projection.js";

export const LOT_FACTS = "lot_facts";

/** One fact of a lot's stream as the lot's decider folds it, with its revision in the stream. */
export interface LotFact {
  readonly revision: number;
  readonly event: ParkingLotEvent;
}

/**
 * The facts the read side folds into a lot's decider state (write-side/parking-lot/evolve.ts), so
 * that every view counts with the decider's own state and functions instead of restating its
 * rules (read-api/views/lot-states.ts): the view of the lot's current period (issue 48). One
 * document per reservation (its facts in order), per closure, and per lot (its registration, or
 * its period's opening, and its latest capacity and terms: all that folding the earlier changes
 * leaves); each with `at`, the lot-wide order (lotOrdinal) of its newest fact. At a period's
 * opening (`LotPeriodOpened`) the lot's documents become the opening (lot-opening.ts): the lot's
 * document its head, one document per reservation record it carries, one per closure in force,
 * each replaced, so that no fact of an earlier period is left in them. A lot's state is the
 * opening folded with the facts since (one index range: `at` from the opening on), kept current by
 * folding those with a newer `at`. Period 0 (no opening yet) is read the same way from the
 * stream's start: every period is bounded (LOT_PERIOD_EVENTS), period 0 too. The documents an opening does not carry (reservations ended more than 25 h before it, closures
 * over) are deleted with it, by the range of `at` before it: a lot's documents are its current
 * period's, nothing more.
 */
const lotFacts = defineProjection({
  name: "lot-facts",
  // 2: issue 48, the periods' openings (LotPeriodOpened) replace the lot's documents.
  // 3: no `reach` (period 0 is bounded like any period): its index goes with the old collections.
  // 4: issue 66, each lot's change mark (changedId), by the log's position.
  // 5: issue 68, an opening's records are its summary's bookings (schemas/lot-summary.ts).
  version: 5,
  collections: {
    [LOT_FACTS]: [
      { name: "by_lot_at", keys: { parkingLotId: 1, at: 1 } },
      // The lots whose facts changed since a position: one range, however many lots there are.
      { name: "by_changed", keys: { changed: 1 } },
      // The closures not begun yet, by their `from` (`due`, unset once begun): those due by now are
      // the ones whose beginning the clock has brought and the scheduler has yet to record.
      { name: "by_due", keys: { due: 1 } },
    ],
  },
  on: {
    ParkingLotRegistered: (stored, collection) =>
      upsertOne(collection, LOT_FACTS, lotDoc(stored.event.data.parkingLotId), {
        $set: {
          parkingLotId: stored.event.data.parkingLotId,
          registered: lotFactOf(stored),
        },
        $max: { at: lotOrdinal(stored) },
      }),
    ParkingLotCapacityChanged: (stored, collection) =>
      updateOne(collection, LOT_FACTS, lotDoc(stored.event.data.parkingLotId), {
        $set: { capacity: lotFactOf(stored) },
        $max: { at: lotOrdinal(stored) },
      }),
    // The lot's terms: each new one replaces the last (evolve sets them), so the newest is kept.
    ParkingLotRateChanged: (stored, collection) =>
      updateOne(collection, LOT_FACTS, lotDoc(stored.event.data.parkingLotId), {
        $set: { rate: lotFactOf(stored) },
        $max: { at: lotOrdinal(stored) },
      }),
    ParkingLotCustomerLimitChanged: (stored, collection) =>
      updateOne(collection, LOT_FACTS, lotDoc(stored.event.data.parkingLotId), {
        $set: { customerLimit: lotFactOf(stored) },
        $max: { at: lotOrdinal(stored) },
      }),
    ParkingReserved: (stored, collection) =>
      upsertOne(collection, LOT_FACTS, reservationDoc(stored.event.data), {
        $set: { parkingLotId: stored.event.data.parkingLotId },
        $push: { facts: lotFactOf(stored) },
        $max: { at: lotOrdinal(stored) },
      }),
    ReservationCheckedIn: (stored, collection) => added(stored, collection),
    ReservationCanceled: (stored, collection) => added(stored, collection),
    ReservationCheckedOut: (stored, collection) => added(stored, collection),
    ReservationNoShow: (stored, collection) => added(stored, collection),
    // Issue 48: the lot's outcome of a booking's payment (its authorization makes it RESERVED).
    ReservationConfirmed: (stored, collection) => added(stored, collection),
    // Issue 38: the payment facts a lot's stream held before issue 48, which the decider folds too
    // (an old authorization makes a pending booking RESERVED). Those on a payment's own stream are
    // not the lot's: its fold never sees them, so neither does this copy of it.
    PaymentAuthorized: (stored, collection) => addedFromLot(stored, collection),
    PaymentFailed: (stored, collection) => addedFromLot(stored, collection),
    PaymentSettlementDecided: (stored, collection) => addedFromLot(stored, collection),
    PaymentCaptured: (stored, collection) => addedFromLot(stored, collection),
    PaymentReleased: (stored, collection) => addedFromLot(stored, collection),
    PaymentRefunded: (stored, collection) => addedFromLot(stored, collection),
    OverstayCharged: (stored, collection) => addedFromLot(stored, collection),
    PaymentStepFailed: (stored, collection) => addedFromLot(stored, collection),
    LotPeriodOpened: (stored, collection) => opened(stored, collection),
    ParkingLotClosed: (stored, collection) => {
      const { parkingLotId, closureId, from } = stored.event.data;
      return upsertOne(collection, LOT_FACTS, closureDoc(parkingLotId, closureId), {
        $set: { parkingLotId, due: from },
        $push: { facts: lotFactOf(stored) },
        $max: { at: lotOrdinal(stored) },
      });
    },
    ParkingLotClosureBegan: (stored, collection) => {
      const { parkingLotId, closureId } = stored.event.data;
      return updateOne(collection, LOT_FACTS, closureDoc(parkingLotId, closureId), {
        $unset: { due: "" },
        $push: { facts: lotFactOf(stored) },
        $max: { at: lotOrdinal(stored) },
      });
    },
    // Issue 36: the facts are the log's, as the log now reads them: the customer's id in each and
    // the plate in the booking (always the first fact) read `erased`, as the decider folds them.
    // A reservation carried by the period's opening has its record as its first fact instead
    // (`OPENED`, with the customer's id and plate): the same two updates erase them.
    // The fact lists no pairs, so each listed lot is tried with each listed reservation.
    CustomerErased: ({ event }, collection) =>
      event.data.parkingLotIds.flatMap((parkingLotId) =>
        event.data.reservationIds.flatMap((reservationId) => {
          const id = reservationDoc({ parkingLotId, reservationId });
          // Two updates: one update may not set both a path of every fact and one of the first.
          return [
            ...updateOne(collection, LOT_FACTS, id, { $set: { "facts.$[].event.data.customerId": ERASED } }),
            ...updateOne(collection, LOT_FACTS, id, { $set: { "facts.0.event.data.carNumber": ERASED } }),
          ];
        }),
      ),
  },
});

/**
 * Issue 66: each lot's change mark, `changed:{parkingLotId}`, the log's position (commit) of the
 * newest fact written for the lot, so that whoever keeps figures of every lot (the control
 * center's totals: read-api/views/every-lot-figures.ts) reads again only the lots changed since
 * it last read, one index range (by_changed). It holds no `parkingLotId`: never one of the lot's
 * documents its state is folded from. An erasure changes no figure and marks nothing.
 */
export const changedId = (parkingLotId: string): string => `changed:${parkingLotId}`;

export const lotFactsProjection: Projection = {
  ...lotFacts,
  apply(stored, collection) {
    const writes = lotFacts.apply(stored, collection);
    const lot = (stored.event.data as { parkingLotId?: unknown }).parkingLotId;
    if (writes.length === 0 || typeof lot !== "string") return writes;
    return [
      ...writes,
      ...upsertOne(collection, LOT_FACTS, changedId(lot), {
        $set: { lot },
        $max: { changed: stored.position.commit },
      }),
    ];
  },
};

/** The lot's document: its registration or period's opening, latest capacity and terms. */
export const lotDoc = (parkingLotId: string) => `lot:${parkingLotId}`;
const reservationDoc = (data: { parkingLotId: string; reservationId: string }) =>
  `r:${data.parkingLotId}:${data.reservationId}`;
const closureDoc = (parkingLotId: string, closureId: string) => `c:${parkingLotId}:${closureId}`;
/** A fact as this projection keeps it (and as the read side folds it into the lot's decider state). */
export const lotFactOf = (stored: StoredDomainEvent): LotFact => ({
  revision: lotOrdinal(stored),
  event: { type: stored.event.type, data: withoutMethod(stored.event.data) } as ParkingLotEvent,
});
/** A booking's saved payment method is personal and no decision reads it: the facts leave it out. */
function withoutMethod<D>(data: D): D {
  const payment = (data as { payment?: { method?: string } }).payment;
  if (payment?.method === undefined) return data;
  const { method: _method, ...rest } = payment;
  return { ...data, payment: rest };
}

type ReservationStep =
  | EventOfType<"ReservationCheckedIn">
  | EventOfType<"ReservationCanceled">
  | EventOfType<"ReservationCheckedOut">
  | EventOfType<"ReservationNoShow">
  | EventOfType<"ReservationConfirmed">
  | PaymentEvent;

/** A payment fact, copied only from the lot's own stream (written there before issue 48). */
const addedFromLot = (stored: StoredDomainEvent<ReservationStep>, collection: (logical: string) => string) =>
  parkingLotOfStream(stored.streamId) === undefined ? [] : added(stored, collection);

/** A later fact of a reservation. */
function added(stored: StoredDomainEvent<ReservationStep>, collection: (logical: string) => string) {
  return updateOne(collection, LOT_FACTS, reservationDoc(stored.event.data), {
    $push: { facts: lotFactOf(stored) },
    $max: { at: lotOrdinal(stored) },
  });
}

/**
 * The type of the first fact of a reservation carried by its lot's period opening: its record as
 * the opening holds it (an OpeningRecord, with the opening's `at`). No event of the log has it; a
 * fold reads it back into the opening (lot-opening.ts, `openingOf`), never as a fact on its own.
 */
export const OPENED = "LotPeriodOpened";

/** What the lot's document keeps of its period's opening. */
export interface StoredOpening extends OpeningHead {
  /** The opening's `at` (lotOrdinal). */
  readonly revision: number;
}

/**
 * The lot's documents become the period's opening: those of earlier periods are deleted; the
 * lot's holds the head (`opened`), each record carried its own document (its first fact,
 * OPENED), each closure in force its own (`due` while not begun).
 */
function opened(stored: StoredDomainEvent<EventOfType<"LotPeriodOpened">>, collection: CollectionOf) {
  const { parkingLotId } = stored.event.data;
  const at = lotOrdinal(stored);
  const { head, records } = openingParts(stored.event.data);
  const into = collection(LOT_FACTS);
  const lot: StoredOpening = { ...head, revision: at };
  const closures = head.head.closures;
  return [
    // The lot's documents of its earlier periods (one index range, by_lot_at): those the opening
    // carries are written again below, the rest (reservations ended 25 h before, closures over) go.
    { op: "deleteMany" as const, collection: into, filter: { parkingLotId, at: { $lt: at } } },
    {
      op: "replace" as const,
      collection: into,
      id: lotDoc(parkingLotId),
      document: { parkingLotId, at, opened: lot },
    },
    ...records.map((record: OpeningRecord) => ({
      op: "replace" as const,
      collection: into,
      id: reservationDoc({ parkingLotId, reservationId: record.reservationId }),
      document: { parkingLotId, at, facts: [{ revision: at, event: { type: OPENED, data: record } }] },
    })),
    ...closures.map(({ closureId, from, began }) => ({
      op: "replace" as const,
      collection: into,
      id: closureDoc(parkingLotId, closureId),
      document: { parkingLotId, at, facts: [], ...(began ? {} : { due: new Date(from).toISOString() }) },
    })),
  ];
}
