import type { StoredDomainEvent } from "../../schemas/event-codec.js";
import type { EventOfType } from "../../schemas/events.js";
import { ERASED } from "../../schemas/personal-data.js";
import { type ParkingLotEvent, parkingLotOfStream } from "../../write-side/parking-lot/decider.js";
import type { PaymentEvent } from "../../write-side/parking-lot/payment-state.js";
import { lotOrdinal } from "../../write-side/parking-lot/periods.js";
import { defineProjection, updateOne, upsertOne } from "./projection.js";

export const LOT_FACTS = "lot_facts";

/**
 * How long after a reservation ended (or its window did) and after a closure ended their facts are
 * still folded into a lot's state on the read side. What holds a spot from a day before now on
 * (the most a view looks back) is exactly what the decider counts: a window ended longer ago than
 * this holds nothing then (the decider prunes it too), and no later fact changes an ended one.
 */
export const FACTS_REACH_MS = 2 * 24 * 3_600_000;

/** `reach` of what may hold a spot until an event ends it (ISO strings sort by time). */
export const REACHES_FOR_EVER = "9999-12-31T23:59:59.999Z";

/** One fact of a lot's stream as the lot's decider folds it, with its revision in the stream. */
export interface LotFact {
  readonly revision: number;
  readonly event: ParkingLotEvent;
}

/**
 * The facts the read side folds into a lot's decider state (write-side/parking-lot/evolve.ts), so
 * that every view counts with the decider's own state and functions instead of restating its
 * rules (read-api/views/lot-states.ts). One document per reservation (its facts in order), per
 * closure, and per lot (its registration and its latest capacity: capacity is all that folding the
 * earlier changes leaves); each with `reach`, the instant after which it can no longer change
 * what the lot holds from a day before then on (FACTS_REACH_MS after it ended), and `at`, the
 * revision of its newest fact. A lot's state is the fold of the facts of its documents still
 * within reach (one index range: the lot's present, never its history), kept current by folding
 * those with a newer revision (one index range per new position).
 */
export const lotFactsProjection = defineProjection({
  name: "lot-facts",
  version: 1,
  collections: {
    [LOT_FACTS]: [
      { name: "by_lot_reach", keys: { parkingLotId: 1, reach: 1 } },
      { name: "by_lot_at", keys: { parkingLotId: 1, at: 1 } },
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
          reach: REACHES_FOR_EVER,
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
        $set: { parkingLotId: stored.event.data.parkingLotId, reach: REACHES_FOR_EVER },
        $push: { facts: lotFactOf(stored) },
        $max: { at: lotOrdinal(stored) },
      }),
    ReservationCheckedIn: (stored, collection) => added(stored, collection),
    ReservationCanceled: (stored, collection) => added(stored, collection, stored.event.data.canceledAt),
    ReservationCheckedOut: (stored, collection) => added(stored, collection, stored.event.data.checkedOutAt),
    ReservationNoShow: (stored, collection) => added(stored, collection, stored.event.data.recordedAt),
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
    ParkingLotClosed: (stored, collection) => {
      const { parkingLotId, closureId, from, until } = stored.event.data;
      return upsertOne(collection, LOT_FACTS, closureDoc(parkingLotId, closureId), {
        $set: { parkingLotId, reach: reachAfter(until), due: from },
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

const lotDoc = (parkingLotId: string) => `lot:${parkingLotId}`;
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
const reachAfter = (first: string | undefined, ...more: (string | undefined)[]): string =>
  new Date(
    Math.max(...[first, ...more].map((i) => (i === undefined ? 0 : Date.parse(i)))) + FACTS_REACH_MS,
  ).toISOString();

type ReservationStep =
  | EventOfType<"ReservationCheckedIn">
  | EventOfType<"ReservationCanceled">
  | EventOfType<"ReservationCheckedOut">
  | EventOfType<"ReservationNoShow">
  | EventOfType<"ReservationConfirmed">
  | PaymentEvent;

/** A later fact of a reservation; one that ends it (`endedAt`) brings its reach in. */
/** A payment fact, copied only from the lot's own stream (written there before issue 48). */
const addedFromLot = (stored: StoredDomainEvent<ReservationStep>, collection: (logical: string) => string) =>
  parkingLotOfStream(stored.streamId) === undefined ? [] : added(stored, collection);

function added(
  stored: StoredDomainEvent<ReservationStep>,
  collection: (logical: string) => string,
  endedAt?: string,
) {
  const data = stored.event.data;
  const endsAt = "endsAt" in data ? data.endsAt : undefined;
  return updateOne(collection, LOT_FACTS, reservationDoc(data), {
    ...(endedAt === undefined ? {} : { $set: { reach: reachAfter(endedAt, endsAt) } }),
    $push: { facts: lotFactOf(stored) },
    $max: { at: lotOrdinal(stored) },
  });
}
