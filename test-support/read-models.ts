import type { DocumentStore } from "../document-store/port.js";
import type { EventStore } from "../event-store/port.js";
import { CONTROL_CENTER, EMPTY_TOTALS, TOTALS_ID } from "../projections/read-models/control-center.js";
import { COUPONS } from "../projections/read-models/customer-coupons.js";
import { PARKING_LOTS } from "../projections/read-models/parking-lots.js";
import { RESERVATIONS } from "../projections/read-models/reservations.js";
import { activeGenerations, physicalCollection } from "../projections/runtime/checkpoints.js";
import { decodeEvent } from "../schemas/event-codec.js";

/**
 * What the read models must contain, folded straight from the log with plain code that shares
 * nothing with the projections. Timestamps and positions are left out of the comparison.
 */
export interface ReadModelSnapshot {
  lots: Record<
    string,
    {
      name: string;
      capacity: number;
      openEndedHeld: number;
      totalReservations: number;
      canceledReservations: number;
    }
  >;
  reservations: Record<
    string,
    {
      parkingLotId: string;
      customerId: string;
      carNumber: string;
      amount: number;
      status: string;
      coupon?: string;
    }
  >;
  coupons: Record<string, { reservationId: string; customerId: string; status: string }>;
  totals: Record<string, number>;
}

export async function foldHistory(eventStore: EventStore): Promise<ReadModelSnapshot> {
  const model: ReadModelSnapshot = { lots: {}, reservations: {}, coupons: {}, totals: {} };
  const t = { ...EMPTY_TOTALS };
  for await (const recorded of eventStore.readAll()) {
    const { event } = decodeEvent(recorded);
    switch (event.type) {
      case "ParkingLotRegistered":
        model.lots[event.data.parkingLotId] = {
          name: event.data.name,
          capacity: event.data.capacity,
          openEndedHeld: 0,
          totalReservations: 0,
          canceledReservations: 0,
        };
        t.parkingLots++;
        t.capacity += event.data.capacity;
        break;
      case "ParkingLotCapacityChanged":
        model.lots[event.data.parkingLotId]!.capacity = event.data.capacity;
        t.capacity += event.data.capacity - event.data.previousCapacity;
        break;
      case "ParkingReserved": {
        const lot = model.lots[event.data.parkingLotId]!;
        const openEnded = event.data.startsAt === undefined ? 1 : 0;
        lot.openEndedHeld += openEnded;
        lot.totalReservations++;
        const { reservationId, parkingLotId, customerId, carNumber, amount } = event.data;
        model.reservations[reservationId] = {
          parkingLotId,
          customerId,
          carNumber,
          amount,
          status: "RESERVED",
        };
        t.openEndedHeld += openEnded;
        t.totalReservations++;
        break;
      }
      case "ReservationCanceled": {
        const lot = model.lots[event.data.parkingLotId]!;
        const openEnded = event.data.startsAt === undefined ? 1 : 0;
        lot.openEndedHeld -= openEnded;
        lot.canceledReservations++;
        model.reservations[event.data.reservationId]!.status = "CANCELED";
        t.openEndedHeld -= openEnded;
        t.canceledReservations++;
        break;
      }
      case "ReservationCheckedIn":
        model.reservations[event.data.reservationId]!.status = "CHECKED_IN";
        break;
      case "ReservationCheckedOut": {
        const openEnded = event.data.startsAt === undefined ? 1 : 0;
        model.lots[event.data.parkingLotId]!.openEndedHeld -= openEnded;
        const reservation = model.reservations[event.data.reservationId]!;
        reservation.status = "COMPLETED";
        // An open-ended stay on a lot with a rate is priced at check-out.
        if (event.data.amount !== undefined) reservation.amount = event.data.amount;
        t.openEndedHeld -= openEnded;
        break;
      }
      case "ReservationNoShow":
        model.reservations[event.data.reservationId]!.status = "NO_SHOW";
        break;
      case "CouponIssued":
        model.coupons[event.data.couponId] = {
          reservationId: event.data.reservationId,
          customerId: event.data.customerId,
          status: "ISSUED",
        };
        model.reservations[event.data.reservationId]!.coupon = "ISSUED";
        t.couponsIssued++;
        break;
      case "CouponRevoked":
        model.coupons[event.data.couponId]!.status = "REVOKED";
        model.reservations[event.data.reservationId]!.coupon = "REVOKED";
        t.couponsRevoked++;
        break;
      case "CouponRedeemed":
      case "CouponReturned": {
        const status = event.type === "CouponRedeemed" ? "REDEEMED" : "ISSUED";
        model.coupons[event.data.couponId]!.status = status;
        model.reservations[event.data.reservationId]!.coupon = status;
        break;
      }
    }
  }
  model.totals = t;
  return model;
}

/** The same shape, read from the active generation of the stored read models. */
export async function readModels(store: DocumentStore): Promise<ReadModelSnapshot> {
  const generations = await activeGenerations(store);
  const name = (logical: string, projection: string) =>
    physicalCollection(logical, generations.get(projection) ?? 1);
  const model: ReadModelSnapshot = { lots: {}, reservations: {}, coupons: {}, totals: {} };
  for (const d of await store.find(name(PARKING_LOTS, "parking-lots"), {})) {
    const {
      name: n,
      capacity,
      openEndedHeld,
      totalReservations,
      canceledReservations,
    } = d as unknown as ReadModelSnapshot["lots"][string];
    model.lots[d._id] = {
      name: n,
      capacity,
      openEndedHeld,
      totalReservations,
      canceledReservations,
    };
  }
  for (const d of await store.find(name(RESERVATIONS, "reservations"), {})) {
    const r = d as unknown as ReadModelSnapshot["reservations"][string] & { coupon?: { status: string } };
    model.reservations[d._id] = {
      parkingLotId: r.parkingLotId,
      customerId: r.customerId,
      carNumber: r.carNumber,
      amount: r.amount,
      status: r.status,
      ...(r.coupon ? { coupon: r.coupon.status } : {}),
    };
  }
  for (const d of await store.find(name(COUPONS, "customer-coupons"), {})) {
    const c = d as unknown as ReadModelSnapshot["coupons"][string];
    model.coupons[d._id] = { reservationId: c.reservationId, customerId: c.customerId, status: c.status };
  }
  const totals = await store.findById(name(CONTROL_CENTER, "control-center"), TOTALS_ID);
  if (totals) {
    const { _id, ...rest } = totals;
    model.totals = rest as Record<string, number>;
  }
  return model;
}
