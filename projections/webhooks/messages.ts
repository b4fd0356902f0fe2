import type { StoredDomainEvent } from "../../schemas/event-codec.js";
import { stampOf } from "../../schemas/event-stamps.js";
import type { DomainEvent, EventOfType, EventType } from "../../schemas/events.js";
import {
  HEARD_PAYMENT_FACTS,
  type HeardPaymentFact,
  paymentWebhookType,
  type WebhookData,
  WebhookDataSchemas,
  type WebhookEventType,
  type WebhookMessage,
} from "../../schemas/webhooks.js";
import type { QueuedMessage } from "./delivery-queue.js";

/**
 * A webhook message an event maps to: `orderKey` is what log order is kept per (the reservation,
 * else the lot); `part` numbers the messages of one fact (its first is 0).
 */
export interface Mapped {
  readonly message: WebhookMessage;
  readonly orderKey: string;
  readonly part: number;
}

type Mapper<E extends EventType> = (
  event: EventOfType<E>,
  stored: StoredDomainEvent,
) => WebhookMessage | readonly WebhookMessage[];
type Mappers = { readonly [E in EventType]?: Mapper<E> };

const message = <T extends WebhookEventType>(
  type: T,
  timestamp: string,
  data: WebhookData<T>,
): WebhookMessage => ({ type, timestamp, data }) as WebhookMessage;

/** A fact told as it is: the fields its message's schema names, at its record time. */
const told =
  (type: WebhookEventType) =>
  (event: DomainEvent): WebhookMessage => {
    const data = event.data as Record<string, unknown>;
    const fields = Object.keys(WebhookDataSchemas[type].properties).filter(
      (field) => data[field] !== undefined,
    );
    return message(
      type,
      stampOf(event),
      Object.fromEntries(fields.map((field) => [field, data[field]])) as never,
    );
  };

/** Who or what canceled: a closure's cancellations say `lot-closed` and are not a customer's. */
function cancellationReason(event: EventOfType<"ReservationCanceled">, stored: StoredDomainEvent) {
  const role = stored.metadata.actor?.role;
  if (event.data.reason === "lot-closed" && role !== "customer") return "closure" as const;
  if (role === "customer" || role === "operator") return role;
  return "system" as const;
}

/** A heard payment fact as its `payment.<verb>` message: the fact's data, at its `<verb>At`. */
const paymentMessage = (event: EventOfType<HeardPaymentFact>): WebhookMessage =>
  told(paymentWebhookType(event.type))(event);

/**
 * The authorization (or card saved) that makes a pending booking RESERVED: `payment.authorized`,
 * then `reservation.reserved` with the booking the fact names (an older fact names none).
 */
function authorized(event: EventOfType<"PaymentAuthorized" | "PaymentCardSaved">): WebhookMessage[] {
  const d = event.data;
  const [state, at, told] =
    event.type === "PaymentAuthorized"
      ? (["authorized", event.data.authorizedAt, [paymentMessage(event)]] as const)
      : (["card-saved", event.data.savedAt, []] as const);
  if (d.customerId === undefined || d.booking === undefined) return [...told];
  const payment = { state, amount: d.amount, currency: d.currency };
  return [...told, reserved({ ...d, customerId: d.customerId }, at, d.booking, payment)];
}

type Reserved = WebhookData<"reservation.reserved">;

/** `reservation.reserved`: the booking RESERVED at `at` (with its payment, when it waited for it). */
const reserved = (
  ids: Pick<Reserved, "reservationId" | "parkingLotId" | "customerId">,
  at: string,
  booking: { readonly amount: number; readonly startsAt?: string; readonly endsAt?: string },
  payment?: Reserved["payment"],
): WebhookMessage =>
  message("reservation.reserved", at, {
    reservationId: ids.reservationId,
    parkingLotId: ids.parkingLotId,
    customerId: ids.customerId,
    status: "RESERVED",
    reservedAt: at,
    amount: booking.amount,
    ...(booking.startsAt ? { startsAt: booking.startsAt } : {}),
    ...(booking.endsAt ? { endsAt: booking.endsAt } : {}),
    ...(payment ? { payment } : {}),
  });

/**
 * A charge at the booking's end the provider refused: `payment.charge_failed`, saying whether the
 * customer must come back (a release or refund is no charge; an older fact without currency is not told).
 */
function chargeFailed({ data: d }: EventOfType<"PaymentStepFailed">): WebhookMessage[] {
  const { step, amount, currency } = d;
  if ((step !== "capture" && step !== "overstay") || amount === undefined || currency === undefined)
    return [];
  const asked = (d.declineCode ?? d.code) === "authentication_required";
  const reason = asked ? ("authentication_required" as const) : ("declined" as const);
  return [message("payment.charge_failed", d.failedAt, { ...d, step, amount, currency, reason })];
}

/** Every heard payment fact mapped to its message: derived from the table in schemas/webhooks.ts. */
const PAYMENT_MAPPERS = Object.fromEntries(
  (Object.keys(HEARD_PAYMENT_FACTS) as HeardPaymentFact[]).map((fact) => [fact, paymentMessage]),
) as Mappers;

const TO_MESSAGE: Mappers = {
  ...PAYMENT_MAPPERS,
  // A booking waiting for its payment (`payment`) is not RESERVED yet: its authorization says so.
  ParkingReserved: ({ data: d }) => (d.payment ? [] : reserved(d, d.reservedAt, d)),
  PaymentAuthorized: authorized,
  PaymentCardSaved: authorized,
  PaymentStepFailed: chargeFailed,
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
  ReservationCheckedIn: told("reservation.checked_in"),
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
  ReservationNoShow: told("reservation.no_show"),
  CouponIssued: told("coupon.issued"),
  CouponRevoked: told("coupon.revoked"),
  ParkingLotClosed: told("lot.closure_announced"),
  ParkingLotClosureBegan: told("lot.closure_began"),
};

/** The event types that map to a message (besides the overstay, which the clock brings). */
export const MAPPED_EVENT_TYPES: ReadonlySet<EventType> = new Set(Object.keys(TO_MESSAGE) as EventType[]);

/** The messages an event maps to, in order, each with the key its order is kept by; none: []. */
export function messagesOf(stored: StoredDomainEvent): Mapped[] {
  const mapper = TO_MESSAGE[stored.event.type] as Mapper<DomainEvent["type"]> | undefined;
  if (!mapper) return [];
  const built = mapper(stored.event as never, stored);
  return (Array.isArray(built) ? built : [built]).map((message: WebhookMessage, part) => {
    const data = message.data as { reservationId?: string; parkingLotId: string };
    return { message, orderKey: data.reservationId ?? `lot:${data.parkingLotId}`, part };
  });
}

/**
 * A fact's message as queued: its `webhook-id` (a fact's first message keeps `msg_<event id>`, the
 * next ones add their part) and its place in the log (the parts of one fact in their order, before
 * anything later of the same reservation).
 */
export const queuedAt = (
  eventId: string,
  { message, orderKey, part }: Mapped,
  position: { commit: number; prepare: number },
): QueuedMessage => ({
  webhookId: part === 0 ? `msg_${eventId}` : `msg_${eventId}_${part}`,
  message,
  orderKey,
  commit: position.commit,
  prepare: position.prepare + part / 4,
});

/** The overstay message of a car checked in on a window that ended at `endsAt` and still in. */
export const overstayMessage = (data: WebhookData<"reservation.overstaying">): WebhookMessage =>
  message("reservation.overstaying", data.endsAt, data);
