import { createHash } from "node:crypto";
import type { Document, IndexSpec, WriteOp } from "../../document-store/port.js";
import type { StoredDomainEvent } from "../../schemas/event-codec.js";
import { stampOf } from "../../schemas/event-stamps.js";
import { ERASED, personalDataKeys } from "../../schemas/personal-data.js";
import type { ParkingLotEvent } from "../../write-side/parking-lot/decider.js";
import { type BookingEnd, bookingEndOf } from "../../write-side/payment/lot-booking.js";
import { holdPlanOf } from "../../write-side/payment/payment-policy.js";
import type { RequestPayment } from "../../write-side/payment/payment-process.js";

/**
 * The payments process manager's durable to-do list (issue 38): one plan per fact that moves
 * money (a booking that asks to be paid, a settlement the lot decided), written by the saga in the
 * same atomic write as its checkpoint (so a kill -9 loses none and queues none twice: the id is
 * the fact's event id, and a plan written again changes nothing), worked off by its clock work,
 * and taken off once every step's outcome is recorded on the lot.
 */
export const PAYMENT_PLANS = "payment_plans";
export const PLAN_INDEXES: readonly IndexSpec[] = [{ name: "by_next_attempt", keys: { nextAttemptAt: 1 } }];

/** What the saga hands a client that confirms the payment itself (Stripe.js): one per reservation. */
export const PAYMENT_CLIENT_SECRETS = "payment_client_secrets";
/**
 * A booking's saved payment method as 2374f50/05b88da kept it (personal data). Issue 68 item 4: no
 * longer written (the card is a sealed field of the payment's own facts, payment-next.ts `card`);
 * read only for a booking whose stream names no card, and deleted at its settlement or erasure.
 */
export const PAYMENT_METHODS = "payment_methods";
/** A booking's saved method, and whose it is (the customer's pseudonym: their provider customer). */
export type SavedMethod = { readonly method: string; readonly customer?: string };
/**
 * Issue 71: each customer's customer at the provider (Stripe: a Customer), made on first need,
 * kept against the customer's pseudonym (`_id`: as CustomerErased names them), deleted at the
 * provider when they are erased.
 */
export const PAYMENT_CUSTOMERS = "payment_customers";

/**
 * The customer's pseudonym, under which their provider customer is kept (none once erased): the
 * data keys' keyed pseudonym, the one an erasure names; without keys installed (a codec's test), a
 * hash.
 */
export function customerRefOf(customerId: string): string | undefined {
  if (customerId === ERASED) return undefined;
  const keys = personalDataKeys();
  return keys ? keys.pseudonym(customerId) : createHash("sha256").update(customerId).digest("base64url");
}

interface PlanBase extends Document {
  /** The id (in the log) of the fact the plan carries out: every idempotency key derives from it. */
  readonly eventId: string;
  readonly reservationId: string;
  readonly parkingLotId: string;
  readonly currency: string;
  readonly correlationId: string;
  /** Attempts that ended in a provider or store outage so far. */
  readonly attempt: number;
  readonly nextAttemptAt: string;
}

/** Authorize the booking's amount (ParkingReserved with `payment`). */
export interface AuthorizePlan extends PlanBase {
  readonly kind: "authorize";
  readonly amount: number;
  /** A saved payment method (confirmed server-side); absent: the client confirms (clientSecret). */
  readonly method?: string;
  /** With a saved method: the customer's pseudonym (the method is saved to their provider customer). */
  readonly customer?: string;
  /**
   * Issue 71: the stay ends beyond a hold's lifetime (holdPlanOf): the saved method is saved to the
   * customer without holding money, and held off-session at this time (PaymentCardSaved: payment-next.ts `hold`).
   */
  readonly authorizeAt?: string;
}

/**
 * Issue 47: a booking was canceled or a no-show: if it ended unpaid, the intent it recorded is
 * canceled at the provider. Issue 68 item 4: decided on the payment's stream as the saga follows
 * the end (`endsOf`: PaymentVoidDecided), never queued; a document of this kind is one an older
 * version queued, carried out as that end.
 */
export interface VoidPlan extends PlanBase {
  readonly kind: "void";
}

/**
 * Issue 48: a booking ended (checked out, canceled, closed, a no-show): if it was paid, its
 * settlement is decided on its payment's stream, by what the lot's end event says. No provider call:
 * the settlement decided is a fact the saga then carries out (payment-next.ts). Issue 68 item 4: decided
 * while the saga follows the end event (`endsOf`), never queued; a document of this kind is one
 * 4d7e845 queued, and its tick decides it the same way.
 */
