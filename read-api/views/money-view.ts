import type { Document } from "../../document-store/port.js";
import type { Position } from "../../event-store/position.js";
import { localDay, localDays } from "../../platform/local-time.js";
import { mapInChunks } from "../../platform/turn-slice.js";
import { LOT_MONEY, moneyId, quarterOf } from "../../projections/read-models/lot-money.js";
import type { LotMoneyView, MoneyDay, MoneyInCurrency } from "../../schemas/payment-views.js";
import { DEFAULT_TIME_ZONE } from "../../schemas/place.js";
import type { LotQueries } from "./lot-view.js";
import type { ReadContext } from "./read-context.js";

/** The figures of a day or of days summed: per currency, and the failures. */
type Figures = Omit<MoneyDay, "day">;

const numbers = (value: unknown): Record<string, number> =>
  value && typeof value === "object" ? (value as Record<string, number>) : {};

/** A stored quarter hour of the lot-money read model: its figures, currencies in order. */
function figuresOf(doc: Document): Figures {
  const revenue = numbers(doc.revenue);
  const refunds = numbers(doc.refunds);
  const [onSite, overstays, driveUps] = [doc.onSite, doc.overstays, doc.driveUps].map(numbers);
  const currencies = [...new Set([...Object.keys(revenue), ...Object.keys(refunds)])].sort();
  return {
    amounts: currencies.map((currency) => {
      const r = revenue[currency] ?? 0;
      const back = refunds[currency] ?? 0;
      const site = onSite?.[currency] ?? 0;
      const over = overstays?.[currency] ?? 0;
      const drive = driveUps?.[currency] ?? 0;
      return {
        currency,
        revenue: r,
        refunds: back,
        net: r - back,
        collectedByProcessor: r - site,
        collectedOnSite: site,
        bookings: r - over - drive,
        overstays: over,
        driveUps: drive,
      };
    }),
    failedPayments: Number(doc.failedPayments ?? 0),
    failedSteps: Number(doc.failedSteps ?? 0),
  };
}

/** Stored quarter hours (in time order) summed per local day of `timeZone`, days in order. */
export function moneyDaysOf(docs: readonly Document[], timeZone: string): MoneyDay[] {
  const byDay = new Map<string, Figures[]>();
  for (const doc of docs) {
    const day = localDay(Date.parse(String(doc.at)), timeZone);
    byDay.set(day, [...(byDay.get(day) ?? []), figuresOf(doc)]);
  }
  return [...byDay].map(([day, quarters]) => ({ day, ...sumMoney(quarters) }));
}

/** The lot's zone, as a stored lot keeps it (a lot without one keeps UTC). */
const zoneOf = (lot: { readonly timeZone?: string | undefined }): string => lot.timeZone ?? DEFAULT_TIME_ZONE;

/** The id range of a lot's quarters over its local days `from` to `to`, and how many quarters it spans. */
export function quartersOf(parkingLotId: string, from: string, to: string, timeZone: string) {
  const { start, end } = localDays(from, to, timeZone);
  return {
    filter: {
      _id: { $gte: moneyId(parkingLotId, quarterOf(start)), $lt: moneyId(parkingLotId, quarterOf(end)) },
    },
    quarters: Math.ceil((end - start) / 900_000),
  };
}

/** The figures of a currency that add up over quarters and days, in the order of the CSV's columns. */
const SUMS = [
  "revenue",
  "collectedByProcessor",
  "collectedOnSite",
  "bookings",
  "overstays",
  "driveUps",
  "refunds",
  "net",
] as const satisfies readonly (keyof MoneyInCurrency)[];

/** Figures summed, per currency (in order). */
export function sumMoney(days: readonly Figures[]): Figures {
  const byCurrency = new Map<string, MoneyInCurrency>();
  let failedPayments = 0;
  let failedSteps = 0;
  for (const day of days) {
    failedPayments += day.failedPayments;
    failedSteps += day.failedSteps;
    for (const a of day.amounts) {
      const sum = byCurrency.get(a.currency);
      byCurrency.set(
        a.currency,
        sum ? { ...sum, ...Object.fromEntries(SUMS.map((k) => [k, sum[k] + a[k]])) } : { ...a },
      );
    }
  }
  const amounts = [...byCurrency.values()].sort((a, b) => (a.currency < b.currency ? -1 : 1));
  return { amounts, failedPayments, failedSteps };
}

