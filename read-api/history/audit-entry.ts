import { formatPosition } from "../../event-store/position.js";
import type { Actor } from "../../schemas/actor.js";
import type { StoredDomainEvent } from "../../schemas/event-codec.js";
import { stampOf } from "../../schemas/event-stamps.js";
import type { DomainEvent, EventOfType, EventType } from "../../schemas/events.js";
import type { HistoryEntry } from "../../schemas/history.js";

/**
 * One fact of the log as the audit trail shows it: when, what, who (from the metadata), why, and a
 * sentence a person can read. Pure: everything comes from the stored event.
 */

type DataOf<K extends EventType> = EventOfType<K>["data"];

/** The stamp of a raw payload, as ms since the epoch (NaN when it has none): for searching a stream. */
export function stampMsOfRaw(type: string, data: unknown): number {
  try {
    return Date.parse(stampOf({ type, data } as DomainEvent));
  } catch {
    return Number.NaN;
  }
}

const who = (actor: Actor | undefined): string =>
  actor ? `${actor.sub} (${actor.role})` : "someone (not recorded)";

const utc = (timestamp: string): string => new Date(timestamp).toISOString();

const windowOf = (data: { startsAt?: string; endsAt?: string }): string =>
  data.startsAt && data.endsAt ? `for ${utc(data.startsAt)} – ${utc(data.endsAt)}` : "open-ended";

const SETTLED_BY: Record<DataOf<"PaymentSettlementDecided">["because"], string> = {
  "check-out": "its check-out",
  "customer-cancel": "the customer's cancel",
  "operator-cancel": "an operator's cancel",
  closure: "a closure",
  "no-show": "its no-show",
  refund: "a refund",
};

/** A settlement's amounts in words: only the parts that move money. */
function settlementSentence(d: DataOf<"PaymentSettlementDecided">, by: string): string {
  const parts = [
    d.capture > 0 ? `capture ${d.capture}` : "",
    d.release > 0 ? `release ${d.release}` : "",
    d.offSession > 0 ? `charge ${d.offSession} off-session` : "",
    d.refund > 0 ? `refund ${d.refund}` : "",
    d.waived ? `waive ${d.waived} (below the smallest charge)` : "",
  ].filter(Boolean);
  const what = parts.length > 0 ? parts.join(", ") : "move nothing";
  return `${by} settled payment ${d.intentId} of reservation ${d.reservationId} on ${SETTLED_BY[d.because]}: ${what} ${d.currency}${d.reason ? ` (${d.reason})` : ""}`;
}

const RELEASED_BECAUSE: Record<DataOf<"PaymentIntentReleased">["because"], string> = {
  "booking-ended": "the booking ended unpaid",
  "authorization-refused": "an authorization the booking did not take",
  reconciliation: "the reconciliation found no booking counting on it",
};

/** A lot's place in words (issue 49): where, its address, its time zone (none stated: no place, UTC). */
function placeWords(p: {
  location?: { latitude: number; longitude: number } | undefined;
  address?: string | undefined;
  timeZone?: string | undefined;
}): string {
  const where = p.location ? `${p.location.latitude}, ${p.location.longitude}` : "no place";
  return `${where}${p.address ? ` ("${p.address}")` : ""} in time zone ${p.timeZone ?? "UTC"}`;
}

type Sentence<K extends EventType> = (d: DataOf<K>, by: string, actor: Actor | undefined) => string;

