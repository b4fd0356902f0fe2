import { type Static, Type } from "@sinclair/typebox";
import { PLAIN_TEXT_NOT_BLANK_PATTERN, PLAIN_TEXT_PATTERN, PLAIN_TEXT_RULE } from "../platform/plain-text.js";
import { command } from "./command-shape.js";
import {
  Capacity,
  CarNumber,
  CouponId,
  CouponRule,
  CustomerId,
  GateConfidenceThreshold,
  HourlyRate,
  Identifier,
  Instant,
  LotName,
  MaxActivePerCustomer,
  OfferedAmount,
  ParkingLotId,
  PaymentCurrency,
  PaymentMethodId,
  PaymentTerms,
  Reason,
  ReservationId,
  Timestamp,
} from "./common.js";
import * as payment from "./payment-commands.js";
import { Address, Location, TimeZone } from "./place.js";

/** Request bodies of the command API. The payment commands are in payment-commands.ts. */
export * from "./payment-commands.js";

/**
 * What no text of a request may hold (platform/http/middleware.ts refuses it in every string):
 * controls, format characters (bidirectional overrides, zero-width ones, the BOM) and unpaired
 * surrogates. Stated in the free-text fields' patterns, so the document says it too. Events keep
 * the plain schemas: what they already hold stays readable.
 */
const PLAIN_TEXT = PLAIN_TEXT_RULE;

/** A lot's name as a request sends it: LotName, not blank, in plain text. */
export const RequestLotName = Type.String({
  ...LotName,
  pattern: PLAIN_TEXT_NOT_BLANK_PATTERN,
  description: `${LotName.description} Plain text: ${PLAIN_TEXT}.`,
});

/** A reason as a request sends it: Reason, in plain text. */
export const RequestReason = Type.String({
  ...Reason,
  pattern: PLAIN_TEXT_PATTERN,
  description: `${Reason.description} Plain text: ${PLAIN_TEXT}.`,
});

export const RegisterParkingLotBody = Type.Object(
  {
    parkingLotId: Type.Optional(ParkingLotId),
    name: RequestLotName,
    capacity: Capacity,
    hourlyRate: Type.Optional(HourlyRate),
    maxActivePerCustomer: Type.Optional(MaxActivePerCustomer),
    couponRule: Type.Optional(CouponRule),
    // Since issue 49: where the lot is (an address only with a location) and its clock (default UTC).
    location: Type.Optional(Location),
    address: Type.Optional(Address),
    timeZone: Type.Optional(TimeZone),
  },
  {
    additionalProperties: false,
    $id: "RegisterParkingLotBody",
    dependentRequired: { address: ["location"] },
  },
);
export type RegisterParkingLotBody = Static<typeof RegisterParkingLotBody>;

const BookedFor = Type.String({
  ...CustomerId,
  description:
    "The customer the spot is for. A customer may leave it out (it is the token's subject; another id is refused with 403); an operator booking on a customer's behalf must send it (OperatorReserveParkingBody).",
});

const reservationFields = {
  carNumber: CarNumber,
  amount: Type.Optional(OfferedAmount),
  couponId: Type.Optional(
    Type.String({
      ...CouponId,
      description:
        "A coupon of the booking's customer to spend on it (GET /customers/{customerId}/coupons, status ISSUED): the lot's coupon discount (`couponRule.discount`) comes off the price, and the payment authorizes the price after it. The coupon is then REDEEMED, and ISSUED again if this booking is canceled before it starts. Only for a booking priced now (a window, or a lot without a rate).",
    }),
  ),
  paymentMethod: Type.Optional(
    Type.String({
      ...PaymentMethodId,
      description:
        "With payments on (PAYMENTS=stripe), on a priced lot: a saved payment method of the customer at the provider (Stripe: `pm_...`) that the service authorizes the booking with, server-side (the booking answers PENDING_PAYMENT and becomes RESERVED once authorized; a decline cancels it, `payment-failed`). Without one the provider's PaymentIntent waits for the customer to confirm it (its `clientSecret` is shown on GET /reservations/{reservationId} to the booking's customer, for Stripe.js or a mobile SDK). Ignored while payments are off.",
    }),
  ),
  startsAt: Type.Optional(
    Type.String({
      ...Instant,
      description:
        "Start of the window (with endsAt; both or neither: without them the booking is open-ended). At most 5 minutes in the past and at most 90 days ahead.",
    }),
  ),
  endsAt: Type.Optional(
    Type.String({
      ...Instant,
      description:
        "End of the window (exclusive): at least 15 minutes after startsAt and after now, at most 24 hours after startsAt.",
    }),
  ),
};

