import { chargeMinimum } from "../../schemas/charge-minimums.js";
import type { PaymentTerms } from "../../schemas/common.js";
import { roundDownToStep } from "../../schemas/currencies.js";

/**
 * What a reservation's end does to the money authorized for it, by the lot's terms. Every
 * settlement splits the authorization exactly (`capture + release === authorized`); what it could
 * not cover is charged off-session. Amounts are in the currency's minor unit; a percentage is
 * rounded down (the customer never pays a fraction more than the policy says).
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

/** A check-out: the stay's price and its overstay charge are owed; the rest is charged off-session. */
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
export const noShowSettlement = (terms: PaymentTerms, authorized: number): Settlement =>
  split(authorized, Math.min(terms.noShowFee, authorized));

/** What may still be refunded of a payment: what was captured less what was refunded already. */
export const refundable = (captured: number, refunded: number): number => Math.max(0, captured - refunded);

/**
 * How long after a paid booking's money ended a refund may still be asked: issuers refuse refunds
 * of old charges, and 180 days is a common limit among providers; counted from the decision (the
 * capture it asks for comes after it). docs/domain.md, "Payments".
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

/**
 * A settlement the provider can carry out: in the amounts the currency is charged in (KWD in tens,
 * ISK in hundreds), rounded down, and a charge below its smallest waived (it would be refused,
 * `amount_too_small`). What a capture leaves is released, so `capture + release = authorized` still
 * holds; an off-session charge is decided only when the capture takes the whole authorization.
 */
export function chargeableIn(
  settlement: Settlement,
  currency: string,
): Settlement & { readonly waived: number } {
  const minimum = chargeMinimum(currency);
  const inSteps = (amount: number) => roundDownToStep(amount, currency);
  const chargeable = (amount: number) => (amount > 0 && amount < minimum ? 0 : amount);
  const capture = chargeable(inSteps(settlement.capture));
  const offSession = chargeable(inSteps(settlement.offSession));
  const waived = inSteps(settlement.capture) - capture + inSteps(settlement.offSession) - offSession;
  return { capture, release: settlement.release + settlement.capture - capture, offSession, waived };
}

/** What a booking's end settles of `authorized`, as its PaymentSettlementDecided will (a cancel's answer). */
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
 * A booking whose saved card holds nothing yet: settled as if `asked` were held (as the cancel's
 * answer states it), what that takes charged to the card off-session.
 */
export function unheldSettlementOf(ask: SettleAsk, asked: number, at: string): Settlement {
  const { capture, offSession } = settlementOf(ask, asked, at);
  return { capture: 0, release: 0, offSession: capture + offSession };
}

/** How long an online card hold lasts: https://docs.stripe.com/payments/place-a-hold-on-a-payment-method */
export const CARD_HOLD_LIFETIME_MS = 7 * DAY_MS;

/** How long before a stay booked beyond a hold's lifetime its saved card is held (docs/operations.md). */
export const AUTHORIZE_BEFORE_STAY_HOURS = 24;

/**
 * The horizon rule: a booking is held when made only if its stay ends within a hold's lifetime (an
 * open-ended one too); otherwise its card is saved and held `leadHours` before the stay (`authorizeAt`).
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
