import type { DomainEvent, EventOfType, EventType } from "./events.js";

type DataOf<K extends EventType> = EventOfType<K>["data"];
type TextFieldOf<D> = { [F in keyof D]-?: D[F] extends string ? F : never }[keyof D];

/**
 * Which payload field holds the time the service stamped each fact (its clock when it decided, not
 * the store's). One table for every reader: the decider's event-time rules (payment records' end),
 * the audit trail, the search of a stream by time. A new event type does not compile until named here.
 */
const STAMP_FIELD: { [K in EventType]: TextFieldOf<DataOf<K>> } = {
  ParkingLotRegistered: "registeredAt",
  ParkingReserved: "reservedAt",
  ReservationCanceled: "canceledAt",
  ReservationCheckedIn: "checkedInAt",
  ReservationCheckedOut: "checkedOutAt",
  ReservationNoShow: "recordedAt",
  ParkingLotClosureBegan: "recordedAt",
  ParkingLotClosed: "closedAt",
  ParkingLotCapacityChanged: "changedAt",
  ParkingLotRateChanged: "changedAt",
  ParkingLotCustomerLimitChanged: "changedAt",
  ParkingLotPaymentTermsChanged: "changedAt",
  PaymentIntentCreated: "createdAt",
  PaymentIntentReleased: "releasedAt",
  ParkingLotPlaceChanged: "changedAt",
  ParkingLotCouponRuleChanged: "changedAt",
  PaymentAuthorized: "authorizedAt",
  PaymentFailed: "failedAt",
  PaymentSettlementDecided: "decidedAt",
  PaymentCaptured: "capturedAt",
  PaymentReleased: "releasedAt",
  PaymentRefunded: "refundedAt",
  OverstayCharged: "chargedAt",
  PaymentStepFailed: "failedAt",
  CouponIssued: "issuedAt",
  CouponRevoked: "revokedAt",
  CouponRedeemed: "redeemedAt",
  CouponReturned: "returnedAt",
  CustomerErased: "erasedAt",
  GateEventRecorded: "recordedAt",
};

/** When the service stamped the fact: the time field of its payload (an ISO timestamp). */
export function stampOf(event: DomainEvent): string {
  return (event.data as Record<string, string>)[STAMP_FIELD[event.type]] as string;
}