/** A window is both `startsAt` and `endsAt`, or neither (an open-ended booking). */
const WINDOW_BOTH_OR_NEITHER = { dependentRequired: { startsAt: ["endsAt"], endsAt: ["startsAt"] } };

/** A customer's booking (for themselves: `customerId` left out or their own). */
export const ReserveParkingBody = Type.Object(
  { customerId: Type.Optional(BookedFor), ...reservationFields },
  { additionalProperties: false, $id: "ReserveParkingBody", ...WINDOW_BOTH_OR_NEITHER },
);
export type ReserveParkingBody = Static<typeof ReserveParkingBody>;

/** An operator's booking, on a customer's behalf: `customerId` required. */
export const OperatorReserveParkingBody = Type.Object(
  { customerId: BookedFor, ...reservationFields },
  { additionalProperties: false, $id: "OperatorReserveParkingBody", ...WINDOW_BOTH_OR_NEITHER },
);

/** A customer's cancellation: the reason is optional. */
export const CancelReservationBody = Type.Object(
  { reason: Type.Optional(RequestReason) },
  { additionalProperties: false, $id: "CancelReservationBody" },
);
export type CancelReservationBody = Static<typeof CancelReservationBody>;

/** An operator's cancellation: the reason is required (the customer is told it). */
export const OperatorCancelReservationBody = Type.Object(
  { reason: RequestReason },
  { additionalProperties: false, $id: "OperatorCancelReservationBody" },
);

/** A customer erasing their own personal data (issue 36): nothing to say. */
export const EraseCustomerBody = Type.Object(
  { reason: Type.Optional(RequestReason) },
  { additionalProperties: false, $id: "EraseCustomerBody" },
);
/** An operator erasing a customer's personal data must say why (it is recorded in the fact). */
export const OperatorEraseCustomerBody = Type.Object(
  { reason: RequestReason },
  { additionalProperties: false, $id: "OperatorEraseCustomerBody" },
);

export const CloseParkingLotBody = Type.Object(
  { from: Instant, until: Instant, reason: RequestReason },
  { additionalProperties: false, $id: "CloseParkingLotBody" },
);
export type CloseParkingLotBody = Static<typeof CloseParkingLotBody>;

export const ChangeCapacityBody = Type.Object(
  { capacity: Capacity },
  { additionalProperties: false, $id: "ChangeCapacityBody" },
);
export type ChangeCapacityBody = Static<typeof ChangeCapacityBody>;

export const ChangeRateBody = Type.Object(
  { hourlyRate: HourlyRate },
  { additionalProperties: false, $id: "ChangeRateBody" },
);
export type ChangeRateBody = Static<typeof ChangeRateBody>;

/** Issue 47: the lot's coupon rule for bookings and stays from now on (its discount included). */
export const ChangeCouponRuleBody = Type.Object(CouponRule.properties, {
  additionalProperties: false,
  $id: "ChangeCouponRuleBody",
  description: CouponRule.description,
});
export type ChangeCouponRuleBody = Static<typeof ChangeCouponRuleBody>;

export const ChangeGateConfidenceBody = Type.Object(
  { gateConfidenceThreshold: GateConfidenceThreshold },
  { additionalProperties: false, $id: "ChangeGateConfidenceBody" },
);
export type ChangeGateConfidenceBody = Static<typeof ChangeGateConfidenceBody>;

export const ChangeCustomerLimitBody = Type.Object(
  { maxActivePerCustomer: MaxActivePerCustomer },
  { additionalProperties: false, $id: "ChangeCustomerLimitBody" },
);
export type ChangeCustomerLimitBody = Static<typeof ChangeCustomerLimitBody>;

/** Since issue 38: the lot's payment terms for bookings made from now on. */
export const ChangePaymentTermsBody = Type.Object(
  // Issue 71: a currency Stripe takes (the stored terms keep any ISO 4217 code they were set with).
  { ...PaymentTerms.properties, currency: PaymentCurrency },
  { additionalProperties: false, $id: "ChangePaymentTermsBody" },
);
export type ChangePaymentTermsBody = Static<typeof ChangePaymentTermsBody>;

