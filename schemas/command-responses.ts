import { type Static, Type } from "@sinclair/typebox";
import {
  Amount,
  Capacity,
  CarNumber,
  CouponRule,
  CustomerId,
  HourlyRate,
  LotName,
  MaxActivePerCustomer,
  ParkingLotId,
  PaymentTerms,
  PositionString,
  Reason,
  ReservationId,
  Timestamp,
} from "./common.js";
import { ReservationStatus } from "./read-models.js";

/** What each command answers (the write side's responses), by schema. */

export const ReservationAccepted = Type.Object(
  {
    reservationId: ReservationId,
    parkingLotId: ParkingLotId,
    customerId: CustomerId,
    carNumber: CarNumber,
    amount: Type.Integer({
      ...Amount,
      description:
        "The price agreed: the window's quote on a lot with a rate, the client's amount on one without; 0 for an open-ended stay on a lot with a rate, priced at check-out (see `hourlyRate`).",
    }),
    startsAt: Type.Optional(Timestamp),
    endsAt: Type.Optional(Timestamp),
    mustLeaveBy: Type.Optional({
      ...Timestamp,
      description:
        "An open-ended booking made before a closure of the lot: when that closure begins, which cancels the booking if the car has not checked in.",
    }),
    hourlyRate: Type.Optional({
      ...HourlyRate,
      description:
        "An open-ended stay on a lot with a rate: the rate it is priced at on check-out, from check-in.",
    }),
    status: ReservationStatus,
    position: PositionString,
  },
  { $id: "ReservationAccepted" },
);

export const ReservationStepResponse = Type.Object(
  {
    reservationId: ReservationId,
    parkingLotId: ParkingLotId,
    status: ReservationStatus,
    amount: Type.Optional({
      ...Amount,
      description: "A check-out of an open-ended stay on a lot with a rate: its price, from check-in to now.",
    }),
    overstayCharge: Type.Optional({
      ...Amount,
      description:
        "A check-out past the window's end: the minutes past it at the lot's rate (same rounding).",
    }),
    position: PositionString,
  },
  { $id: "ReservationStepResponse" },
);

export const ClosureAccepted = Type.Object(
  {
    closureId: Type.String(),
    parkingLotId: ParkingLotId,
    from: Timestamp,
    until: Timestamp,
    reason: Reason,
    canceledReservations: Type.Array(ReservationId, {
      description: "Canceled by this closure (reason `lot-closed`).",
    }),
    position: PositionString,
  },
  { $id: "ClosureAccepted" },
);

/** Since issue 36: what an erasure did. */
export const CustomerErasureResponse = Type.Object(
  {
    customerId: CustomerId,
    subject: Type.String({
      description: "The keyed pseudonym of the customer that the erasure fact records.",
    }),
    erasedReservations: Type.Integer({
      minimum: 0,
      description:
        "How many reservations the read models held for the customer; their plates and ids now read `erased`.",
    }),
    erasedAt: Timestamp,
    position: PositionString,
    listedLater: Type.Optional(
      Type.Literal(true, {
        description:
          "A command-api without the read models erased: the customer's keys are gone at once (every view reads `erased`), and the projectors list and rewrite their reservations shortly after; `erasedReservations` is then 0.",
      }),
    ),
  },
  { $id: "CustomerErasureResponse" },
);

export const CapacityChangedResponse = Type.Object(
  { parkingLotId: ParkingLotId, capacity: Capacity, position: PositionString },
  { $id: "CapacityChangedResponse" },
);
export const CouponRuleChangedResponse = Type.Object(
  {
    parkingLotId: ParkingLotId,
    couponRule: CouponRule,
    position: PositionString,
  },
  { $id: "CouponRuleChangedResponse" },
);

export const RateChangedResponse = Type.Object(
  {
    parkingLotId: ParkingLotId,
    hourlyRate: {
      ...HourlyRate,
      description: "The rate of bookings made from now on (those made before keep their price).",
    },
    position: PositionString,
  },
  { $id: "RateChangedResponse" },
);

/** Since issue 38: the lot's payment terms for bookings made from now on. */
export const PaymentTermsChangedResponse = Type.Object(
  { parkingLotId: ParkingLotId, terms: PaymentTerms, position: PositionString },
  { $id: "PaymentTermsChangedResponse" },
);

export const CustomerLimitChangedResponse = Type.Object(
  { parkingLotId: ParkingLotId, maxActivePerCustomer: MaxActivePerCustomer, position: PositionString },
  { $id: "CustomerLimitChangedResponse" },
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
  {
    parkingLotId: ParkingLotId,
    name: LotName,
    capacity: Capacity,
    hourlyRate: Type.Optional(HourlyRate),
    maxActivePerCustomer: MaxActivePerCustomer,
    position: PositionString,
  },
  { $id: "ParkingLotRegisteredResponse" },
);
