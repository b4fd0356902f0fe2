import { type Static, Type } from "@sinclair/typebox";
import { Actor } from "./actor.js";
import {
  Amount,
  Capacity,
  CarNumber,
  CouponId,
  CustomerId,
  Identifier,
  LotName,
  ParkingLotId,
  Reason,
  ReservationId,
  Timestamp,
} from "./common.js";

/** Payload schemas of every domain event. `additionalProperties: false` everywhere. */

const strict = { additionalProperties: false } as const;

export const ParkingLotRegisteredData = Type.Object(
  { parkingLotId: ParkingLotId, name: LotName, capacity: Capacity, registeredAt: Timestamp },
  { ...strict, $id: "ParkingLotRegistered" },
);

export const ParkingReservedData = Type.Object(
  {
    reservationId: ReservationId,
    parkingLotId: ParkingLotId,
    customerId: CustomerId,
    carNumber: CarNumber,
    amount: Amount,
    reservedAt: Timestamp,
  },
  { ...strict, $id: "ParkingReserved" },
);

export const ReservationCanceledData = Type.Object(
  {
    reservationId: ReservationId,
    parkingLotId: ParkingLotId,
    customerId: CustomerId,
    reason: Reason,
    canceledAt: Timestamp,
  },
  { ...strict, $id: "ReservationCanceled" },
);

export const CouponIssuedData = Type.Object(
  {
    couponId: CouponId,
    reservationId: ReservationId,
    parkingLotId: ParkingLotId,
    customerId: CustomerId,
    issuedAt: Timestamp,
  },
  { ...strict, $id: "CouponIssued" },
);

export const CouponRevokedData = Type.Object(
  {
    couponId: CouponId,
    reservationId: ReservationId,
    parkingLotId: ParkingLotId,
    customerId: CustomerId,
    revokedAt: Timestamp,
  },
  { ...strict, $id: "CouponRevoked" },
);

/** Event type name → payload schema. The one table every codec and projector reads from. */
export const EventDataSchemas = {
  ParkingLotRegistered: ParkingLotRegisteredData,
  ParkingReserved: ParkingReservedData,
  ReservationCanceled: ReservationCanceledData,
  CouponIssued: CouponIssuedData,
  CouponRevoked: CouponRevokedData,
} as const;

export type EventType = keyof typeof EventDataSchemas;
export const EVENT_TYPES = Object.keys(EventDataSchemas) as EventType[];

/** A domain event: its type and its validated payload, as a discriminated union. */
export type DomainEvent = {
  [K in EventType]: { readonly type: K; readonly data: Static<(typeof EventDataSchemas)[K]> };
}[EventType];

export type EventOfType<K extends EventType> = Extract<DomainEvent, { type: K }>;

/** Metadata carried by every event. */
export const EventMetadata = Type.Object(
  {
    correlationId: Identifier,
    causationId: Identifier,
    schemaVersion: Type.Integer({ minimum: 1, maximum: 1000 }),
    /** Who acted (events written before authentication have none). */
    actor: Type.Optional(Actor),
  },
  { additionalProperties: true, $id: "EventMetadata" },
);
export type EventMetadata = Static<typeof EventMetadata>;

export const CURRENT_SCHEMA_VERSION = 1;
