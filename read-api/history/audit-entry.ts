import { formatPosition } from "../../event-store/position.js";
import type { Actor } from "../../schemas/actor.js";
import type { StoredDomainEvent } from "../../schemas/event-codec.js";
import type { DomainEvent } from "../../schemas/events.js";
import type { HistoryEntry } from "../../schemas/history.js";

/**
 * One fact of the log as the audit trail shows it: when, what, who (from the metadata), why, and a
 * sentence a person can read. Pure: everything comes from the stored event.
 */

/** When the service stamped the fact: the time field of its payload (its clock, not the store's). */
export function stampOf(event: DomainEvent): string {
  switch (event.type) {
    case "ParkingLotRegistered":
      return event.data.registeredAt;
    case "ParkingReserved":
      return event.data.reservedAt;
    case "ReservationCanceled":
      return event.data.canceledAt;
    case "ReservationCheckedIn":
      return event.data.checkedInAt;
    case "ReservationCheckedOut":
      return event.data.checkedOutAt;
    case "ReservationNoShow":
    case "ParkingLotClosureBegan":
      return event.data.recordedAt;
    case "ParkingLotClosed":
      return event.data.closedAt;
    case "ParkingLotCapacityChanged":
      return event.data.changedAt;
    case "CouponIssued":
      return event.data.issuedAt;
    case "CouponRevoked":
      return event.data.revokedAt;
  }
}

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

/** What happened, in words, starting with who did it. */
export function describe(event: DomainEvent, actor: Actor | undefined): string {
  const by = who(actor);
  switch (event.type) {
    case "ParkingLotRegistered": {
      const d = event.data;
      return `${by} registered lot ${d.parkingLotId} "${d.name}" with ${d.capacity} spots${d.hourlyRate ? ` at ${d.hourlyRate} an hour` : ""}`;
    }
    case "ParkingReserved": {
      const d = event.data;
      const forWhom = actor?.sub === d.customerId ? "" : ` for customer ${d.customerId}`;
      return `${by} reserved ${d.reservationId}${forWhom} in lot ${d.parkingLotId}, car ${d.carNumber}, ${windowOf(d)}, amount ${d.amount}`;
    }
    case "ReservationCanceled": {
      const d = event.data;
      return `${by} canceled reservation ${d.reservationId} of customer ${d.customerId}: ${d.reason}`;
    }
    case "ReservationCheckedIn":
      return `${by} checked in reservation ${event.data.reservationId} of customer ${event.data.customerId}`;
    case "ReservationCheckedOut": {
      const d = event.data;
      const charged = [
        d.amount === undefined ? "" : `, charged ${d.amount}`,
        d.overstayCharge === undefined ? "" : `, overstay ${d.overstayCharge}`,
      ].join("");
      return `${by} checked out reservation ${d.reservationId} of customer ${d.customerId}${charged}`;
    }
    case "ReservationNoShow": {
      const d = event.data;
      return `${by} recorded reservation ${d.reservationId} of customer ${d.customerId} as a no-show (window ${utc(d.startsAt)} – ${utc(d.endsAt)})`;
    }
    case "ParkingLotClosed": {
      const d = event.data;
      return `${by} closed lot ${d.parkingLotId} from ${utc(d.from)} until ${utc(d.until)}: ${d.reason}`;
    }
    case "ParkingLotClosureBegan": {
      const d = event.data;
      return `${by} recorded that closure ${d.closureId} of lot ${d.parkingLotId} began, with ${d.carsInLot.length} cars in the lot`;
    }
    case "ParkingLotCapacityChanged": {
      const d = event.data;
      return `${by} changed the capacity of lot ${d.parkingLotId} from ${d.previousCapacity} to ${d.capacity}`;
    }
    case "CouponIssued":
      return `${by} issued coupon ${event.data.couponId} for reservation ${event.data.reservationId}`;
    case "CouponRevoked":
      return `${by} revoked coupon ${event.data.couponId} of reservation ${event.data.reservationId}`;
  }
}

const reasonOf = (event: DomainEvent): string | undefined => {
  switch (event.type) {
    case "ReservationCanceled":
    case "ParkingLotClosed":
      return event.data.reason;
    case "ReservationNoShow":
      return "no-show";
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