/** What happened, in words, per type: `by` is who did it. */
const SENTENCES: { [K in EventType]: Sentence<K> } = {
  ParkingLotRegistered: (d, by) =>
    `${by} registered lot ${d.parkingLotId} "${d.name}" with ${d.capacity} spots${d.hourlyRate ? ` at ${d.hourlyRate} an hour` : ""}${d.location || d.timeZone ? `, ${placeWords(d)}` : ""}`,
  ParkingReserved: (d, by, actor) => {
    const forWhom = actor?.sub === d.customerId ? "" : ` for customer ${d.customerId}`;
    return `${by} reserved ${d.reservationId}${forWhom} in lot ${d.parkingLotId}, car ${d.carNumber}, ${windowOf(d)}, amount ${d.amount}`;
  },
  ReservationCanceled: (d, by) =>
    `${by} canceled reservation ${d.reservationId} of customer ${d.customerId}: ${d.reason}`,
  ReservationCheckedIn: (d, by) =>
    `${by} checked in reservation ${d.reservationId} of customer ${d.customerId}`,
  ReservationCheckedOut: (d, by) => {
    const charged = [
      d.amount === undefined ? "" : `, charged ${d.amount}`,
      d.overstayCharge === undefined ? "" : `, overstay ${d.overstayCharge}`,
    ].join("");
    return `${by} checked out reservation ${d.reservationId} of customer ${d.customerId}${charged}`;
  },
  ReservationNoShow: (d, by) =>
    `${by} recorded reservation ${d.reservationId} of customer ${d.customerId} as a no-show (window ${utc(d.startsAt)} – ${utc(d.endsAt)})`,
  ParkingLotClosed: (d, by) =>
    `${by} closed lot ${d.parkingLotId} from ${utc(d.from)} until ${utc(d.until)}: ${d.reason}`,
  ParkingLotClosureBegan: (d, by) =>
    `${by} recorded that closure ${d.closureId} of lot ${d.parkingLotId} began, with ${d.carsInLot.length} cars in the lot`,
  ParkingLotCapacityChanged: (d, by) =>
    `${by} changed the capacity of lot ${d.parkingLotId} from ${d.previousCapacity} to ${d.capacity}`,
  ParkingLotCouponRuleChanged: (d, by) =>
    `${by} changed the coupon rule of lot ${d.parkingLotId} to ${JSON.stringify(d.couponRule)} from then on`,
  ParkingLotRateChanged: (d, by) =>
    `${by} changed the hourly rate of lot ${d.parkingLotId} ${d.previousHourlyRate === undefined ? "" : `from ${d.previousHourlyRate} `}to ${d.hourlyRate} for bookings made from then on`,
  ParkingLotCustomerLimitChanged: (d, by) =>
    `${by} changed the per-customer limit of lot ${d.parkingLotId} from ${d.previousMaxActivePerCustomer} to ${d.maxActivePerCustomer} active reservations`,
  ParkingLotPlaceChanged: (d, by) =>
    `${by} moved lot ${d.parkingLotId} to ${placeWords(d)} (before: ${placeWords({ location: d.previousLocation, address: d.previousAddress, timeZone: d.previousTimeZone })})`,
  ParkingLotPaymentTermsChanged: (d, by) =>
    `${by} changed the payment terms of lot ${d.parkingLotId} to ${d.terms.currency}, deposit ${d.terms.deposit}, cancel free until ${d.terms.cancellation.freeUntilMinutesBefore} minutes before the start then a ${d.terms.cancellation.feePercent}% fee, no-show fee ${d.terms.noShowFee}, for bookings made from then on`,
  PaymentIntentCreated: (d, by) =>
    `${by} recorded that payment ${d.intentId} of ${d.amount} ${d.currency} was created for reservation ${d.reservationId}, waiting to be confirmed`,
  PaymentIntentReleased: (d, by) =>
    `${by} recorded that payment ${d.intentId} for reservation ${d.reservationId} was canceled at the provider${d.amount > 0 ? `, releasing ${d.amount} held` : " before anything was held"} (${RELEASED_BECAUSE[d.because]})`,
  PaymentAuthorized: (d, by) =>
    `${by} recorded that payment ${d.intentId} of ${d.amount} ${d.currency} for reservation ${d.reservationId} was authorized`,
  PaymentFailed: (d, by) =>
    d.reason === "expired"
      ? `${by} recorded that the payment hold of reservation ${d.reservationId} ran out before the payment was authorized`
      : `${by} recorded that payment ${d.intentId ?? "(no intent)"} for reservation ${d.reservationId} was declined${d.code ? ` (${d.code})` : ""}`,
  PaymentSettlementDecided: (d, by) => settlementSentence(d, by),
  PaymentCaptured: (d, by) =>
    `${by} recorded that ${d.amount} ${d.currency} of payment ${d.intentId} for reservation ${d.reservationId} was captured`,
  PaymentReleased: (d, by) =>
    `${by} recorded that ${d.amount} of payment ${d.intentId} for reservation ${d.reservationId} was released`,
  PaymentRefunded: (d, by) =>
    `${by} recorded that ${d.amount} ${d.currency} of payment ${d.intentId} for reservation ${d.reservationId} was refunded (${d.refundId})`,
  OverstayCharged: (d, by) =>
    `${by} recorded that ${d.amount} ${d.currency} beyond the authorization of reservation ${d.reservationId} was charged off-session (${d.intentId})`,
  PaymentStepFailed: (d, by) =>
    `${by} recorded that the ${d.step} of reservation ${d.reservationId}'s payment failed (${d.code}): ${d.message}`,
  CouponIssued: (d, by) => `${by} issued coupon ${d.couponId} for reservation ${d.reservationId}`,
  CouponRevoked: (d, by) => `${by} revoked coupon ${d.couponId} of reservation ${d.reservationId}`,
  CouponRedeemed: (d, by) =>
    `${by} spent coupon ${d.couponId} of reservation ${d.reservationId} on reservation ${d.redeemedFor}`,
  CouponReturned: (d, by) =>
    `${by} returned coupon ${d.couponId} of reservation ${d.reservationId} (${d.reason} of ${d.redeemedFor})`,
  CustomerErased: (d, by) =>
    `${by} erased a customer's personal data (${d.reservationIds.length} reservations)${d.reason ? `: ${d.reason}` : ""}`,
  GateEventRecorded: (d, by) =>
    `${by} read a plate at gate ${d.gateId} of lot ${d.parkingLotId} (${d.direction}, event ${d.eventId}, confidence ${d.confidence}): ${d.decision} (${d.reason})${d.reservationId ? `, reservation ${d.reservationId}` : ""}${d.price !== undefined ? `, cost ${d.price}` : ""}`,
};

/** What happened, in words, starting with who did it. */
export function describe(event: DomainEvent, actor: Actor | undefined): string {
  const sentence = SENTENCES[event.type] as Sentence<EventType>;
  return sentence(event.data as never, who(actor), actor);
}

const reasonOf = (event: DomainEvent): string | undefined => {
  switch (event.type) {
    case "ReservationCanceled":
    case "ParkingLotClosed":
      return event.data.reason;
    case "ReservationNoShow":
      return "no-show";
    case "PaymentSettlementDecided":
      return event.data.reason;
    default:
      return undefined;
  }
};

export function auditEntry(stored: StoredDomainEvent): HistoryEntry {
  const { event, metadata } = stored;
  const reason = reasonOf(event);
  const data = event.data as { reservationId?: string };
  return {
    position: formatPosition(stored.position),
    streamId: stored.streamId,
    at: utc(stampOf(event)),
    type: event.type,
    ...(metadata.actor ? { actor: { sub: metadata.actor.sub, role: metadata.actor.role } } : {}),
    ...(reason ? { reason } : {}),
    ...(data.reservationId ? { reservationId: data.reservationId } : {}),
    correlationId: metadata.correlationId,
    causationId: metadata.causationId,
    summary: describe(event, metadata.actor),
  };
}
