import { type Map as ImmutableMap, Set as ImmutableSet, OrderedMap } from "immutable";
import { DAY_MS, REFUND_WINDOW_MS } from "../payment/payment-policy.js";
import { isClosed, type PaymentRecord } from "./payment-state.js";

/**
 * Payment records end (issue 38): the lot keeps a paid booking's record while its money may still
 * move (a step or a refund to record) and while a refund may still be asked, REFUND_WINDOW_MS
 * after the booking's money came to its end (`endedAt`), then drops it. So the state holds the
 * records of the bookings live or ended within the window, not of every paid booking ever.
 *
 * Deterministic from the events: evolve sweeps at each event's own time (never the clock), through
 * an index of the ended records by the day they ended. A record swept with something still to
 * record lingers until that is recorded, and goes with the fact that records it. Whether a refund
 * is still allowed is decided on `endedAt` itself (`refundableUntil`), not on whether the sweep
 * has run yet; a refund naming a booking whose record is gone is refused the same way (the
 * reservation's record says it was paid).
 */

export interface PaymentEnds {
  /**
   * Ended records by the day (UTC, days since the epoch) their money ended, ascending: a record
   * that ends on a day before the last one's (a clock behind) joins the last day, so the first
   * entry is always the oldest.
   */
  readonly byDay: OrderedMap<number, ImmutableSet<string>>;
  /** Swept past their window with a step or a refund still to be recorded: dropped once recorded. */
  readonly lingering: ImmutableSet<string>;
}

export const NO_PAYMENT_ENDS: PaymentEnds = { byDay: OrderedMap(), lingering: ImmutableSet() };

/** What of a lot's state holds payment records. */
export interface PaymentsHeld {
  readonly payments: ImmutableMap<string, PaymentRecord>;
  readonly paymentEnds: PaymentEnds;
}

/** Until when a refund may be asked of this record (ms), or undefined while its booking is live. */
export const refundableUntil = (record: PaymentRecord): number | undefined =>
  record.endedAt === undefined ? undefined : Date.parse(record.endedAt) + REFUND_WINDOW_MS;

/**
 * The records with `next` as reservation `id`'s: indexed by its day when its money has just ended;
 * dropped at once if it lingered and has nothing left to record.
 */
export function setPayment(held: PaymentsHeld, id: string, next: PaymentRecord): PaymentsHeld {
  const before = held.payments.get(id);
  let ends = held.paymentEnds;
  if (next.endedAt !== undefined && before?.endedAt === undefined)
    ends = indexed(ends, id, Date.parse(next.endedAt));
  if (ends.lingering.has(id) && isClosed(next))
    return {
      payments: held.payments.delete(id),
      paymentEnds: { ...ends, lingering: ends.lingering.delete(id) },
    };
  return { payments: held.payments.set(id, next), paymentEnds: ends };
}

function indexed(ends: PaymentEnds, id: string, endedAt: number): PaymentEnds {
  const last = ends.byDay.keySeq().last();
  const day = Math.max(Math.floor(endedAt / DAY_MS), last ?? Number.NEGATIVE_INFINITY);
  return { ...ends, byDay: ends.byDay.set(day, (ends.byDay.get(day) ?? ImmutableSet<string>()).add(id)) };
}

/**
 * The records at `now` (an event's time): every day whose records are all past their refund window
 * is swept, its closed records dropped and the others left lingering. Returns `held` itself when
 * nothing is due (the usual case: one look at the oldest day).
 */
export function sweepPayments(held: PaymentsHeld, now: number): PaymentsHeld {
  if (!Number.isFinite(now)) return held; // a fact without its time sweeps nothing
  let { byDay, lingering } = held.paymentEnds;
  let payments = held.payments;
  for (;;) {
    const day = byDay.keySeq().first();
    if (day === undefined || (day + 1) * DAY_MS + REFUND_WINDOW_MS > now) break;
    for (const id of byDay.get(day) ?? []) {
      const record = payments.get(id);
      if (!record) continue;
      if (isClosed(record)) payments = payments.delete(id);
      else lingering = lingering.add(id);
    }
    byDay = byDay.delete(day);
  }
  return byDay === held.paymentEnds.byDay ? held : { payments, paymentEnds: { byDay, lingering } };
}
