import { randomUUID } from "node:crypto";
import { systemActor } from "../../schemas/actor.js";
import type { DomainEvent, EventOfType } from "../../schemas/events.js";
import { couponIdFor } from "../../write-side/coupon/coupon.js";

/**
 * Realistic, schema-valid domain data for seeding and load: lot ids, customers, Korean plates,
 * and the five event types. Everything is derived from an index, so a run is reproducible.
 */

const SYLLABLES = [..."가나다라마거너더러머버서어저고노도로모보소오조구누두루무부수우주허하호배"];

export const lotId = (i: number): string => `lot-${String(i).padStart(4, "0")}`;
/** The ids of lots 1 to n, as the scenarios register them. */
export const lotIds = (n: number): string[] => Array.from({ length: n }, (_, i) => lotId(i + 1));
export const customerId = (i: number): string => `CUST${i}`;
/** A Korean plate such as `12더3456`: two digits, a Hangul syllable, four digits. */
export const carNumber = (i: number): string =>
  `${10 + (i % 90)}${SYLLABLES[i % SYLLABLES.length]}${1000 + (Math.floor(i / 90) % 9000)}`;
export const amountOf = (i: number): number => 1000 * (1 + (i % 20));

/** A reserve request body as a client sends it. */
export const reserveBody = (i: number): string =>
  JSON.stringify({ customerId: customerId(i), carNumber: carNumber(i), amount: amountOf(i) });

/** A deterministic, time-ordered (UUIDv7-shaped) reservation id for index i. */
export const seededReservationId = (i: number): string =>
  `01900000-0000-7000-8000-${i.toString(16).padStart(12, "0")}`;

export const causation = () => ({
  correlationId: randomUUID(),
  causationId: randomUUID(),
  actor: systemActor("bench-seed"),
});

export function lotRegistered(
  parkingLotId: string,
  capacity: number,
  at: string,
): EventOfType<"ParkingLotRegistered"> {
  const n = parkingLotId.replace(/\D/g, "") || "1";
  return {
    type: "ParkingLotRegistered",
    data: { parkingLotId, name: `강남 ${Number(n)}주차장`, capacity, registeredAt: at },
  };
}

/** What every event of reservation `i` says of it. */
const about = (reservationId: string, parkingLotId: string, i: number) => ({
  reservationId,
  parkingLotId,
  customerId: customerId(i),
});

/** An event of reservation `i` (id `id`) on lot `lot`, made at `at`. */
type Fact<T extends DomainEvent["type"]> = (id: string, lot: string, i: number, at: string) => EventOfType<T>;

export const parkingReserved: Fact<"ParkingReserved"> = (id, lot, i, at) => ({
  type: "ParkingReserved",
  data: { ...about(id, lot, i), carNumber: carNumber(i), amount: amountOf(i), reservedAt: at },
});

export const reservationCanceled: Fact<"ReservationCanceled"> = (id, lot, i, at) => ({
  type: "ReservationCanceled",
  data: { ...about(id, lot, i), reason: "plans changed", canceledAt: at },
});

export const couponIssued: Fact<"CouponIssued"> = (id, lot, i, at) => ({
  type: "CouponIssued",
  data: { couponId: couponIdFor(id), ...about(id, lot, i), issuedAt: at },
});

export const couponRevoked: Fact<"CouponRevoked"> = (id, lot, i, at) => ({
  type: "CouponRevoked",
  data: { couponId: couponIdFor(id), ...about(id, lot, i), revokedAt: at },
});
