import type { StoredDomainEvent } from "../../schemas/event-codec.js";
import type { DomainEvent, EventOfType, EventType } from "../../schemas/events.js";
import type { WebhookData, WebhookEventType, WebhookMessage } from "../../schemas/webhooks.js";

/**
 * What integrators hear of each fact of the log: the webhook message an event maps to (pure). The
 * keys of TO_MESSAGE are the event types the delivery reactor follows; `orderKey` is what log
 * order is kept per (the reservation, else the lot).
 */
export interface Mapped {
  readonly message: WebhookMessage;
  readonly orderKey: string;
}

type Mapper<E extends EventType> = (event: EventOfType<E>, stored: StoredDomainEvent) => WebhookMessage;
type Mappers = { readonly [E in EventType]?: Mapper<E> };

const message = <T extends WebhookEventType>(
  type: T,
  timestamp: string,
  data: WebhookData<T>,
): WebhookMessage => ({ type, timestamp, data }) as WebhookMessage;

/** Who or what canceled: a closure's cancellations say `lot-closed` and are not a customer's. */
function cancellationReason(event: EventOfType<"ReservationCanceled">, stored: StoredDomainEvent) {
  const role = stored.metadata.actor?.role;
  if (event.data.reason === "lot-closed" && role !== "customer") return "closure" as const;
  if (role === "customer" || role === "operator") return role;
  return "system" as const;
}

const TO_MESSAGE: Mappers = {
  ParkingReserved: ({ data: d }) =>
    message("reservation.reserved", d.reservedAt, {
      reservationId: d.reservationId,
      parkingLotId: d.parkingLotId,
      customerId: d.customerId,
      reservedAt: d.reservedAt,
      amount: d.amount,
      ...(d.startsAt ? { startsAt: d.startsAt } : {}),
      ...(d.endsAt ? { endsAt: d.endsAt } : {}),
    }),
  ReservationCanceled: (event, stored) => {
    const d = event.data;
    const reason = cancellationReason(event, stored);
    return message("reservation.canceled", d.canceledAt, {
      reservationId: d.reservationId,
      parkingLotId: d.parkingLotId,
      customerId: d.customerId,
      canceledAt: d.canceledAt,
      reason,
      ...(reason === "closure" ? {} : { note: d.reason }),
    });
  },
  ReservationCheckedIn: ({ data: d }) =>
    message("reservation.checked_in", d.checkedInAt, {
      reservationId: d.reservationId,
      parkingLotId: d.parkingLotId,
      customerId: d.customerId,
      checkedInAt: d.checkedInAt,
    }),
  ReservationCheckedOut: ({ data: d }) =>
    message("reservation.checked_out", d.checkedOutAt, {
      reservationId: d.reservationId,
      parkingLotId: d.parkingLotId,
      customerId: d.customerId,
      checkedOutAt: d.checkedOutAt,
      charges: {
        ...(d.amount !== undefined ? { amount: d.amount } : {}),
        ...(d.overstayCharge !== undefined ? { overstayCharge: d.overstayCharge } : {}),
      },
    }),
  ReservationNoShow: ({ data: d }) =>
    message("reservation.no_show", d.recordedAt, {
      reservationId: d.reservationId,
      parkingLotId: d.parkingLotId,
      customerId: d.customerId,
      startsAt: d.startsAt,
      endsAt: d.endsAt,
    }),
  CouponIssued: ({ data: d }) =>
    message("coupon.issued", d.issuedAt, {
      reservationId: d.reservationId,
      parkingLotId: d.parkingLotId,
      customerId: d.customerId,
      couponId: d.couponId,
      issuedAt: d.issuedAt,
    }),
  CouponRevoked: ({ data: d }) =>
    message("coupon.revoked", d.revokedAt, {
      reservationId: d.reservationId,
      parkingLotId: d.parkingLotId,
      customerId: d.customerId,
      couponId: d.couponId,
      revokedAt: d.revokedAt,
    }),
  ParkingLotClosed: ({ data: d }) =>
    message("lot.closure_announced", d.closedAt, {
      parkingLotId: d.parkingLotId,
      closureId: d.closureId,
      from: d.from,
      until: d.until,
      reason: d.reason,
    }),
  ParkingLotClosureBegan: ({ data: d }) =>
    message("lot.closure_began", d.recordedAt, {
      parkingLotId: d.parkingLotId,
      closureId: d.closureId,
      from: d.from,
      until: d.until,
      carsInLot: d.carsInLot,
    }),
};

/** The event types that map to a message (besides the overstay, which the clock brings). */
export const MAPPED_EVENT_TYPES: ReadonlySet<EventType> = new Set(Object.keys(TO_MESSAGE) as EventType[]);

/** The message an event maps to, with the key its order is kept by; undefined: none. */
export function messageOf(stored: StoredDomainEvent): Mapped | undefined {
  const mapper = TO_MESSAGE[stored.event.type] as Mapper<DomainEvent["type"]> | undefined;
  if (!mapper) return undefined;
  const built = mapper(stored.event as never, stored);
  const data = built.data as { reservationId?: string; parkingLotId: string };
  return { message: built, orderKey: data.reservationId ?? `lot:${data.parkingLotId}` };
}

/** The overstay message of a car checked in on a window that ended at `endsAt` and still in. */
export const overstayMessage = (data: WebhookData<"reservation.overstaying">): WebhookMessage =>
  message("reservation.overstaying", data.endsAt, data);