/** Since issue 49: the lot's whole place (an address left out is none) and its time zone. */
export const ChangePlaceBody = Type.Object(
  { location: Location, address: Type.Optional(Address), timeZone: TimeZone },
  { additionalProperties: false, $id: "ChangePlaceBody" },
);
export type ChangePlaceBody = Static<typeof ChangePlaceBody>;

export const IdempotencyKey = Type.String({
  minLength: 1,
  maxLength: 200,
  pattern: "^[\\x21-\\x7E]+$",
  description: "Client-chosen key (printable ASCII, no spaces); a retry with the same key books nothing new.",
});

/** Commands as the parking-lot decider receives them: the body plus ids and the clock. */

/** A command: its type, its fields, and the clock (`now`), nothing else. */

export const RegisterParkingLot = command("RegisterParkingLot", {
  parkingLotId: ParkingLotId,
  name: LotName,
  capacity: Capacity,
  hourlyRate: Type.Optional(HourlyRate),
  maxActivePerCustomer: Type.Optional(MaxActivePerCustomer),
  couponRule: Type.Optional(CouponRule),
  location: Type.Optional(Location),
  address: Type.Optional(Address),
  /** The runtime's name of the zone (schemas/place.ts `canonicalTimeZone`). */
  timeZone: Type.Optional(TimeZone),
});

export const ReserveParking = command("ReserveParking", {
  reservationId: ReservationId,
  /**
   * A keyed booking's earlier ids (write-side/reservation-ids.ts `keyedReservationIds`): the lot's
   * booking under one of them is this request's, answered again; none held, it books `reservationId`.
   */
  sameRequestAs: Type.Optional(Type.Array(ReservationId, { maxItems: 2 })),
  parkingLotId: ParkingLotId,
  customerId: CustomerId,
  carNumber: CarNumber,
  /** What the client offers; required without an hourly rate, checked against the quote with one. */
  amount: Type.Optional(OfferedAmount),
  /** UTC; both or neither. */
  startsAt: Type.Optional(Timestamp),
  endsAt: Type.Optional(Timestamp),
  /** Since issue 38: a saved payment method to authorize with (payments on). */
  paymentMethod: Type.Optional(PaymentMethodId),
  /**
   * Since issue 47: the coupon spent on this booking, already redeemed for it on its own stream
   * (write-side/coupon-spending.ts): its id and the reservation that got it.
   */
  coupon: Type.Optional(
    Type.Object({ couponId: CouponId, reservationId: ReservationId }, { additionalProperties: false }),
  ),
});

export const CancelReservation = command("CancelReservation", {
  reservationId: ReservationId,
  parkingLotId: ParkingLotId,
  reason: Reason,
  /** Set when a customer cancels: only their own reservation may be canceled. */
  requestedBy: Type.Optional(CustomerId),
});

/** Check-in / check-out; `requestedBy` (a customer) only acts on their own reservation. */
const reservationStep = <T extends string>(type: T) =>
  command(type, {
    reservationId: ReservationId,
    parkingLotId: ParkingLotId,
    requestedBy: Type.Optional(CustomerId),
  });
export const CheckIn = reservationStep("CheckIn");
export const CheckOut = reservationStep("CheckOut");

/**
 * Issue 49: a car without a booking read at a gate's entry: an open-ended stay at the lot's rate,
 * booked and checked in at once (write-side/parking-lot/drive-ups.ts). Sent by the gate's handler
 * only; `reservationId` is derived from the read, so a retried read books nothing twice.
 */
export const AdmitDriveUp = command("AdmitDriveUp", {
  reservationId: ReservationId,
  parkingLotId: ParkingLotId,
  carNumber: CarNumber,
  gateId: Identifier,
});

export const CloseParkingLot = command("CloseParkingLot", {
  closureId: Identifier,
  parkingLotId: ParkingLotId,
  from: Timestamp,
  until: Timestamp,
  reason: Reason,
});

