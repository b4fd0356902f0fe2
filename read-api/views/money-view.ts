import type { Document } from "../../document-store/port.js";
import type { Position } from "../../event-store/position.js";
import { dayOf, LOT_MONEY, moneyId } from "../../projections/read-models/lot-money.js";
import type { LotMoneyView, MoneyDay, MoneyInCurrency } from "../../schemas/payment-views.js";
import type { LotQueries } from "./lot-view.js";
import type { ReadContext } from "./read-context.js";

/** The figures of a day or of days summed: per currency, and the failures. */
type Figures = Omit<MoneyDay, "day">;

const numbers = (value: unknown): Record<string, number> =>
  value && typeof value === "object" ? (value as Record<string, number>) : {};

/** A stored day of the lot-money read model as the API shows it (currencies in order). */
export function moneyDayOf(doc: Document): MoneyDay {
  const revenue = numbers(doc.revenue);
  const refunds = numbers(doc.refunds);
  const currencies = [...new Set([...Object.keys(revenue), ...Object.keys(refunds)])].sort();
  return {
    day: String(doc.day),
    amounts: currencies.map((currency) => {
      const r = revenue[currency] ?? 0;
      const back = refunds[currency] ?? 0;
      return { currency, revenue: r, refunds: back, net: r - back };
    }),
    failedPayments: Number(doc.failedPayments ?? 0),
    failedSteps: Number(doc.failedSteps ?? 0),
  };
}

/** Figures summed, per currency (in order). */
export function sumMoney(days: readonly Figures[]): Figures {
  const byCurrency = new Map<string, MoneyInCurrency>();
  let failedPayments = 0;
  let failedSteps = 0;
  for (const day of days) {
    failedPayments += day.failedPayments;
    failedSteps += day.failedSteps;
    for (const a of day.amounts) {
      const sum = byCurrency.get(a.currency) ?? { currency: a.currency, revenue: 0, refunds: 0, net: 0 };
      byCurrency.set(a.currency, {
        currency: a.currency,
        revenue: sum.revenue + a.revenue,
        refunds: sum.refunds + a.refunds,
        net: sum.net + a.net,
      });
    }
  }
  const amounts = [...byCurrency.values()].sort((a, b) => (a.currency < b.currency ? -1 : 1));
  return { amounts, failedPayments, failedSteps };
}

/**
 * The money of lots per day (issue 38), read from the lot-money read model: a lot's range of days is
 * one range of ids, and the control center's page reads one id per lot, so the work is bounded by
 * the answer, never by history.
 */
export class MoneyQueries {
  constructor(
    private readonly ctx: ReadContext,
    private readonly lots: LotQueries,
  ) {}

  /** The lot's days from `from` to `to` (both included, at most `maxDays`); null when the lot does not exist. */
  async lotMoney(
    parkingLotId: string,
    range: { readonly from: string; readonly to: string; readonly maxDays: number },
    minPosition: Position | null,
  ): Promise<LotMoneyView | null> {
    await this.ctx.awaitPosition(LOT_MONEY, minPosition);
    if (!(await this.lots.storedLot(parkingLotId))) return null;
    const docs = await this.ctx.store.find(
      await this.ctx.collection(LOT_MONEY),
      { _id: { $gte: moneyId(parkingLotId, range.from), $lte: moneyId(parkingLotId, range.to) } },
      { sort: { _id: 1 }, limit: range.maxDays },
    );
    const days = docs.map(moneyDayOf);
    return { parkingLotId, from: range.from, to: range.to, days, totals: sumMoney(days) };
  }

  /** Each of `lots`' money on the UTC day of `now`, for the lots that had any payment fact that day. */
  async today(lots: readonly string[], now: number): Promise<Map<string, MoneyDay>> {
    if (lots.length === 0) return new Map();
    const day = today(now);
    const docs = await this.ctx.store.find(await this.ctx.collection(LOT_MONEY), {
      _id: { $in: lots.map((lot) => moneyId(lot, day)) },
    });
    return new Map(docs.map((doc) => [String(doc.parkingLotId), moneyDayOf(doc)]));
  }
}

/** Today, UTC, as a day. */
export const today = (now: number): string => dayOf(new Date(now).toISOString());

/** The number of days from `from` to `to`, both included (0 when `to` is before `from`). */
export const daysBetween = (from: string, to: string): number =>
  Math.max(0, Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000) + 1);
