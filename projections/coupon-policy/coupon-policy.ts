import type { Document, WriteOp } from "../../document-store/port.js";
import { endSpan, startSpan, traceparentFor, tracingOn } from "../../platform/tracing.js";
import { systemActor } from "../../schemas/actor.js";
import type { Causation, StoredDomainEvent } from "../../schemas/event-codec.js";
import type { DomainEvent, EventType } from "../../schemas/events.js";
import {
  type CouponEvent,
  type CouponState,
  couponIdFor,
  decideEarn,
  decideReturn,
  decideRevoke,
} from "../../write-side/coupon/coupon.js";
import { appendCoupon, readCoupon } from "../../write-side/coupon/coupon-stream.js";
import { isDriveUpCustomer } from "../../write-side/parking-lot/drive-ups.js";
import type { Reactor, ReactorContext } from "../runtime/processor.js";

export const COUPON_POLICY = "coupon-policy";
/** The coupon policy acts on its own account: its events record it as a system actor. */
const COUPON_POLICY_ACTOR = systemActor(COUPON_POLICY);
/**
 * The bookings that spent a coupon and may still give it back, by reservation id: whose coupon
 * and the window's start; written with the checkpoint, taken out once the booking started or ended.
 */
export const COUPON_SPENDS = "coupon_spends";
interface Spend {
  readonly owner: string;
  readonly startsAt?: string;
}

/**
 * A booking (not a drive-up's) issues its customer a coupon at once, pending until its stay earns
 * it: from its check-in's `couponSpendableFrom`, or at a check-out that kept it. A cancellation
 * (for any reason), a no-show or a stay shorter than the lot's rule (`couponEarned: false`, the
 * lot's decider's) revokes it, so booking and leaving at once gains nothing. An earning check-out
 * issues it when there is none (as coupons came between issues 34 and 47).
 */
const CAUSES: ReadonlySet<EventType> = new Set([
  "ParkingReserved",
  "ReservationCheckedIn",
  "ReservationCheckedOut",
  "ReservationCanceled",
  "ReservationNoShow",
]);

/** What an event of the policy's types asks of the reservation's coupon, if anything. */
export function couponEffectOf(event: DomainEvent): "issue" | "earn" | "revoke" | undefined {
  switch (event.type) {
    case "ParkingReserved":
      // Issue 69: a drive-up's stay is no person's booking: it earns no coupon.
      return isDriveUpCustomer(event.data.customerId) ? undefined : "issue";
    case "ReservationCheckedIn":
      return event.data.couponSpendableFrom === undefined ? undefined : "earn";
    case "ReservationCanceled":
    case "ReservationNoShow":
      return "revoke";
    case "ReservationCheckedOut":
      // Absent (a check-out recorded before issue 34): its coupon came at booking and stays.
      if (event.data.couponEarned === undefined) return undefined;
      return event.data.couponEarned ? "earn" : "revoke";
    default:
      return undefined;
  }
}

/** The coupon policy: acts on each coupon's stream as CAUSES says, through its expected revision (idempotent). */
export const couponPolicy: Reactor = {
  name: COUPON_POLICY,
  eventTypes: CAUSES,
  async react(events, context) {
    // Reservations at once (their appends commit together), each one's events in log order.
    const byReservation = new Map<string, StoredDomainEvent[]>();
    for (const stored of events) {
      const reservationId = (stored.event.data as { reservationId: string }).reservationId;
      const queue = byReservation.get(reservationId);
      if (queue) queue.push(stored);
      else byReservation.set(reservationId, [stored]);
    }
    const spends = new Map<string, Spend | null>(); // the batch's changes (null: taken out)
    await Promise.all(
      [...byReservation].map(async ([reservationId, queue]) => {
        for (const stored of queue) {
          await handle(stored, context);
          await followSpend(stored, reservationId, spends, context);
        }
      }),
    );
    return [...spends].map(
      ([id, spend]): WriteOp =>
        spend
          ? { op: "replace", collection: COUPON_SPENDS, id, document: { ...spend } }
          : { op: "delete", collection: COUPON_SPENDS, id },
    );
  },
};

/**
 * A booking that spent a coupon is remembered until it starts or ends; its cancel before it
 * started (before its window, or an open-ended one's check-in) gives the coupon back.
 */
async function followSpend(
  stored: StoredDomainEvent,
  reservationId: string,
  spends: Map<string, Spend | null>,
  context: ReactorContext,
): Promise<void> {
  const { event } = stored;
  if (event.type === "ParkingReserved") {
    const { coupon, startsAt } = event.data;
    if (coupon) spends.set(reservationId, { owner: coupon.reservationId, ...(startsAt ? { startsAt } : {}) });
    return;
  }
  const spend = spends.has(reservationId)
    ? spends.get(reservationId)
    : await context.documentStore.findById<Document & Spend>(COUPON_SPENDS, reservationId);
  if (!spend) return;
  spends.set(reservationId, null);
  if (event.type !== "ReservationCanceled") return;
  if (spend.startsAt !== undefined && Date.parse(event.data.canceledAt) >= Date.parse(spend.startsAt)) return;
  // The coupon spent is ISSUED again (nothing when it is back, or revoked since).
  await decideOnCoupon(context, stored, spend.owner, (state, now) =>
    decideReturn(state, reservationId, "booking-canceled", now),
  );
}

