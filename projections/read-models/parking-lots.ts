import type { WriteOp } from "../../document-store/port.js";
import type { Location } from "../../schemas/place.js";
import { DEFAULT_MAX_ACTIVE_PER_CUSTOMER, type RegisteredLot } from "../../write-side/parking-lot/decider.js";
import { type CollectionOf, defineProjection, updateOne, upsertOne } from "./projection.js";

export const PARKING_LOTS = "parking_lots";

/** The field of a lot's location as a GeoJSON point, which the geo index holds. */
export const LOT_POINT = "point";

/** A lot's location as its view shows it, and as the geo index holds it ([longitude, latitude]). */
const placed = (location: Location) => ({
  location,
  [LOT_POINT]: { type: "Point", coordinates: [location.longitude, location.latitude] },
});

/** A term of the lot changed: set to what the event says, as of when it changed. */
const termChanged = (
  collection: CollectionOf,
  { parkingLotId, changedAt }: { readonly parkingLotId: string; readonly changedAt: string },
  term: Record<string, unknown>,
): WriteOp[] =>
  updateOne(collection, PARKING_LOTS, parkingLotId, { $set: { ...term, updatedAt: changedAt } });

/**
 * Each lot with its capacity and reservation counts. What is free *now* the query side computes
 * from `openEndedHeld` (only events start and end those) and the windows holding a spot then.
 */
export const parkingLotsProjection = defineProjection({
  name: "parking-lots",
  version: 4,
  collections: {
    [PARKING_LOTS]: [
      { name: "by_lot_id", keys: { parkingLotId: 1 } },
      { name: "by_point", geo: LOT_POINT },
    ],
  },
  on: {
    ParkingLotRegistered: ({ event }, collection) => {
      const { parkingLotId, name, capacity, registeredAt, hourlyRate, maxActivePerCustomer } = event.data;
      const { location, address, timeZone } = event.data;
      return upsertOne(collection, PARKING_LOTS, parkingLotId, {
        $set: {
          parkingLotId,
          name,
          capacity,
          registeredAt,
          updatedAt: registeredAt,
          ...(hourlyRate === undefined ? {} : { hourlyRate }),
          maxActivePerCustomer: maxActivePerCustomer ?? DEFAULT_MAX_ACTIVE_PER_CUSTOMER,
          ...(location === undefined ? {} : placed(location)),
          ...(address === undefined ? {} : { address }),
          ...(timeZone === undefined ? {} : { timeZone }),
        },
        $setOnInsert: { openEndedHeld: 0, totalReservations: 0, canceledReservations: 0 },
      });
    },
    ParkingReserved: ({ event }, collection) =>
      updateOne(collection, PARKING_LOTS, event.data.parkingLotId, {
        $inc: { totalReservations: 1, openEndedHeld: event.data.startsAt ? 0 : 1 },
        $set: { updatedAt: event.data.reservedAt },
      }),
    ReservationCanceled: ({ event }, collection) =>
      updateOne(collection, PARKING_LOTS, event.data.parkingLotId, {
        $inc: { canceledReservations: 1, openEndedHeld: event.data.startsAt ? 0 : -1 },
        $set: { updatedAt: event.data.canceledAt },
      }),
    // The car left: its spot is free again (the reservation is COMPLETED, no longer active).
    ReservationCheckedOut: ({ event }, collection) =>
      updateOne(collection, PARKING_LOTS, event.data.parkingLotId, {
        $inc: { openEndedHeld: event.data.startsAt ? 0 : -1 },
        $set: { updatedAt: event.data.checkedOutAt },
      }),
    ParkingLotCapacityChanged: ({ event: { data } }, collection) =>
      termChanged(collection, data, { capacity: data.capacity }),
    ParkingLotRateChanged: ({ event: { data } }, collection) =>
      termChanged(collection, data, { hourlyRate: data.hourlyRate }),
    ParkingLotCustomerLimitChanged: ({ event: { data } }, collection) =>
      termChanged(collection, data, { maxActivePerCustomer: data.maxActivePerCustomer }),
    ParkingLotPaymentTermsChanged: ({ event: { data } }, collection) =>
      termChanged(collection, data, { paymentTerms: data.terms }),
    ParkingLotPlaceChanged: ({ event }, collection) => {
      const { parkingLotId, location, address, timeZone, changedAt } = event.data;
      return updateOne(collection, PARKING_LOTS, parkingLotId, {
        $set: {
          ...placed(location),
          timeZone,
          updatedAt: changedAt,
          ...(address === undefined ? {} : { address }),
        },
        ...(address === undefined ? { $unset: { address: "" } } : {}),
      });
    },
    ParkingLotClosed: ({ event }, collection) => {
      const { parkingLotId, closureId, from, until, reason, closedAt } = event.data;
      return updateOne(collection, PARKING_LOTS, parkingLotId, {
        $push: { closures: { closureId, from, until, reason } },
        $set: { updatedAt: closedAt },
      });
    },
    ParkingLotClosureBegan: ({ event }, collection) => {
      // The cars in the lot when it closed are listed for operators (they are not canceled out).
      const { parkingLotId, closureId, carsInLot, recordedAt } = event.data;
      return updateOne(collection, PARKING_LOTS, parkingLotId, {
        $push: { closuresBegun: { closureId, carsInLot: carsInLot.slice(0, 1_000) } },
        $set: { updatedAt: recordedAt },
      });
    },
  },
});

/**
 * A lot's document as its decider state holds it (time travel's lot as of a moment; the live
 * projection never writes it). Not what only its history holds: `updatedAt`, a closure's reason,
 * the cars in the lot when it began; nor, from an older opening, its registration and cancels.
 */
export function lotDocumentOf(lot: RegisteredLot, collection: (logical: string) => string): WriteOp[] {
  const { parkingLotId, name, capacity, hourlyRate, maxActivePerCustomer, paymentTerms, place } = lot;
  const { registeredAt, canceledReservations } = lot;
  const iso = (ms: number) => new Date(ms).toISOString();
  return upsertOne(collection, PARKING_LOTS, parkingLotId, {
    $set: {
      parkingLotId,
      name,
      capacity,
      maxActivePerCustomer,
      ...(hourlyRate === undefined ? {} : { hourlyRate }),
      ...(paymentTerms === undefined ? {} : { paymentTerms }),
      ...(place?.location === undefined ? {} : placed(place.location)),
      ...(place?.address === undefined ? {} : { address: place.address }),
      ...(place?.timeZone === undefined ? {} : { timeZone: place.timeZone }),
      ...(registeredAt === undefined ? {} : { registeredAt: iso(registeredAt) }),
      totalReservations: lot.reservations.size + lot.archived,
      ...(canceledReservations === undefined ? {} : { canceledReservations }),
      ...(lot.closures.size === 0
        ? {}
        : {
            closures: lot.closures
              .toArray()
              .map((c) => ({ closureId: c.closureId, from: iso(c.from), until: iso(c.until) })),
          }),
    },
  });
}