export interface EndPlan extends PlanBase {
  readonly kind: "end";
  readonly end: BookingEnd;
  /** When the lot's fact ended it (issue 68: the settlement is decided as of then); absent in older plans. */
  readonly endedAt?: string;
}

/** Issue 71: an erased customer's provider customer is deleted (with the methods saved to it). */
export interface ForgetPlan extends PlanBase {
  readonly kind: "forget";
  /** The erased customer's pseudonym (CustomerErased's subject). */
  readonly customer: string;
}

export type PaymentPlan = AuthorizePlan | VoidPlan | EndPlan | ForgetPlan;

/** How a lot's end event ended a booking, for its payment's settlement (undefined: not a paid end). */
export const bookingEndOfStored = (stored: StoredDomainEvent): BookingEnd | undefined =>
  bookingEndOf(stored.event as ParkingLotEvent, stored.metadata.actor?.role);

/**
 * Issue 68 item 4: the requests a batch brings (a booking that asks to be paid), each to be recorded
 * on its payment's stream (PaymentRequested, the process's inbox; a repeat records nothing), its
 * card and customer as the authorize plans carried them, the lot's fact's id the keys' root.
 */
export function requestsOf(
  events: readonly StoredDomainEvent[],
  now: string,
  leadHours?: number,
): { readonly command: RequestPayment; readonly correlationId: string }[] {
  return events.flatMap(({ event, id, metadata }) => {
    if (event.type !== "ParkingReserved" || !event.data.payment) return [];
    const { reservationId, parkingLotId, payment } = event.data;
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
      // Issue 71: a card saved to a provider customer for a stay beyond a hold's lifetime is held
      // later (one its customer confirms too: a SetupIntent on their provider customer).
      ...(customer ? { customer, ...holdPlanOf(event.data, event.data.reservedAt, leadHours) } : {}),
      now,
    };
    return [{ command, correlationId: metadata.correlationId }];
  });
}

/** A plan's id, cause and first attempt, from the fact it carries out. */
const planBase = (stored: StoredDomainEvent, now: string) => ({
  _id: stored.id,
  eventId: stored.id,
  correlationId: stored.metadata.correlationId,
  attempt: 0,
  nextAttemptAt: now,
});

/**
 * Issue 68 item 4: the ends of bookings a batch brings, each to be decided on its payment's stream
 * while the saga follows it (the process's inbox: a repeat after a crash decides nothing), as the
 * end plan an older version queued (`_id`: its id then).
 */
export function endsOf(events: readonly StoredDomainEvent[], now: string): EndPlan[] {
  return events.flatMap((stored): EndPlan[] => {
    // A cancel because the payment failed settles nothing, but may leave an intent to void.
    const failed =
      stored.event.type === "ReservationCanceled" ? ({ because: "operator-cancel" } as const) : undefined;
    const end = bookingEndOfStored(stored) ?? failed;
    const data = stored.event.data as { readonly reservationId?: string; readonly parkingLotId?: string };
    if (!end || data.reservationId === undefined || data.parkingLotId === undefined) return [];
    const { reservationId, parkingLotId } = data;
    const base = { ...planBase(stored, now), _id: `${stored.id}:end`, reservationId, parkingLotId };
    return [{ ...base, kind: "end", end, endedAt: stampOf(stored.event as ParkingLotEvent), currency: "" }];
  });
}

/**
 * A customer's erasure (issue 36): the saved payment methods and client secrets of the bookings it
 * lists go, in the same atomic write as the saga's checkpoint. Bookings under way keep their card
 * until carried out: one settled after it finds none (its fact's card reads `erased`), so an
 * overstay is then recorded as not charged (`no_saved_payment_method`). Issue 71, their provider
 * customer goes too: issue 68 item 4, its `payment_customers` document is marked `forgetAt` (no
 * document: none was made), which the clock work sweeps (`forgetDue`): deleted at the provider, then here.
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

/** Queues a plan; written again (a batch handled twice) it changes nothing. */
export const queuePlanOp = (plan: PaymentPlan): WriteOp => {
  const { _id, ...fields } = plan;
  return { op: "update", collection: PAYMENT_PLANS, id: _id, upsert: true, update: { $setOnInsert: fields } };
};

/**
 * When a plan that met an outage is tried again: 0.5 s doubling up to 30 s, times `scale`
 * (PAYMENT_RETRY_SCALE: tests shorten it), spread by ±20 %.
 */
export function retryDelayMs(attempt: number, scale: number, random: () => number = Math.random): number {
  const base = Math.min(30_000, 500 * 2 ** Math.max(0, attempt - 1));
  return Math.max(1, Math.round(base * scale * (0.8 + 0.4 * random())));
}
