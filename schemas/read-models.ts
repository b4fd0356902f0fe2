import { type Static, Type } from "@sinclair/typebox";
import {
  Amount,
  Capacity,
  CarNumber,
  CouponId,
  CustomerId,
  LotName,
  ParkingLotId,
  PositionString,
  Reason,
  ReservationId,
  Timestamp,
} from "./common.js";

/** Shapes served by the query API and answered by the command API. */

export const ReservationStatus = Type.Union([Type.Literal("RESERVED"), Type.Literal("CANCELED")]);
export type ReservationStatus = Static<typeof ReservationStatus>;
export const CouponStatus = Type.Union([Type.Literal("ISSUED"), Type.Literal("REVOKED")]);

export const ParkingLotView = Type.Object(
  {
    parkingLotId: ParkingLotId,
    name: LotName,
    capacity: Capacity,
    availableSpots: Type.Integer(),
    activeReservations: Type.Integer(),
    totalReservations: Type.Integer(),
    canceledReservations: Type.Integer(),
    registeredAt: Timestamp,
    updatedAt: Timestamp,
  },
  { $id: "ParkingLotView" },
);
export type ParkingLotView = Static<typeof ParkingLotView>;

export const ReservationCoupon = Type.Object({
  couponId: CouponId,
  status: CouponStatus,
  issuedAt: Timestamp,
  revokedAt: Type.Optional(Timestamp),
});

export const ReservationView = Type.Object(
  {
    reservationId: ReservationId,
    parkingLotId: ParkingLotId,
    customerId: CustomerId,
    carNumber: CarNumber,
    amount: Amount,
    status: ReservationStatus,
    reservedAt: Timestamp,
    canceledAt: Type.Optional(Timestamp),
    cancelReason: Type.Optional(Reason),
    coupon: Type.Optional(ReservationCoupon),
    position: PositionString,
  },
  { $id: "ReservationView" },
);
export type ReservationView = Static<typeof ReservationView>;

export const CouponView = Type.Object(
  {
    couponId: CouponId,
    reservationId: ReservationId,
    parkingLotId: ParkingLotId,
    customerId: CustomerId,
    status: CouponStatus,
    issuedAt: Timestamp,
    revokedAt: Type.Optional(Timestamp),
  },
  { $id: "CouponView" },
);
export type CouponView = Static<typeof CouponView>;

export const ProjectionStatus = Type.Object({
  name: Type.String(),
  state: Type.Union([Type.Literal("running"), Type.Literal("stopped"), Type.Literal("failed")]),
  position: Type.Union([PositionString, Type.Null()], {
    description: "Last position applied; null before the first event.",
  }),
  headPosition: Type.Union([PositionString, Type.Null()]),
  lag: Type.Union([Type.Integer(), Type.Null()], {
    description:
      "Head position minus applied position (events on the embedded store, log bytes on EventStoreDB); null when the event store cannot be reached.",
  }),
  error: Type.Optional(Type.String()),
  lease: Type.Optional(
    Type.Object(
      {
        holder: Type.Union([Type.String(), Type.Null()], {
          description: "The projector process (host/pid/id) that holds or last held it; null once released.",
        }),
        state: Type.Union([Type.Literal("held"), Type.Literal("expired"), Type.Literal("free")]),
        expiresAt: Type.Union([Type.String({ format: "date-time" }), Type.Null()]),
      },
      {
        description:
          "Which projector process works on this processor (the others stand by and take over when the lease expires or is released).",
      },
    ),
  ),
});

export const ControlCenterTotals = Type.Object({
  parkingLots: Type.Integer(),
  capacity: Type.Integer(),
  availableSpots: Type.Integer(),
  activeReservations: Type.Integer(),
  totalReservations: Type.Integer(),
  canceledReservations: Type.Integer(),
  couponsIssued: Type.Integer(),
  couponsRevoked: Type.Integer(),
});
export type ControlCenterTotals = Static<typeof ControlCenterTotals>;

export const ActivityMinute = Type.Object({
  minute: Type.String({
    pattern: "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}$",
    description: "UTC minute, e.g. 2026-11-22T11:05.",
  }),
  reserved: Type.Integer({ minimum: 0 }),
  canceled: Type.Integer({ minimum: 0 }),
});
export type ActivityMinute = Static<typeof ActivityMinute>;

export const ControlCenterView = Type.Object(
  {
    totals: ControlCenterTotals,
    activity: Type.Array(ActivityMinute, {
      description:
        "Reservations and cancellations per minute over the last hour, oldest first; minutes without any are left out.",
    }),
    parkingLots: Type.Array(ParkingLotView, {
      description: "The first lots by id; continue with GET /parking-lots?cursor=parkingLotsNextCursor.",
    }),
    parkingLotsNextCursor: Type.Union([Type.String(), Type.Null()], {
      description: "Null when every lot is listed.",
    }),
    projections: Type.Array(ProjectionStatus),
  },
  { $id: "ControlCenterView" },
);
export type ControlCenterView = Static<typeof ControlCenterView>;
export type ProjectionStatus = Static<typeof ProjectionStatus>;

export const Page = <T extends ReturnType<typeof Type.Object>>(item: T) =>
  Type.Object({
    items: Type.Array(item),
    nextCursor: Type.Union([Type.String(), Type.Null()], {
      description: "Pass as `cursor` to get the next page; null on the last page.",
    }),
  });

export const ReservationAccepted = Type.Object(
  {
    reservationId: ReservationId,
    parkingLotId: ParkingLotId,
    customerId: CustomerId,
    carNumber: CarNumber,
    amount: Amount,
    status: ReservationStatus,
    position: PositionString,
  },
  { $id: "ReservationAccepted" },
);
export type ReservationAccepted = Static<typeof ReservationAccepted>;

export const ReservationCanceledResponse = Type.Object(
  {
    reservationId: ReservationId,
    parkingLotId: ParkingLotId,
    status: Type.Literal("CANCELED"),
    position: PositionString,
  },
  { $id: "ReservationCanceledResponse" },
);

export const ParkingLotRegisteredResponse = Type.Object(
  { parkingLotId: ParkingLotId, name: LotName, capacity: Capacity, position: PositionString },
  { $id: "ParkingLotRegisteredResponse" },
);

export const Problem = Type.Object(
  {
    type: Type.String({ description: "Stable identifier of the kind of problem." }),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.Optional(Type.String()),
    instance: Type.Optional(Type.String()),
    errors: Type.Optional(
      Type.Array(Type.Object({ field: Type.String(), message: Type.String() }), {
        description: "For validation problems: each field that was wrong and what it expects.",
      }),
    ),
  },
  { $id: "Problem", additionalProperties: true },
);
export type Problem = Static<typeof Problem>;