type Decide = (state: CouponState, now: string) => CouponEvent | undefined;

/** What each fact the policy appends counts as (`parking_coupon_policy_actions_total`). */
const ACTION_OF = {
  CouponIssued: "issued",
  CouponEarned: "earned",
  CouponRevoked: "revoked",
  CouponReturned: "returned",
} as const;

/**
 * Decides on the coupon's stream as it is, appends what is decided at the revision it was decided
 * on, and decides again when the coupon changed meanwhile (spent, returned, issued by a run before
 * a crash or a lease takeover). It runs as a span of the trace its cause carries, which its event
 * carries on (issue 22).
 */
async function decideOnCoupon(
  context: ReactorContext,
  stored: StoredDomainEvent,
  coupon: string,
  decide: Decide,
): Promise<{ readonly state: CouponState; readonly appended: boolean }> {
  const { reservationId } = stored.event.data as { reservationId: string };
  const span = tracingOn()
    ? startSpan(`${COUPON_POLICY} ${stored.event.type}`, stored.metadata.traceparent, {
        attributes: { "parking.reservation": reservationId },
      })
    : undefined;
  const traceparent = traceparentFor(span, stored.metadata.traceparent);
  const causation: Causation = {
    correlationId: stored.metadata.correlationId,
    causationId: stored.id,
    actor: COUPON_POLICY_ACTOR,
    ...(traceparent ? { traceparent } : {}),
  };
  let failure: unknown;
  try {
    for (;;) {
      const { state, revision } = await readCoupon(context.eventStore, coupon);
      const event = decide(state, new Date().toISOString());
      if (!event) return { state, appended: false };
      if (await appendCoupon(context.eventStore, event, revision, causation)) {
        context.metrics?.couponActions.inc({ action: ACTION_OF[event.type as keyof typeof ACTION_OF] });
        return { state, appended: true };
      }
    }
  } catch (error) {
    failure = error;
    throw error;
  } finally {
    endSpan(span, failure);
  }
}

/** What one event of the policy's types decides on its reservation's coupon (CAUSES), if anything. */
function decisionOf(event: DomainEvent, effect: "issue" | "earn" | "revoke"): Decide | undefined {
  const { reservationId, parkingLotId, customerId } = event.data as {
    reservationId: string;
    parkingLotId: string;
    customerId: string;
  };
  // Issued once: a stream there already was issued before a crash, or by a check-out recorded
  // between issues 34 and 47.
  const issue =
    (untilEarned: boolean): Decide =>
    (state, issuedAt) =>
      state.kind !== "none"
        ? undefined
        : {
            type: "CouponIssued",
            data: {
              couponId: couponIdFor(reservationId),
              reservationId,
              parkingLotId,
              customerId,
              issuedAt,
              ...(untilEarned ? { untilEarned } : {}),
            },
          };
  if (effect === "issue") return issue(true);
  if (effect === "revoke") return decideRevoke;
  // Earned by its stay, once (a revoked one stays revoked).
  if (event.type === "ReservationCheckedIn" && event.data.couponSpendableFrom) {
    const from = event.data.couponSpendableFrom;
    return (state, now) => decideEarn(state, "check-in", from, now);
  }
  if (event.type !== "ReservationCheckedOut") return undefined;
  // A booking recorded between issues 34 and 47 has no coupon yet: its earning check-out issues
  // it, earned (as those check-outs did); any other is earned now.
  const { checkedOutAt } = event.data;
  return (state, now) =>
    state.kind === "none" ? issue(false)(state, now) : decideEarn(state, "check-out", checkedOutAt, now);
}

/** What one event of the policy's types does to its reservation's coupon (CAUSES). */
async function handle(stored: StoredDomainEvent, context: ReactorContext): Promise<void> {
  const effect = couponEffectOf(stored.event);
  const decide = effect && decisionOf(stored.event, effect);
  if (!effect || !decide) return;
  const { reservationId } = stored.event.data as { reservationId: string };
  const { state, appended } = await decideOnCoupon(context, stored, reservationId, decide);
  if (effect === "revoke" && state.kind === "none") {
    // Log order puts a reservation (and so its issue) before its cancellation; a missing issue
    // means the coupon never existed (a booking recorded between issues 34 and 47, whose coupon
    // was to come with its stay), so there is nothing to revoke: a routine outcome.
    context.logger.debug({ reservationId }, "reservation without a coupon: nothing to revoke");
    context.metrics?.couponActions.inc({ action: "nothing-to-revoke" });
  } else if (!appended && effect !== "earn") context.metrics?.couponActions.inc({ action: "already-done" });
}
