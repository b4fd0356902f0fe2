import type { ControlCenterView, ReservationCanceled, ReservationView } from "./api.js";
import { count, majorAmount, moneyIn } from "./format.js";
import { t } from "./i18n.js";

/** A paid booking's payment, as the reservation view carries it (absent when payments are off). */
export type Payment = NonNullable<ReservationView["payment"]>;

/**
 * The payment in words, from the view's figures only: what it holds, captured, refunded, released,
 * in the currency's major unit as the day's money is (`12.50 USD`, `1,000 KRW`).
 */
export function paymentWords(p: Payment): string {
  const cur = ` ${p.currency}`;
  const money = (amount: number) => majorAmount(amount, p.currency);
  switch (p.state) {
    case "pending":
      return t("payment.pending");
    case "authorized":
      return t("payment.authorized", { amount: `${money(p.authorized)}${cur}` });
    case "lapsed":
      return t("payment.lapsed");
    case "card-saved":
      return t("payment.cardSaved");
    case "action-required":
      return t("payment.actionRequired");
    case "captured":
    case "partially_refunded":
    case "refunded":
      return p.refunded
        ? t("payment.capturedRefunded", { amount: money(p.captured), refunded: `${money(p.refunded)}${cur}` })
        : t("payment.captured", { amount: `${money(p.captured)}${cur}` });
    case "released":
      return t("payment.released", { amount: `${money(p.released)}${cur}` });
    case "failed":
      return t("payment.failed");
  }
}

/**
 * A cancel in words, from its answer only (issue 47): the fee the decider kept by the lot's policy
 * and what it released or refunded, each as the answer says it (`fee 1,500 KRW kept · 1,500 KRW
 * released`). Nothing about money when the cancel decided none (payments off, nothing authorized).
 */
export function canceledWords(carNumber: string, answer: ReservationCanceled): string {
  const s = answer.settlement;
  if (!s) return t("canceled.done", { plate: carNumber });
  const parts = [s.fee > 0 ? t("canceled.fee", { amount: moneyIn(s.fee, s.currency) }) : t("canceled.noFee")];
  if (s.released > 0) parts.push(t("canceled.released", { amount: moneyIn(s.released, s.currency) }));
  if (s.refunded > 0) parts.push(t("canceled.refunded", { amount: moneyIn(s.refunded, s.currency) }));
  return t("canceled.withMoney", { plate: carNumber, parts: parts.join(" · ") });
}

/** A day's money of a lot, or of the lots of the page (the control center's `money`). */
export type MoneyDay = NonNullable<ControlCenterView["money"]>;

/** Per currency: what came in, what went back, and what is left (the API's figures, none computed here). */
export const moneyAmounts = (day: MoneyDay): string[] =>
  day.amounts.map((a) =>
    t("money.amounts", {
      revenue: moneyIn(a.revenue, a.currency),
      refunds: moneyIn(a.refunds, a.currency),
      net: moneyIn(a.net, a.currency),
    }),
  );

/** The money that did not arrive: failed payments (declined, expired) and failed settlement steps. */
export function moneyFailures(day: MoneyDay): string[] {
  const words: string[] = [];
  if (day.failedPayments > 0)
    words.push(t("money.failedPayments", { count: day.failedPayments, n: count(day.failedPayments) }));
  if (day.failedSteps > 0)
    words.push(t("money.failedSteps", { count: day.failedSteps, n: count(day.failedSteps) }));
  return words;
}