export const ChangeCapacity = command("ChangeCapacity", { parkingLotId: ParkingLotId, capacity: Capacity });
export const ChangeRate = command("ChangeRate", { parkingLotId: ParkingLotId, hourlyRate: HourlyRate });
export const ChangeCouponRule = command("ChangeCouponRule", {
  parkingLotId: ParkingLotId,
  couponRule: CouponRule,
});
export const ChangeGateConfidence = command("ChangeGateConfidence", {
  parkingLotId: ParkingLotId,
  gateConfidenceThreshold: GateConfidenceThreshold,
});
export const ChangeCustomerLimit = command("ChangeCustomerLimit", {
  parkingLotId: ParkingLotId,
  maxActivePerCustomer: MaxActivePerCustomer,
});
export const ChangePaymentTerms = command("ChangePaymentTerms", {
  parkingLotId: ParkingLotId,
  terms: PaymentTerms,
});
export const ChangePlace = command("ChangePlace", {
  parkingLotId: ParkingLotId,
  location: Location,
  address: Type.Optional(Address),
  timeZone: TimeZone,
});

/**
 * Time-driven facts, sent by the scheduler (never over HTTP) once they fall due; deciding them again
 * changes nothing, so a scheduler that crashed and retries appends each exactly once.
 */
export const RecordNoShow = command("RecordNoShow", {
  reservationId: ReservationId,
  parkingLotId: ParkingLotId,
});

export const BeginClosure = command("BeginClosure", { closureId: Identifier, parkingLotId: ParkingLotId });

/** Issue 66: the next chunk of a closure's cancellations (sent until it appends nothing). */
export const CancelForClosure = command("CancelForClosure", {
  closureId: Identifier,
  parkingLotId: ParkingLotId,
});

/**
 * Issue 68: the lot's current period's books close (LotBooksClosed; the next period opens with the
 * lot's state). Sent by the lot's state source after an append and by the scheduler at the lot's
 * local day boundary; the lot's decider decides whether it is due: the period has `bound` events or
 * more (`events`: what its stream holds, which only the store knows), or it opened on an earlier
 * local day of the lot. Refused NotDue otherwise.
 */
export const CloseBooks = command("CloseBooks", {
  parkingLotId: ParkingLotId,
  period: Type.Integer({ minimum: 0 }),
  events: Type.Integer({ minimum: 0 }),
  /** The service's bound on a period's events (LOT_PERIOD_EVENTS); 0: no size bound. */
  bound: Type.Integer({ minimum: 0 }),
});

export const ParkingLotCommand = Type.Union([
  RegisterParkingLot,
  ReserveParking,
  CancelReservation,
  CheckIn,
  CheckOut,
  AdmitDriveUp,
  CloseParkingLot,
  ChangeCapacity,
  ChangeRate,
  ChangeCouponRule,
  ChangeCustomerLimit,
  ChangeGateConfidence,
  ChangePaymentTerms,
  ChangePlace,
  RecordNoShow,
  BeginClosure,
  CancelForClosure,
  CloseBooks,
  payment.AuthorizePayment,
  payment.FailPayment,
  payment.ExpirePaymentHold,
  payment.RecordPaymentOutcome,
  payment.RefundPayment,
  payment.RecordPaymentIntent,
  payment.RecordIntentReleased,
  payment.RecordHoldLapsed,
  payment.RecordLateCharge,
]);
export type ParkingLotCommand = Static<typeof ParkingLotCommand>;
export type RegisterParkingLot = Static<typeof RegisterParkingLot>;
export type ReserveParking = Static<typeof ReserveParking>;
export type CancelReservation = Static<typeof CancelReservation>;
export type CheckIn = Static<typeof CheckIn>;
export type CheckOut = Static<typeof CheckOut>;
export type AdmitDriveUp = Static<typeof AdmitDriveUp>;
export type CloseParkingLot = Static<typeof CloseParkingLot>;
export type ChangeCapacity = Static<typeof ChangeCapacity>;
export type ChangeRate = Static<typeof ChangeRate>;
export type ChangeCouponRule = Static<typeof ChangeCouponRule>;
export type ChangeCustomerLimit = Static<typeof ChangeCustomerLimit>;
export type ChangeGateConfidence = Static<typeof ChangeGateConfidence>;
export type ChangePaymentTerms = Static<typeof ChangePaymentTerms>;
export type ChangePlace = Static<typeof ChangePlace>;
export type RecordNoShow = Static<typeof RecordNoShow>;
export type BeginClosure = Static<typeof BeginClosure>;
export type CancelForClosure = Static<typeof CancelForClosure>;
export type CloseBooks = Static<typeof CloseBooks>;
