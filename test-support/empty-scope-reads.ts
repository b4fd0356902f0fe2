import { parentPort } from "node:worker_threads";
import { SqliteDocumentStore } from "../document-store/embedded/sqlite-document-store.js";
import { readViews } from "../read-api/views/views.js";
import type { DomainEvent } from "../schemas/events.js";
import { projectedLog, withProjectionIndexes } from "./projected-log.js";

/**
 * A worker thread's body (test-support/in-worker.ts): the reservations and coupons views asked
 * with an empty list of lots (a member of staff whose grant covers no lot), on a store holding a
 * lot with two bookings of one plate and a coupon. Posts `ready` once set up, then what each
 * answered.
 */
const T0 = Date.parse("2026-11-23T12:00:00.000Z");
const iso = (ms: number) => new Date(ms).toISOString();
const HOUR = 3_600_000;

const booked = (reservationId: string): DomainEvent => ({
  type: "ParkingReserved",
  data: {
    reservationId,
    parkingLotId: "L1",
    customerId: "C1",
    carNumber: "12가3456",
    amount: 1000,
    reservedAt: iso(T0 - 2 * HOUR),
    startsAt: iso(T0 + HOUR),
    endsAt: iso(T0 + 2 * HOUR),
  },
});

const store = SqliteDocumentStore.open({ file: ":memory:" });
await withProjectionIndexes(store);
const log = projectedLog(new Date(T0));
await log.apply(store, [
  {
    type: "ParkingLotRegistered",
    data: { parkingLotId: "L1", name: "L1", capacity: 5, registeredAt: iso(T0 - 24 * HOUR) },
  },
  booked("r1"),
  booked("r2"),
  {
    type: "CouponIssued",
    data: { couponId: "c-r1", reservationId: "r1", parkingLotId: "L1", customerId: "C1", issuedAt: iso(T0) },
  },
]);
const { reservations } = readViews(store, { readYourWritesTimeoutMs: 1_000, now: () => T0 });
const none: string[] = [];
parentPort?.postMessage({ ready: true });
parentPort?.postMessage({
  answer: {
    listing: await reservations.reservations({ limit: 1, parkingLotIds: none }),
    byStatus: await reservations.reservations({ limit: 1, parkingLotIds: none, status: "RESERVED" }),
    byPlate: await reservations.reservations({ limit: 1, parkingLotIds: none, carNumber: "3456" }),
    coupons: await reservations.customerCoupons("C1", { limit: 1, parkingLotIds: none }),
  },
});
