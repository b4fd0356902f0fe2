import { chargeMinimum } from "../../schemas/charge-minimums.js";
import type { PaymentTerms } from "../../schemas/common.js";
import { roundDownToStep } from "../../schemas/currencies.js";

/**
 * What a reservation's end does to the money authorized for it (issue 38), by the lot's terms:
 * pure rules the payments process manager follows and the read side never restates. Every
 * settlement splits the authorization exactly: `capture + release === authorized`, and what the
 * authorization could not cover (an overstay, an open-ended stay priced over its deposit) is
 * charged off-session (`offSession`).
 *
 * Amounts are integers in the currency's minor unit; a percentage is rounded down (the customer
 * never pays a fraction more than the policy says).
 */

export interface Settlement {
  /** Taken from the authorization. */
  readonly capture: number;
  /** Let go from the authorization. */
  readonly release: number;
  /** Charged beyond the authorization, to the same payment method, without the customer. */
  readonly offSession: number;
}

const split = (authorized: number, owed: number): Settlement => {
  const capture = Math.max(0, Math.min(owed, authorized));
  return { capture, release: authorized - capture, offSession: Math.max(0, owed - authorized) };
};

/**
 * A check-out: the stay's price (a window's quote, an open-ended stay's price at check-out) and
 * its overstay charge are owed; the authorization (the quote, or an open-ended booking's deposit)
 * covers what it can, the rest is charged off-session.
 */
export const checkOutSettlement = (authorized: number, price: number, overstayCharge = 0): Settlement =>
  split(authorized, price + overstayCharge);

/**
 * A cancel. An operator's (or a closure's) costs the customer nothing: everything is released. A
 * customer's is free until `freeUntilMinutesBefore` before the window's start, then costs
 * `feePercent` of the authorization; an open-ended booking (no start) is canceled free.
 */
export function cancelSettlement(
  terms: PaymentTerms,
  authorized: number,
  cancel: { readonly by: "customer" | "operator"; readonly at: number; readonly startsAt?: number },
): Settlement {
  if (cancel.by === "operator" || cancel.startsAt === undefined) return split(authorized, 0);
  const freeUntil = cancel.startsAt - terms.cancellation.freeUntilMinutesBefore * 60_000;
  if (cancel.at <= freeUntil) return split(authorized, 0);
  return split(authorized, Math.floor((authorized * terms.cancellation.feePercent) / 100));
}

/** A no-show: the lot's no-show fee, at most what was authorized (never charged off-session). */
export const noShowSettlement = (terms: PaymentTerms, authorized: number): Settlement => {
  const capture = Math.min(terms.noShowFee, authorized);
  return { capture, release: authorized - capture, offSession: 0 };
};

/**
 * Issue 47: a settlement the provider can carry out. A capture or an off-session charge below the
 * smallest charge the provider accepts in the currency (`minimum`, schemas/charge-minimums.ts)
 * would be refused (`amount_too_small`): it is waived instead, the customer keeping it (a capture
 * waived is released with the rest of the authorization). No capture can take an off-session
 * charge on: one is decided only when the capture takes the whole authorization. docs/domain.md.
 */
export function withinMinimum(
  settlement: Settlement,
  minimum: number,
): Settlement & { readonly waived: number } {
  const small = (amount: number) => amount > 0 && amount < minimum;
  const offSession = small(settlement.offSession) ? 0 : settlement.offSession;
  const capture = small(settlement.capture) ? 0 : settlement.capture;
  const waived = settlement.offSession - offSession + (settlement.capture - capture);
  return { capture, release: settlement.release + (settlement.capture - capture), offSession, waived };
}

/**
 * Issue 71: a settlement in the amounts the currency can be charged in (schemas/currencies.ts: KWD
 * in tens, ISK in hundreds), rounded down: what a capture leaves is released with the rest of the
 * authorization (`capture + release = authorized` still holds); an off-session charge's remainder
 * is not charged. KRW, USD and every other step-1 currency are unchanged.
 */
export function inSteps(settlement: Settlement, currency: string): Settlement {
  const capture = roundDownToStep(settlement.capture, currency);
  return {
    capture,
    release: settlement.release + (settlement.capture - capture),
    offSession: roundDownToStep(settlement.offSession, currency),
  };
}

/** What may still be refunded of a payment: what was captured less what was refunded already. */
export const refundable = (captured: number, refunded: number): number => Math.max(0, captured - refunded);

