import { Map as ImmutableMap, List } from "immutable";
import { IdIndex, type IdListsByKey, LayeredMap } from "../../platform/layered-map.js";
import {
  BookingColumns,
  type CustomerSummary,
  LOT_TERMS,
  type LotSummary,
  type LotTermsSummary,
} from "../../schemas/lot-summary.js";
import { HOUR_MS } from "../../schemas/reservation-time.js";
import type { Interval } from "./occupancy.js";
import { entryHolder, entryPlateKey, ReservationBook } from "./reservation-book.js";
import type { RegisteredLot } from "./state.js";

/**
 * A registered lot's state as its summary (schemas/lot-summary.ts, what an opening carries), and
 * back. Every index the decider reads is a fact of a booking in the summary, so the state back is
 * the same as far as the decider can tell (summary.property.unit.test.ts). Bookings ascending by
 * id, so equal states give equal summaries.
 */

/** The lot's summary: its terms, every booking it holds with what the decider needs of each. */
export function summaryOf(lot: RegisteredLot): LotSummary {
  const terms = Object.fromEntries(
    LOT_TERMS.flatMap((key) => (lot[key] === undefined ? [] : [[key, lot[key]]])),
  ) as LotTermsSummary;
  const columns = lot.reservations.toColumns();
  const { ids, customers: entries, plates } = columns;
  const counted = new Set<string>();
  for (const held of lot.byCustomer.values()) for (const id of held) counted.add(id);
  // Each customer once, with their plates: one personal value each (schemas/lot-summary.ts); one
  // loaded sealed (or erased) stays as it is, its bookings' plates their places in it.
  const customers: CustomerSummary[] = [];
  const customerAt = new Map<string, number>();
  const customerOf = new Array<number>(ids.length);
  const plateOf = new Array<number>(ids.length);
  entries.forEach((entry, i) => {
    const asIs = typeof entry === "string";
    const key = asIs ? `\u0001${entry}` : (entry[0] as string);
    if (!customerAt.has(key)) customerAt.set(key, customers.push(asIs ? entry : [key]) - 1);
    customerOf[i] = customerAt.get(key) as number;
    const mine = customers[customerOf[i] as number] as CustomerSummary;
    if (typeof mine === "string") plateOf[i] = plates[i] as number;
    else {
      const carNumber = (entry as string[])[plates[i] as number] as string;
      const plate = mine.indexOf(carNumber, 1);
      plateOf[i] = plate > 0 ? plate : (mine as string[]).push(carNumber) - 1;
    }
  });
  // The book's columns as they are (in the schema's order), its customers and plates as numbered here.
  const bookings = {
    ...columns,
    customers: customerOf,
    plates: plateOf,
    counts: ids.map((id) => (counted.has(id) ? "1" : "0")).join(""),
  } as BookingColumns;
  const held = (id: string) => lot.reservations.has(id);
  const holds: [string, number, number][] = [];
  for (const bucket of lot.occupancy.buckets.values())
    for (const [id, span] of bucket) if (held(id)) holds.push([id, span.start, span.end]);
  const sorted = <T extends readonly [string, ...unknown[]]>(entries: Iterable<T>): T[] =>
    [...entries].filter(([id]) => held(id)).sort(byKey);
  return {
    terms,
    customers,
    bookings,
    holds: holds.sort(byKey),
    openEnded: sorted(lot.openEnded.entries()),
    checkOutRates: sorted(lot.checkOutRates.entries()),
    inLot: sorted([...lot.inLot].map(([id, car]) => [id, car.checkedInAt, finite(car.endsAt)] as const)),
    asked: sorted([...lot.paymentAsked].map(([id, asked]) => [id, { ...asked }] as const)),
    endedAt: sorted(lot.endedAt ?? []),
    closures: lot.closures.toArray().map((c) => ({ ...c })),
    heldFromHour: lot.occupancy.prunedBefore,
    activeReservations: lot.activeReservations,
    forgotten: lot.archived,
    ...(lot.registeredAt === undefined ? {} : { registeredAt: lot.registeredAt }),
    ...(lot.canceledReservations === undefined ? {} : { canceled: lot.canceledReservations }),
  };
}

/** A summary's bookings when it has none (a lot just registered). */
export const NO_BOOKINGS: Pick<
  LotSummary,
  "customers" | "bookings" | "holds" | "openEnded" | "checkOutRates" | "inLot" | "asked" | "endedAt"
> = {
  customers: [],
  // Each column empty: a string of letters (its schema's type), else an array.
  bookings: Object.fromEntries<unknown>(
    Object.entries(BookingColumns.properties).map(([c, column]) => [c, column.type === "string" ? "" : []]),
  ) as BookingColumns,
  holds: [],
  openEnded: [],
  checkOutRates: [],
  inLot: [],
  asked: [],
  endedAt: [],
};

