import type { EventOfType } from "../../schemas/events.js";

/**
 * The money ledger of one reservation, one entry per provider payment (intent). The invariant, for
 * every intent: nothing is captured or released beyond what was authorized, once settled
 * authorized = captured + released, and refunds never exceed captures. The property tests, the
 * chaos test and the `parking_payment_ledger_violations` metric all read this one function.
 */

export type PaymentFact =
  | { readonly kind: "authorized"; readonly intentId: string; readonly amount: number }
  | { readonly kind: "captured"; readonly intentId: string; readonly amount: number }
  | { readonly kind: "released"; readonly intentId: string; readonly amount: number }
  | { readonly kind: "refunded"; readonly intentId: string; readonly amount: number }
  /** An off-session charge: authorized and captured in one step. */
  | { readonly kind: "charged"; readonly intentId: string; readonly amount: number };

/** The payment facts that move money, each as its kind of ledger fact. */
const KIND_OF = {
  PaymentAuthorized: "authorized",
  PaymentCaptured: "captured",
  PaymentReleased: "released",
  OverstayCharged: "charged",
  PaymentRefunded: "refunded",
} as const;
export type MoneyEvent = EventOfType<keyof typeof KIND_OF>;

/** The money a payment fact moves; a lapsed hold's capture, charged off-session, is its own (`charged`). */
export const ledgerFactOf = ({ type, data }: MoneyEvent): PaymentFact => ({
  kind: type === "PaymentCaptured" && data.lapsedIntentId !== undefined ? "charged" : KIND_OF[type],
  intentId: data.intentId,
  amount: data.amount,
});

const ZERO = { authorized: 0, captured: 0, released: 0, refunded: 0 };
/** An amount per kind: authorized, captured, released, refunded. */
type Totals = Record<keyof typeof ZERO, number>;
export type IntentLedger = { readonly intentId: string } & Readonly<Totals>;
export type ReservationLedger = { readonly intents: readonly IntentLedger[] } & Readonly<Totals>;

/** The totals of a reservation's payment facts, per intent and in all. */
export function ledgerOf(facts: readonly PaymentFact[]): ReservationLedger {
  const byIntent = new Map<string, Totals>();
  const total = { ...ZERO };
  for (const fact of facts) {
    const row = byIntent.get(fact.intentId) ?? { ...ZERO };
    for (const into of [row, total]) {
      if (fact.kind === "charged") {
        into.authorized += fact.amount;
        into.captured += fact.amount;
      } else into[fact.kind] += fact.amount;
    }
    byIntent.set(fact.intentId, row);
  }
  return { intents: [...byIntent].map(([intentId, row]) => ({ intentId, ...row })), ...total };
}

/**
 * Each broken invariant of a reservation's ledger, as a sentence naming the intent. `settled`: each
 * authorization must be fully captured or released (before that, part may still be held).
 */
export function ledgerViolations(facts: readonly PaymentFact[], settled: boolean): string[] {
  const problems: string[] = [];
  for (const row of ledgerOf(facts).intents) {
    const used = row.captured + row.released;
    if (used > row.authorized)
      problems.push(
        `${row.intentId}: captured ${row.captured} + released ${row.released} exceed the authorized ${row.authorized}`,
      );
    else if (settled && used !== row.authorized)
      problems.push(
        `${row.intentId}: settled, but captured ${row.captured} + released ${row.released} leave ${row.authorized - used} of the authorized ${row.authorized} held`,
      );
    if (row.refunded > row.captured)
      problems.push(`${row.intentId}: refunded ${row.refunded} exceeds the captured ${row.captured}`);
  }
  return problems;
}

/** A refund decided and not yet recorded: the intent (charge) it gives back from, and how much. */
export interface RefundUnderWay {
  readonly intentId: string;
  readonly amount: number;
}

/**
 * The refunds under way less the one just recorded. A failed refund that does not say its amount
 * frees the smallest under way: a later refund may be refused a little early, never allowed beyond
 * what was captured (freeing the oldest let one past it when the failed one was smaller).
 */
export const lessOutstanding = (
  outstanding: readonly RefundUnderWay[],
  amount?: number,
  intentId?: string,
): RefundUnderWay[] => {
  const amounts = outstanding.map((r) => r.amount);
  const exact = outstanding.findIndex((r) => r.amount === amount && r.intentId === intentId);
  const at = exact >= 0 ? exact : amounts.indexOf(amount === undefined ? Math.min(...amounts) : amount);
  return outstanding.filter((_, i) => i !== Math.max(0, at));
};

/**
 * What each charge can still give back, in the order taken: captured less refunded and under way
 * (Stripe refunds a charge at most what it took: https://docs.stripe.com/api/refunds/create).
 */
export function refundableByIntent(
  facts: readonly PaymentFact[],
  underWay: readonly RefundUnderWay[],
): RefundUnderWay[] {
  return ledgerOf(facts).intents.flatMap(({ intentId, captured, refunded }) => {
    const pending = underWay.filter((r) => r.intentId === intentId).reduce((sum, r) => sum + r.amount, 0);
    const amount = captured - refunded - pending;
    return amount > 0 ? [{ intentId, amount }] : [];
  });
}

/** A refund of `amount` split over the charges that took the money, each giving back at most what it can. */
export function refundLegs(refundable: readonly RefundUnderWay[], amount: number): RefundUnderWay[] {
  const legs: RefundUnderWay[] = [];
  let left = amount;
  for (const { intentId, amount: most } of refundable) {
    if (left <= 0) break;
    legs.push({ intentId, amount: Math.min(left, most) });
    left -= Math.min(left, most);
  }
  return legs;
}
