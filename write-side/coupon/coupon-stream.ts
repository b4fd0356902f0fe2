import { WrongExpectedRevisionError } from "../../event-store/errors.js";
import type { EventStore } from "../../event-store/port.js";
import { type Causation, decodeEvent, encodeEvent } from "../../schemas/event-codec.js";
import {
  COUPON_EVENT_TYPES,
  type CouponEvent,
  type CouponState,
  couponStream,
  evolveCoupon,
  noCoupon,
} from "./coupon.js";

/** Reads the coupon of a reservation (its stream holds a handful of events), with its revision (-1: no stream). */
export async function readCoupon(
  eventStore: EventStore,
  reservationId: string,
): Promise<{ readonly state: CouponState; readonly revision: number }> {
  let state = noCoupon;
  let revision = -1;
  for await (const recorded of eventStore.readStream(couponStream(reservationId))) {
    revision = recorded.revision;
    if (!COUPON_EVENT_TYPES.has(recorded.type)) continue;
    state = evolveCoupon(state, decodeEvent(recorded).event as CouponEvent);
  }
  return { state, revision };
}

/**
 * Appends one fact to the coupon's stream, expecting the revision it was decided at. False when a
 * concurrent change (another booking spending it, a revocation) came first: the caller decides
 * again on what is there now.
 */
export async function appendCoupon(
  eventStore: EventStore,
  event: CouponEvent,
  revision: number,
  causation: Causation,
): Promise<boolean> {
  try {
    await eventStore.appendToStream(couponStream(event.data.reservationId), [encodeEvent(event, causation)], {
      expectedRevision: revision < 0 ? "no_stream" : revision,
    });
    return true;
  } catch (error) {
    if (error instanceof WrongExpectedRevisionError) return false;
    throw error;
  }
}