/** JSON has no Infinity: an open-ended car's window end is null. */
const finite = (at: number): number | null => (Number.isFinite(at) ? at : null);

const byKey = (a: readonly [string, ...unknown[]], b: readonly [string, ...unknown[]]) =>
  a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;

/** Whether `entries`' ids are strictly ascending (binary search reads them so). */
const ascending = (entries: readonly (readonly [string, ...unknown[]])[] | readonly string[]): boolean =>
  entries.every((e, i) => i === 0 || idOf(entries[i - 1]) < idOf(e));
const idOf = (e: unknown): string => (typeof e === "string" ? e : (e as [string])[0]);

/**
 * The registered lot of a summary whose bookings and facts are strictly ascending by id and columns
 * as long as its ids (else it throws: binary search would misread it). The columns become the
 * book's as they are, the facts sorted arrays, the holder indexes derived when first read: no
 * insert per booking on a cold load.
 */
export function lotOfSummary(parkingLotId: string, summary: LotSummary): RegisteredLot {
  const { bookings: b, customers } = summary;
  const n = b.ids.length;
  const corrupt = (what: string) => new Error(`lot ${parkingLotId}'s summary: ${what}`);
  if (Object.values(b).some((column) => column.length !== n)) throw corrupt("columns of unequal lengths");
  const { holds, openEnded, checkOutRates, inLot, asked, endedAt } = summary;
  for (const [name, list] of Object.entries({
    bookings: b.ids,
    holds,
    openEnded,
    checkOutRates,
    inLot,
    asked,
    endedAt,
  }))
    if (!ascending(list)) throw corrupt(`${name} not strictly ascending by id`);
  // Each booking's customer entry as it is (a sealed one opened only when read: reservation-book.ts).
  const entries = new Array<CustomerSummary>(n);
  for (let i = 0; i < n; i++) {
    const entry = customers[b.customers[i] as number];
    if (entry === undefined || (typeof entry !== "string" && entry[b.plates[i] as number] === undefined))
      throw corrupt(`booking ${b.ids[i]} names no customer or plate`);
    entries[i] = entry;
  }
  const reservations = ReservationBook.fromColumns({ ...b, customers: entries });
  const buckets = new Map<number, [string, Interval][]>();
  for (const [id, start, end] of holds) {
    const hour = Math.floor(start / HOUR_MS);
    const bucket = buckets.get(hour);
    if (bucket) bucket.push([id, { start, end }]);
    else buckets.set(hour, [[id, { start, end }]]);
  }
  const { counts } = b;
  const counted = (key: (i: number) => string) => () => indexBy((i) => counts[i] === "1", key, b.ids);
  return {
    kind: "registered",
    parkingLotId,
    ...summary.terms,
    activeReservations: summary.activeReservations,
    reservations,
    openEnded: LayeredMap.fromSorted(openEnded),
    checkOutRates: LayeredMap.fromSorted(checkOutRates),
    occupancy: {
      buckets: ImmutableMap([...buckets].map(([hour, entries]) => [hour, ImmutableMap(entries)] as const)),
      prunedBefore: summary.heldFromHour,
    },
    inLot: ImmutableMap(
      inLot.map(([id, checkedInAt, endsAt]) => [
        id,
        { endsAt: endsAt ?? Number.POSITIVE_INFINITY, checkedInAt },
      ]),
    ),
    // Held as a record of the book is (reservation-book.ts): no entry opened.
    byCustomer: IdIndex.fromLists(counted((i) => entryHolder(entries[i] as CustomerSummary))),
    byPlate: IdIndex.fromLists(
      counted((i) => entryPlateKey(entries[i] as CustomerSummary, b.plates[i] as number)),
    ),
    closures: List(summary.closures),
    archived: summary.forgotten,
    ...(summary.registeredAt === undefined ? {} : { registeredAt: summary.registeredAt }),
    ...(summary.canceled === undefined ? {} : { canceledReservations: summary.canceled }),
    paymentAsked: ImmutableMap(asked),
    ...(endedAt.length > 0 ? { endedAt: ImmutableMap(endedAt) } : {}),
  };
}

/** The ids of the bookings `which` takes, by `key` (each list ascending: the ids are). */
function indexBy(
  which: (i: number) => boolean,
  key: (i: number) => string,
  ids: readonly string[],
): IdListsByKey {
  const lists = new Map<string, string[]>();
  for (let i = 0; i < ids.length; i++) {
    if (!which(i)) continue;
    const k = key(i);
    const same = lists.get(k);
    if (same) same.push(ids[i] as string);
    else lists.set(k, [ids[i] as string]);
  }
  return lists;
}