/**
 * The money of lots per local day: a lot's local days are one range of quarter-hour ids, so the
 * work is bounded by the days asked (at most 100 quarters a day), never by history.
 */
export class MoneyQueries {
  constructor(
    private readonly ctx: ReadContext,
    private readonly lots: LotQueries,
  ) {}

  /** The lot's local today at `now`; null when the lot does not exist. */
  async lotToday(parkingLotId: string, now: number): Promise<string | null> {
    const lot = await this.lots.storedLot(parkingLotId);
    return lot ? localDay(now, zoneOf(lot)) : null;
  }

  /** The lot's local days from `from` to `to` (both included, at most `maxDays`); null when the lot does not exist. */
  async lotMoney(
    parkingLotId: string,
    range: { readonly from: string; readonly to: string; readonly maxDays: number },
    minPosition: Position | null,
  ): Promise<LotMoneyView | null> {
    await this.ctx.awaitPosition(LOT_MONEY, minPosition);
    const lot = await this.lots.storedLot(parkingLotId);
    if (!lot) return null;
    const timeZone = zoneOf(lot);
    const { filter, quarters } = quartersOf(parkingLotId, range.from, range.to, timeZone);
    const docs = await this.ctx.store.find(await this.ctx.collection(LOT_MONEY), filter, {
      sort: { _id: 1 },
      limit: Math.min(quarters, range.maxDays * 100),
    });
    const days = moneyDaysOf(docs, timeZone);
    return { parkingLotId, timeZone, from: range.from, to: range.to, days, totals: sumMoney(days) };
  }

  /** Each lot's money on its local day of `now`, for the lots that had any payment fact that day. */
  async today(
    lots: readonly { readonly parkingLotId: string; readonly timeZone?: string | undefined }[],
    now: number,
  ): Promise<Map<string, MoneyDay>> {
    if (lots.length === 0) return new Map();
    const collection = await this.ctx.collection(LOT_MONEY);
    const answers = await mapInChunks(lots, async (lot) => {
      const timeZone = zoneOf(lot);
      const day = localDay(now, timeZone);
      const { filter, quarters } = quartersOf(lot.parkingLotId, day, day, timeZone);
      const docs = await this.ctx.store.find(collection, filter, { sort: { _id: 1 }, limit: quarters });
      const [money] = moneyDaysOf(docs, timeZone);
      return [lot.parkingLotId, money] as const;
    });
    return new Map(answers.flatMap(([id, money]) => (money ? [[id, money] as [string, MoneyDay]] : [])));
  }
}

/** Today, UTC, as a day (the control center's sum over lots whose local days differ). */
export const today = (now: number): string => new Date(now).toISOString().slice(0, 10);

/** The number of days from `from` to `to`, both included (0 when `to` is before `from`). */
export const daysBetween = (from: string, to: string): number =>
  Math.max(0, Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000) + 1);

/**
 * The money view as CSV. Every cell is a day, an ISO currency code or a number, so nothing needs
 * quoting (and nothing a spreadsheet would run as a formula).
 */
export function moneyCsv(view: LotMoneyView): string {
  const rows = [["day", "currency", ...SUMS, "failedPayments", "failedSteps"].join(",")];
  const add = (day: string, figures: Omit<MoneyDay, "day">) => {
    const failures = [figures.failedPayments, figures.failedSteps];
    if (figures.amounts.length === 0) rows.push([day, "", ...SUMS.map(() => 0), ...failures].join(","));
    for (const [i, a] of figures.amounts.entries())
      rows.push([day, a.currency, ...SUMS.map((k) => a[k]), ...(i === 0 ? failures : [0, 0])].join(","));
  };
  for (const day of view.days) add(day.day, day);
  add("total", view.totals);
  return `${rows.join("\r\n")}\r\n`;
}
