import { type Static, Type } from "@sinclair/typebox";
import {
  Amount,
  Capacity,
  CarNumber,
  CouponRule,
  Currency,
  CustomerId,
  GateConfidenceThreshold,
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
import { Address, Location, TimeZone } from "./place.js";
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

export const GateConfidenceChangedResponse = Type.Object(
  { parkingLotId: ParkingLotId, gateConfidenceThreshold: GateConfidenceThreshold, position: PositionString },
  { $id: "GateConfidenceChangedResponse" },
);

export const CustomerLimitChangedResponse = Type.Object(
  { parkingLotId: ParkingLotId, maxActivePerCustomer: MaxActivePerCustomer, position: PositionString },
  { $id: "CustomerLimitChangedResponse" },
);
export type ReservationAccepted = Static<typeof ReservationAccepted>;

/**
 * Since issue 47: what a cancel decided of a paid booking's money: the fee kept by the lot's
 * cancellation policy, and the rest of the authorization released (or given back, of what was
 * already captured). Issue 68: computed from the lot's terms; the payment's stream records the
 * same PaymentSettlementDecided after the answer.
 */
export const CancelSettlement = Type.Object(
  {
    currency: Currency,
    fee: {
      ...Amount,
      description:
        "Kept of the authorization (captured): the lot's cancellation fee for a customer's late cancel, 0 otherwise.",
    },
    released: { ...Amount, description: "Let go of the authorization: never charged." },
    refunded: { ...Amount, description: "Given back of what had been captured already." },
  },
  {
    additionalProperties: false,
    description:
      "Payments on, a booking whose payment was authorized: what this cancel decided of its money, in the currency's minor unit (the provider carries it out after the answer; `payment` on GET /reservations/{reservationId} shows it done). Absent when nothing was authorized (payments off, a payment still pending: nothing is charged) and on a repeated cancel, which decides nothing.",
  },
);
export type CancelSettlement = Static<typeof CancelSettlement>;

export const ReservationCanceledResponse = Type.Object(
  {
    reservationId: ReservationId,
    parkingLotId: ParkingLotId,
    status: Type.Literal("CANCELED"),
    settlement: Type.Optional(CancelSettlement),
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
    location: Type.Optional(Location),
    address: Type.Optional(Address),
    timeZone: { ...TimeZone, description: `${TimeZone.description} UTC when the registration named none.` },
    position: PositionString,
  },
  { $id: "ParkingLotRegisteredResponse" },
);

/** Since issue 49: the lot's place and time zone as now recorded. */
export const PlaceChangedResponse = Type.Object(
  {
    parkingLotId: ParkingLotId,
    location: Location,
    address: Type.Optional(Address),
    timeZone: TimeZone,
    position: PositionString,
  },
  { $id: "PlaceChangedResponse" },
);
