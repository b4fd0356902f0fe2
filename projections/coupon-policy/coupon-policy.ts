import { v5 as uuidv5 } from "uuid";
import { WrongExpectedRevisionError } from "../../event-store/errors.js";
import { endSpan, startSpan, traceparentFor, tracingOn } from "../../platform/tracing.js";
import { systemActor } from "../../schemas/actor.js";
import { encodeEvent, type StoredDomainEvent } from "../../schemas/event-codec.js";
import type { DomainEvent, EventType } from "../../schemas/events.js";
import type { Reactor, ReactorContext } from "../runtime/processor.js";

export const COUPON_POLICY = "coupon-policy";
/** The coupon policy acts on its own account: its events record it as a system actor. */
const COUPON_POLICY_ACTOR = systemActor(COUPON_POLICY);
const COUPON_NAMESPACE = "0b8f6c1e-5d0a-4f57-b1a4-7c2e9d3f8a60";

export const couponStream = (reservationId: string): string => `coupon-${reservationId}`;
/** Deterministic, so a retried issue names the same coupon. */
export const couponIdFor = (reservationId: string): string => uuidv5(reservationId, COUPON_NAMESPACE);

/**
 * A booking makes its customer a coupon recipient at once (ParkingReserved issues it, the seed's
 * flow, issue 47); a cancellation (by anyone, for any reason: a failed payment or an expired hold
 * cancels too, and so does a closure), a no-show, or a check-out whose stay was shorter than the
 * lot's coupon rule (`couponEarned: false`, decided by the lot's decider) revokes it, so booking
 * and leaving at once gains nothing. A check-out that earned it (`couponEarned: true`) issues it
 * too: between issues 34 and 47 coupons were issued there, not at booking, and the same
 * deterministic coupon id and the expected revision make the second issue a no-op.
 */
const CAUSES: ReadonlySet<EventType> = new Set([
  "ParkingReserved",
  "ReservationCheckedOut",
  "ReservationCanceled",
  "ReservationNoShow",
]);

/** What an event of the policy's types asks of the reservation's coupon, if anything. */
export function couponEffectOf(event: DomainEvent): "issue" | "revoke" | undefined {
  switch (event.type) {
    case "ParkingReserved":
      return "issue";
    case "ReservationCanceled":
    case "ReservationNoShow":
      return "revoke";
    case "ReservationCheckedOut":
      // Absent (a check-out recorded before issue 34): its coupon came at booking and stays.
      if (event.data.couponEarned === undefined) return undefined;
      return event.data.couponEarned ? "issue" : "revoke";
    default:
      return undefined;
  }
}

/**
 * The coupon policy: a reactor on the processor runtime. For each ParkingReserved it issues the
 * reservation's coupon; for each ReservationCanceled, ReservationNoShow or short stay's
 * ReservationCheckedOut it revokes the coupon that was issued, each into the stream
 * `coupon-{reservationId}`. Effects are idempotent through the stream's expected revision (issue
 * expects no stream, revoke expects exactly the issue), so handling an event again after a crash
 * or a lease takeover never duplicates anything.
 */
export const couponPolicy: Reactor = {
  name: COUPON_POLICY,
  eventTypes: CAUSES,
  async react(events, context) {
    // Coupon streams are independent per reservation: handle different reservations at once (the
    // store commits their appends together) and each reservation's own events in log order.
    const byReservation = new Map<string, StoredDomainEvent[]>();
    for (const stored of events) {
      const reservationId = (stored.event.data as { reservationId: string }).reservationId;
      const queue = byReservation.get(reservationId);
      if (queue) queue.push(stored);
      else byReservation.set(reservationId, [stored]);
    }
    await Promise.all(
      [...byReservation.values()].map(async (queue) => {
        for (const stored of queue) await handle(stored, context);
      }),
    );
  },
};

/**
 * Issues the coupon for a reservation (expects no stream) or revokes it (expects exactly the
 * issue at revision 0: never a revoke without an issue, never twice). A wrong expected revision
 * means the effect is already there, from before a crash: that is the idempotency.
 */
async function handle(stored: StoredDomainEvent, context: ReactorContext): Promise<void> {
  const effect = couponEffectOf(stored.event);
  if (effect === undefined) return;
  const issuing = effect === "issue";
  const { reservationId, parkingLotId, customerId } = stored.event.data as {
    reservationId: string;
    parkingLotId: string;
    customerId: string;
  };
  const coupon = { couponId: couponIdFor(reservationId), reservationId, parkingLotId, customerId };
  const now = new Date().toISOString();
  // The reaction is a span of the trace the cause carries, and its event carries it on (issue 22).
  const span = tracingOn()
    ? startSpan(`${COUPON_POLICY} ${stored.event.type}`, stored.metadata.traceparent, {
        attributes: { "parking.reservation": reservationId },
      })
    : undefined;
  const traceparent = traceparentFor(span, stored.metadata.traceparent);
  try {
    await react(stored, issuing, coupon, now, traceparent, context);
    endSpan(span);
  } catch (error) {
    endSpan(span, error);
    throw error;
  }
}

async function react(
  stored: StoredDomainEvent,
  issuing: boolean,
  coupon: { couponId: string; reservationId: string; parkingLotId: string; customerId: string },
  now: string,
  traceparent: string | undefined,
  context: ReactorContext,
): Promise<void> {
  const { reservationId } = coupon;
  const event: DomainEvent = issuing
    ? { type: "CouponIssued", data: { ...coupon, issuedAt: now } }
    : { type: "CouponRevoked", data: { ...coupon, revokedAt: now } };
  try {
    await context.eventStore.appendToStream(
      couponStream(reservationId),
      [
        encodeEvent(event, {
          correlationId: stored.metadata.correlationId,
          causationId: stored.id,
          actor: COUPON_POLICY_ACTOR,
          ...(traceparent ? { traceparent } : {}),
        }),
      ],
      { expectedRevision: issuing ? "no_stream" : 0 },
    );
    context.metrics?.couponActions.inc({ action: issuing ? "issued" : "revoked" });
  } catch (error) {
    if (!(error instanceof WrongExpectedRevisionError)) throw error;
    if (!issuing && error.actual === "no_stream") {
      // Log order puts a reservation (and so its issue) before its cancellation; a missing
      // issue means the coupon never existed (a booking recorded between issues 34 and 47, whose
      // coupon was to come with its stay), so there is nothing to revoke: a routine outcome.
      context.logger.debug({ reservationId }, "reservation without a coupon: nothing to revoke");
      context.metrics?.couponActions.inc({ action: "nothing-to-revoke" });
      return;
    }
    context.metrics?.couponActions.inc({ action: "already-done" });
  }
}
