import type { EventOfType } from "../../schemas/events.js";
import { SNAPSHOT_PAGE_SIZE } from "../../write-side/parking-lot/snapshot.js";

/**
 * Issue 48: a period's opening (`LotPeriodOpened`, its `state` in the lot's state codec:
 * write-side/parking-lot/snapshot.ts, `[head, ...pages]`) as the lot-facts projection keeps it, and
 * back. One document per reservation record (a page of 20,000 records in one document would come
 * near MongoDB's 16 MB limit with its plates; a record alone never does), each holding its
 * customer's id and plate where an erasure rewrites them (lot-facts.ts, `CustomerErased`), and the
 * lot's document holding the head without its personal values: `byCustomer` (the customer of each
 * booking that counts towards the per-customer limit) is derived back from the records, so an
 * erased customer's bookings are gathered under `erased`, as the codec opens them once their key
 * is gone.
 */

type Part = Readonly<Record<string, unknown>>;

/** One reservation record of an opening: its page's columns at its index. */
export interface OpeningRecord {
  readonly reservationId: string;
  readonly customerId: string;
  readonly carNumber: string;
  readonly amount: unknown;
  /** One letter (the codec's). */
  readonly status: string;
  /** Empty for an open-ended booking. */
  readonly startsAt: string;
  readonly endsAt: string;
  readonly charge: unknown;
  /** "1" when paid (the codec's `paid` column). */
  readonly paid: string;
  /** Whether the head's `byCustomer` lists it under its customer. */
  readonly counted: boolean;
}

/** What of an opening the lot's document keeps: all but its records and their personal values. */
export interface OpeningHead {
  readonly period: number;
  readonly openedAt: string;
  readonly version: number;
  readonly head: Part;
  readonly ended: EventOfType<"LotPeriodOpened">["data"]["ended"];
}

/** The separator of the codec's joined columns (write-side/parking-lot/snapshot.ts). */
const SEPARATOR = ",";
const split = (column: unknown): string[] => (typeof column === "string" ? column.split(SEPARATOR) : []);

/** The opening's head (without `byCustomer` and the record count) and each of its records. */
export function openingParts(data: EventOfType<"LotPeriodOpened">["data"]): {
  readonly head: OpeningHead;
  readonly records: OpeningRecord[];
} {
  const [first = {}, ...pages] = data.state as readonly Part[];
  const { byCustomer, reservations: _count, ...rest } = first as Part & { byCustomer?: unknown };
  const counted = new Set<string>(
    Array.isArray(byCustomer) ? (byCustomer as [string, string[]][]).flatMap(([, ids]) => ids) : [],
  );
  const records: OpeningRecord[] = [];
  for (const page of pages) {
    if (typeof page.ids !== "string" || page.ids === "") continue;
    const ids = split(page.ids);
    const [customers, cars, starts, ends] = [
      page.customerIds,
      page.carNumbers,
      page.startsAt,
      page.endsAt,
    ].map(split);
    const amounts = (page.amounts as unknown[] | undefined) ?? [];
    const charges = page.charges as unknown[] | undefined;
    const statuses = String(page.statuses ?? "");
    const paid = typeof page.paid === "string" ? page.paid : "";
    ids.forEach((reservationId, i) => {
      records.push({
        reservationId,
        customerId: customers?.[i] ?? "",
        carNumber: cars?.[i] ?? "",
        amount: amounts[i],
        status: statuses[i] ?? "",
        startsAt: starts?.[i] ?? "",
        endsAt: ends?.[i] ?? "",
        charge: charges?.[i] ?? 0,
        paid: paid[i] ?? "0",
        counted: counted.has(reservationId),
      });
    });
  }
  const { period, openedAt, version, ended } = data;
  return { head: { period, openedAt, version, head: rest, ended }, records };
}

/** The opening these parts were taken from (as the codec reads it: records ascending by id). */
export function openingOf(
  parkingLotId: string,
  head: OpeningHead,
  records: readonly OpeningRecord[],
): EventOfType<"LotPeriodOpened"> {
  const sorted = [...records].sort((a, b) => compare(a.reservationId, b.reservationId));
  const byCustomer = new Map<string, string[]>();
  for (const r of sorted)
    if (r.counted) byCustomer.set(r.customerId, [...(byCustomer.get(r.customerId) ?? []), r.reservationId]);
  const pages: Part[] = [];
  for (let from = 0; from < sorted.length; from += SNAPSHOT_PAGE_SIZE) {
    const page = sorted.slice(from, from + SNAPSHOT_PAGE_SIZE);
    const joined = (value: (r: OpeningRecord) => string) => page.map(value).join(SEPARATOR);
    const charges = page.map((r) => r.charge);
    const paid = page.map((r) => r.paid).join("");
    pages.push({
      ids: joined((r) => r.reservationId),
      customerIds: joined((r) => r.customerId),
      carNumbers: joined((r) => r.carNumber),
      amounts: page.map((r) => r.amount),
      statuses: page.map((r) => r.status).join(""),
      startsAt: joined((r) => r.startsAt),
      endsAt: joined((r) => r.endsAt),
      ...(charges.some((c) => typeof c === "number" && c > 0) ? { charges } : {}),
      ...(paid.includes("1") ? { paid } : {}),
    });
  }
  const lotHead = {
    ...head.head,
    reservations: sorted.length,
    byCustomer: [...byCustomer].sort((a, b) => compare(a[0], b[0])),
  };
  return {
    type: "LotPeriodOpened",
    data: {
      parkingLotId,
      period: head.period,
      openedAt: head.openedAt,
      version: head.version,
      state: [lotHead, ...pages],
      ended: head.ended,
    },
  };
}

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
