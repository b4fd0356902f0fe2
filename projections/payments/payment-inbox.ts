import { createHash } from "node:crypto";
import type { Document, IndexSpec, WriteOp } from "../../document-store/port.js";
import type { StoredDomainEvent } from "../../schemas/event-codec.js";
import { stampOf } from "../../schemas/event-stamps.js";
import { ERASED, personalDataKeys } from "../../schemas/personal-data.js";
import type { ParkingLotEvent } from "../../write-side/parking-lot/decider.js";
import { type BookingEnd, bookingEndOf } from "../../write-side/payment/lot-booking.js";
import { holdPlanOf } from "../../write-side/payment/payment-policy.js";
import type { RequestPayment } from "../../write-side/payment/payment-process.js";

/** What the payments process manager keeps beside its payments' streams, and reads off the facts it follows. */

/** What the saga hands a client that confirms the payment itself (Stripe.js): one per reservation. */
export const PAYMENT_CLIENT_SECRETS = "payment_client_secrets";
/**
 * A booking's saved payment method as older versions kept it (personal data; the card is now a sealed
 * field of the payment's facts): read only when its stream names none, deleted at settlement or erasure.
 */
export const PAYMENT_METHODS = "payment_methods";
/** A booking's saved method, and whose it is (the customer's pseudonym: their provider customer). */
export type SavedMethod = { readonly method: string; readonly customer?: string };
/** Each customer's customer at the provider, made on first need, kept against their pseudonym (`_id`). */
export const PAYMENT_CUSTOMERS = "payment_customers";

/** The customer's pseudonym, as an erasure names them (none once erased; without data keys, a hash). */
export function customerRefOf(customerId: string): string | undefined {
  if (customerId === ERASED) return undefined;
  const keys = personalDataKeys();
  return keys ? keys.pseudonym(customerId) : createHash("sha256").update(customerId).digest("base64url");
}

/**
 * A booking ended (checked out, canceled, closed, a no-show), whose settlement (or the void of an
 * intent it left unpaid) is decided on its payment's stream as the saga follows it (`endsOf`), or
 * later from its booking's due entry when that failed.
 */
export interface PendingEnd {
  /** The id (in the log) of the lot's fact that ended it: the void's key derives from it. */
  readonly eventId: string;
  readonly correlationId: string;
  readonly reservationId: string;
  readonly parkingLotId: string;
  readonly end: BookingEnd;
  /** When the lot's fact ended it (the settlement is decided as of then); absent: now. */
  readonly endedAt?: string;
}

/** The requests a batch brings, each to be recorded on its payment's stream (the lot's fact's id: the keys' root). */
export function requestsOf(
  events: readonly StoredDomainEvent[],
  now: string,
  leadHours?: number,
): { readonly command: RequestPayment; readonly correlationId: string }[] {
  return events.flatMap(({ event, id, metadata }) => {
    if (event.type !== "ParkingReserved" || !event.data.payment) return [];
    const { reservationId, parkingLotId, payment } = event.data;
    // Its spot's hold over (the log followed again, long after): the lot expired it, nothing to ask.
    if (Date.parse(payment.holdUntil) <= Date.parse(now)) return [];
    const customer = customerRefOf(event.data.customerId);
    const command: RequestPayment = {
      type: "RequestPayment",
      reservationId,
      parkingLotId,
      requestedBy: id,
      amount: payment.amount,
      currency: payment.currency,
      holdUntil: payment.holdUntil,
      ...(payment.method ? { method: payment.method } : {}),
      // A card saved to a provider customer for a stay beyond a hold's lifetime is held later (one
      // its customer confirms too: a SetupIntent on their provider customer).
      ...(customer ? { customer, ...holdPlanOf(event.data, event.data.reservedAt, leadHours) } : {}),
      now,
    };
    return [{ command, correlationId: metadata.correlationId }];
  });
}

/** The ends of bookings a batch brings, each to be decided on its payment's stream as followed. */
export function endsOf(events: readonly StoredDomainEvent[]): PendingEnd[] {
  return events.flatMap(({ event, id: eventId, metadata }): PendingEnd[] => {
    // A cancel because the payment failed settles nothing, but may leave an intent to void.
    const failed =
      event.type === "ReservationCanceled" ? ({ because: "operator-cancel" } as const) : undefined;
    const end = bookingEndOf(event as ParkingLotEvent, metadata.actor?.role) ?? failed;
    const data = event.data as { readonly reservationId?: string; readonly parkingLotId?: string };
    if (!end || data.reservationId === undefined || data.parkingLotId === undefined) return [];
    const { reservationId, parkingLotId } = data;
    const { correlationId } = metadata;
    const endedAt = stampOf(event as ParkingLotEvent);
    return [{ eventId, correlationId, reservationId, parkingLotId, end, endedAt }];
  });
}

/**
 * A customer's erasure: the saved payment methods and client secrets of the bookings it lists go, in
 * the same atomic write as the saga's checkpoint (a booking settled after finds no card: an overstay
 * is then recorded not charged), and their provider customer is marked `forgetAt` for the clock work.
 */
export function erasedOps(events: readonly StoredDomainEvent[], now: string): WriteOp[] {
  return events.flatMap(({ event }) =>
    event.type === "CustomerErased"
      ? [
          ...event.data.reservationIds.flatMap((id): WriteOp[] => [
            { op: "delete", collection: PAYMENT_METHODS, id },
            { op: "delete", collection: PAYMENT_CLIENT_SECRETS, id },
          ]),
          forgetAtOp(event.data.subject, now, 0),
        ]
      : [],
  );
}

/** A provider customer to delete (an erased customer's), at `forgetAt`, after `attempt` outages. */
export const forgetAtOp = (customer: string, forgetAt: string, attempt: number): WriteOp => ({
  op: "update",
  collection: PAYMENT_CUSTOMERS,
  id: customer,
  update: { $set: { forgetAt, attempt } },
});

/** The provider customers to delete, by when (the clock work's sweep). */
export const FORGET_INDEXES: readonly IndexSpec[] = [{ name: "by_forget_at", keys: { forgetAt: 1 } }];

/** A provider customer kept (`payment_customers`), marked to be deleted once its customer is erased. */
export interface ProviderCustomerDoc extends Document {
  readonly _id: string;
  readonly customerId: string;
  readonly forgetAt?: string;
  readonly attempt?: number;
}

/** When a step that met an outage is tried again: 0.5 s doubling up to 30 s, times `scale`, ±20 %. */
export function retryDelayMs(attempt: number, scale: number, random: () => number = Math.random): number {
  const base = Math.min(30_000, 500 * 2 ** Math.max(0, attempt - 1));
  return Math.max(1, Math.round(base * scale * (0.8 + 0.4 * random())));
}
