import type { Projection } from "./projection.js";

export const PARKING_LOTS = "parking_lots";

/**
 * Each lot with its capacity and reservation counts. What is free *now* changes as windows start
 * and end, with no event to say so: the query side computes it when asked, from `openEndedHeld`
 * (open-ended reservations hold a spot from when they are made until an event ends them, so a
 * counter is exact) and the windows holding a spot at that instant (read through an index).
 */
export const parkingLotsProjection: Projection = {
  name: "parking-lots",
  collections: { [PARKING_LOTS]: [{ name: "by_lot_id", keys: { parkingLotId: 1 } }] },
  eventTypes: new Set([
    "ParkingLotRegistered",
    "ParkingReserved",
    "ReservationCanceled",
    "ReservationCheckedOut",
    "ParkingLotCapacityChanged",
    "ParkingLotClosed",
    "ParkingLotClosureBegan",
  ]),
  apply({ event }, collection) {
    const target = collection(PARKING_LOTS);
    switch (event.type) {
      case "ParkingLotRegistered": {
        const { parkingLotId, name, capacity, registeredAt, hourlyRate } = event.data;
        return [
          {
            op: "update",
            collection: target,
            id: parkingLotId,
            upsert: true,
            update: {
              $set: {
                parkingLotId,
                name,
                capacity,
                registeredAt,
                updatedAt: registeredAt,
                ...(hourlyRate === undefined ? {} : { hourlyRate }),
              },
              $setOnInsert: {
                openEndedHeld: 0,
                totalReservations: 0,
                canceledReservations: 0,
              },
            },
          },
        ];
      }
      case "ParkingReserved":
        return [
          {
            op: "update",
            collection: target,
            id: event.data.parkingLotId,
            update: {
              $inc: { totalReservations: 1, openEndedHeld: event.data.startsAt ? 0 : 1 },
              $set: { updatedAt: event.data.reservedAt },
            },
          },
        ];
      case "ReservationCanceled":
        return [
          {
            op: "update",
            collection: target,
            id: event.data.parkingLotId,
            update: {
              $inc: { canceledReservations: 1, openEndedHeld: event.data.startsAt ? 0 : -1 },
              $set: { updatedAt: event.data.canceledAt },
            },
          },
        ];
      case "ReservationCheckedOut":
        // The car left: its spot is free again (the reservation is COMPLETED, no longer active).
        return [
          {
            op: "update",
            collection: target,
            id: event.data.parkingLotId,
            update: {
              $inc: { openEndedHeld: event.data.startsAt ? 0 : -1 },
              $set: { updatedAt: event.data.checkedOutAt },
            },
          },
        ];
      case "ParkingLotCapacityChanged": {
        const { parkingLotId, capacity, changedAt } = event.data;
        return [
          {
            op: "update",
            collection: target,
            id: parkingLotId,
            update: {
              $set: { capacity, updatedAt: changedAt },
            },
          },
        ];
      }
      case "ParkingLotClosed": {
        const { parkingLotId, closureId, from, until, reason, closedAt } = event.data;
        return [
          {
            op: "update",
            collection: target,
            id: parkingLotId,
            update: {
              $push: { closures: { closureId, from, until, reason } },
              $set: { updatedAt: closedAt },
            },
          },
        ];
      }
      case "ParkingLotClosureBegan": {
        // The cars in the lot when it closed are listed for operators (they are not canceled out).
        const { parkingLotId, closureId, carsInLot, recordedAt } = event.data;
        return [
          {
            op: "update",
            collection: target,
            id: parkingLotId,
            update: {
              $push: { closuresBegun: { closureId, carsInLot: carsInLot.slice(0, 1_000) } },
              $set: { updatedAt: recordedAt },
            },
          },
        ];
      }
      default:
        return [];
    }
  },
};