/**
 * How long after a paid booking ended (its settlement was decided, or its payment failed or was
 * canceled unpaid) a refund may still be asked: 180 days. The lot keeps the booking's payment record
 * that long (and longer while a step or refund is still to be recorded), then drops it; a refund
 * asked later is refused `RefundWindowPassed`. Stripe's refund guide sets no single deadline for
 * card refunds, but issuers and several payment methods refuse refunds of old charges, and 180 days
 * is a common limit among providers: a conservative window, counted from the decision (the capture
 * it asks for comes after it). docs/domain.md, "Payments".
 */
export const REFUND_WINDOW_DAYS = 180;
export const DAY_MS = 86_400_000;
export const REFUND_WINDOW_MS = REFUND_WINDOW_DAYS * DAY_MS;

/** Why a settlement is decided, and what the lot knows that it is decided by. */
export type SettleAsk =
  | { readonly because: "check-out"; readonly price: number; readonly overstayCharge: number }
  | {
      readonly because: "customer-cancel" | "operator-cancel" | "closure";
      readonly terms: PaymentTerms;
      readonly startsAt?: string;
    }
  | { readonly because: "no-show"; readonly terms: PaymentTerms };

/** Issues 47, 71: a settlement in the currency's steps, what is below its smallest charge waived. */
export const chargeableIn = (settlement: Settlement, currency: string) =>
  withinMinimum(inSteps(settlement, currency), chargeMinimum(currency));

/**
 * Issue 68: what a booking's end settles of `authorized`, by what the lot knows (`ask`), as its
 * PaymentSettlementDecided will say: the cancel's answer states it before the payment records it.
 */
export const settlementFor = (ask: SettleAsk, authorized: number, currency: string, at: string) =>
  chargeableIn(settlementOf(ask, authorized, at), currency);

export function settlementOf(ask: SettleAsk, authorized: number, at: string): Settlement {
  switch (ask.because) {
    case "check-out":
      return checkOutSettlement(authorized, ask.price, ask.overstayCharge);
    case "no-show":
      return noShowSettlement(ask.terms, authorized);
    default:
      return cancelSettlement(ask.terms, authorized, {
        by: ask.because === "customer-cancel" ? "customer" : "operator",
        at: Date.parse(at),
        ...(ask.startsAt !== undefined ? { startsAt: Date.parse(ask.startsAt) } : {}),
      });
  }
}

/**
 * Issue 71: the settlement of a booking whose saved card holds nothing yet (its hold comes a stated
 * time before the stay, or waits for its customer): settled as if `asked` were held, as the cancel's
 * answer states it (lot-booking.ts), and what that takes is charged to the saved card off-session;
 * nothing to capture nor release.
 */
export function unheldSettlementOf(ask: SettleAsk, asked: number, at: string): Settlement {
  const { capture, offSession } = settlementOf(ask, asked, at);
  return { capture: 0, release: 0, offSession: capture + offSession };
}

/**
 * Issue 71: how long a card authorization holds its amount before it lapses: seven days for an
 * online (customer-initiated, card-not-present) card payment at Stripe
 * (https://docs.stripe.com/payments/place-a-hold-on-a-payment-method, "Authorization validity windows").
 */
export const CARD_HOLD_LIFETIME_MS = 7 * DAY_MS;

/**
 * Issue 71: how long before a stay booked beyond a hold's lifetime its saved card is held
 * off-session (AUTHORIZE_BEFORE_STAY_HOURS, docs/operations.md): by default a day before it starts.
 */
export const AUTHORIZE_BEFORE_STAY_HOURS = 24;

/**
 * Issue 71, the horizon rule: a booking is authorized when it is made only if its stay ends within
 * a hold's lifetime from then (an open-ended stay, whose end nobody knows, is held at once as
 * before); otherwise its card is saved without holding money and held off-session `leadHours`
 * before the stay starts (`authorizeAt`), or at once when that time has come already.
 */
export function holdPlanOf(
  booking: { readonly startsAt?: string; readonly endsAt?: string },
  now: string,
  leadHours: number = AUTHORIZE_BEFORE_STAY_HOURS,
): { readonly authorizeAt?: string } {
  const at = Date.parse(now);
  if (booking.endsAt === undefined || Date.parse(booking.endsAt) - at <= CARD_HOLD_LIFETIME_MS) return {};
  const authorizeAt = Date.parse(booking.startsAt ?? booking.endsAt) - leadHours * 3_600_000;
  return authorizeAt > at ? { authorizeAt: new Date(authorizeAt).toISOString() } : {};
}
