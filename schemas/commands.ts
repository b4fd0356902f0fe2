import { type Static, Type } from "@sinclair/typebox";
import {
  Amount,
  Capacity,
  CarNumber,
  CustomerId,
  LotName,
  ParkingLotId,
  Reason,
  ReservationId,
  Timestamp,
} from "./common.js";

/** Request bodies of the command API. */

export const RegisterParkingLotBody = Type.Object(
  { parkingLotId: Type.Optional(ParkingLotId), name: LotName, capacity: Capacity },
  { additionalProperties: false, $id: "RegisterParkingLotBody" },
);
export type RegisterParkingLotBody = Static<typeof RegisterParkingLotBody>;

export const ReserveParkingBody = Type.Object(
  {
    customerId: Type.Optional(
      Type.String({
        ...CustomerId,
        description:
          "The customer the spot is for. A customer may leave it out (it is the token's subject; another id is refused with 403); an operator booking on a customer's behalf must send it.",
      }),
    ),
    carNumber: CarNumber,
    amount: Amount,
  },
  { additionalProperties: false, $id: "ReserveParkingBody" },
);
export type ReserveParkingBody = Static<typeof ReserveParkingBody>;

export const CancelReservationBody = Type.Object(
  { reason: Type.Optional(Reason) },
  { additionalProperties: false, $id: "CancelReservationBody" },
);
export type CancelReservationBody = Static<typeof CancelReservationBody>;

export const IdempotencyKey = Type.String({
  minLength: 1,
  maxLength: 200,
  pattern: "^[\\x21-\\x7E]+$",
  description: "Client-chosen key (printable ASCII, no spaces); a retry with the same key books nothing new.",
});

/** Commands as the parking-lot decider receives them: the body plus ids and the clock. */

export const RegisterParkingLot = Type.Object(
  {
    type: Type.Literal("RegisterParkingLot"),
    parkingLotId: ParkingLotId,
    name: LotName,
    capacity: Capacity,
    now: Timestamp,
  },
  { additionalProperties: false },
);

export const ReserveParking = Type.Object(
  {
    type: Type.Literal("ReserveParking"),
    reservationId: ReservationId,
    parkingLotId: ParkingLotId,
    customerId: CustomerId,
    carNumber: CarNumber,
    amount: Amount,
    now: Timestamp,
  },
  { additionalProperties: false },
);

export const CancelReservation = Type.Object(
  {
    type: Type.Literal("CancelReservation"),
    reservationId: ReservationId,
    parkingLotId: ParkingLotId,
    reason: Reason,
    /** Set when a customer cancels: only their own reservation may be canceled. */
    requestedBy: Type.Optional(CustomerId),
    now: Timestamp,
  },
  { additionalProperties: false },
);

export const ParkingLotCommand = Type.Union([RegisterParkingLot, ReserveParking, CancelReservation]);
export type ParkingLotCommand = Static<typeof ParkingLotCommand>;
export type RegisterParkingLot = Static<typeof RegisterParkingLot>;
export type ReserveParking = Static<typeof ReserveParking>;
export type CancelReservation = Static<typeof CancelReservation>;
