import { Map as ImmutableMap, List } from "immutable";
import { IdIndex, type IdLists, LayeredMap } from "../../platform/layered-map.js";
import {
  type BookingSummary,
  LOT_TERMS,
  type LotSummary,
  type LotTermsSummary,
} from "../../schemas/lot-summary.js";
import { plateIndexKey } from "../../schemas/plates.js";
import { HOUR_MS, type Interval } from "./occupancy.js";
import { ReservationBook, type ReservationColumns, STATUS_CODE } from "./reservation-book.js";
import type { CarInLot, PaymentAsked, RegisteredLot } from "./state.js";

/**
 * Issue 68: a registered lot's state as its domain summary (schemas/lot-summary.ts, what a period's
 * opening carries), and back. Every index the decider reads is a fact of a booking in the summary
 * (the span it holds, since when it is open-ended, its car in the lot, whether it counts towards
 * its customer's limit), so the state back is the same as far as the decider can tell
 * (summary.property.unit.test.ts). Bookings ascending by id, so equal states give equal summaries.
 */

/** The lot's summary: its terms, every booking it holds with what the decider needs of each. */
export function summaryOf(lot: RegisteredLot): LotSummary {
  const terms = Object.fromEntries(
    LOT_TERMS.flatMap((key) => (lot[key] === undefined ? [] : [[key, lot[key]]])),
  ) as LotTermsSummary;
  const holds = new Map<string, Interval>();
  for (const bucket of lot.occupancy.buckets.values()) for (const [id, span] of bucket) holds.set(id, span);
  const counts = new Set<string>();
  for (const ids of lot.byCustomer.values()) for (const id of ids) counts.add(id);
  const bookings: BookingSummary[] = [];
  for (const [reservationId, record] of lot.reservations.entries()) {
    const { customerId, carNumber, amount, status, startsAt, endsAt, overstayCharge, paid } = record;
    const span = holds.get(reservationId);
    const since = lot.openEnded.get(reservationId);
    const rate = lot.checkOutRates.get(reservationId);
    const car = lot.inLot.get(reservationId);
    const asked = lot.paymentAsked.get(reservationId);
    const endedAt = lot.endedAt?.get(reservationId);
    bookings.push({
      reservationId,
      customerId,
      carNumber,
      amount,
      status,
      ...(startsAt !== undefined && endsAt !== undefined ? { startsAt, endsAt } : {}),
      ...(overstayCharge ? { overstayCharge } : {}),
      ...(paid ? { paid } : {}),
      ...(span ? { holds: { start: span.start, end: span.end } } : {}),
      ...(since !== undefined ? { openEndedSince: since } : {}),
      ...(rate !== undefined ? { checkOutRate: rate } : {}),
      ...(car ? { inLot: inLotOf(car) } : {}),
      ...(counts.has(reservationId) ? { counts: true as const } : {}),
      ...(asked ? { asked: { ...asked } } : {}),
      ...(endedAt !== undefined ? { endedAt } : {}),
    });
  }
  return {
    terms,
    bookings,
    closures: lot.closures.toArray().map((c) => ({ ...c })),
    heldFromHour: lot.occupancy.prunedBefore,
    activeReservations: lot.activeReservations,
    forgotten: lot.archived,
    ...(lot.registeredAt === undefined ? {} : { registeredAt: lot.registeredAt }),
    ...(lot.canceledReservations === undefined ? {} : { canceled: lot.canceledReservations }),
  };
}

/** A car in the lot; JSON has no Infinity: an open-ended car's window end is left out. */
const inLotOf = ({ checkedInAt, endsAt }: CarInLot) =>
  Number.isFinite(endsAt) ? { checkedInAt, endsAt } : { checkedInAt };

const byKey = <T>(a: readonly [string, T], b: readonly [string, T]) =>
  a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;

/**
 * The registered lot `parkingLotId` of a summary, whose bookings must be strictly ascending by id
 * (as `summaryOf` and the upcaster write them; else it throws). The records become a book over
 * columns and the indexes sorted arrays (platform/layered-map.ts), the per-customer and per-plate
 * indexes derived when first read: no insert per booking on a cold load.
 */
export function lotOfSummary(parkingLotId: string, summary: LotSummary): RegisteredLot {
  const bookings = summary.bookings;
  // The book and the indexes search them by binary search: a summary out of order is corrupt.
  const unordered = bookings.findIndex(
    (b, i) => i > 0 && !((bookings[i - 1] as BookingSummary).reservationId < b.reservationId),
  );
  if (unordered >= 0)
    throw new Error(`lot ${parkingLotId}'s summary: bookings not strictly ascending by id at ${unordered}`);
  const openEnded: [string, number][] = [];
  const checkOutRates: [string, number][] = [];
  const buckets = new Map<number, [string, Interval][]>();
  const inLot: [string, { endsAt: number; checkedInAt: number }][] = [];
  const asked: [string, PaymentAsked][] = [];
  const endedAt: [string, number][] = [];
  for (const b of bookings) {
    const id = b.reservationId;
    if (b.openEndedSince !== undefined) openEnded.push([id, b.openEndedSince]);
    if (b.checkOutRate !== undefined) checkOutRates.push([id, b.checkOutRate]);
    if (b.holds) {
      const hour = Math.floor(b.holds.start / HOUR_MS);
      const bucket = buckets.get(hour);
      if (bucket) bucket.push([id, b.holds]);
      else buckets.set(hour, [[id, b.holds]]);
    }
    if (b.inLot)
      inLot.push([
        id,
        { endsAt: b.inLot.endsAt ?? Number.POSITIVE_INFINITY, checkedInAt: b.inLot.checkedInAt },
      ]);
    if (b.asked) asked.push([id, b.asked]);
    if (b.endedAt !== undefined) endedAt.push([id, b.endedAt]);
  }
  const reservations = ReservationBook.fromColumns(columnsOf(bookings));
  const counted = bookings.filter((b) => b.counts);
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
    inLot: ImmutableMap(inLot),
    byCustomer: IdIndex.fromSorted(() => indexBy(counted, (b) => b.customerId)),
    byPlate: IdIndex.fromSorted(() => indexBy(counted, (b) => plateIndexKey(b.carNumber))),
    closures: List(summary.closures),
    archived: summary.forgotten,
    ...(summary.registeredAt === undefined ? {} : { registeredAt: summary.registeredAt }),
    ...(summary.canceled === undefined ? {} : { canceledReservations: summary.canceled }),
    paymentAsked: ImmutableMap(asked),
    ...(endedAt.length > 0 ? { endedAt: ImmutableMap(endedAt) } : {}),
  };
}

/** The bookings' ids by `key`, as id lists sorted by key (each list ascending: the bookings are). */
function indexBy(bookings: readonly BookingSummary[], key: (b: BookingSummary) => string): IdLists {
  const lists = new Map<string, string[]>();
  for (const b of bookings) {
    const k = key(b);
    const same = lists.get(k);
    if (same) same.push(b.reservationId);
    else lists.set(k, [b.reservationId]);
  }
  return [...lists].sort(byKey);
}

/** The bookings' records as a book's columns (bookings ascending by id, ids distinct). */
function columnsOf(bookings: readonly BookingSummary[]): ReservationColumns {
  const ids = new Array<string>(bookings.length);
  const customerIds = new Array<string>(bookings.length);
  const carNumbers = new Array<string>(bookings.length);
  const amounts = new Array<number>(bookings.length);
  const startsAt = new Array<string>(bookings.length);
  const endsAt = new Array<string>(bookings.length);
  const charges = new Array<number>(bookings.length);
  let statuses = "";
  let paid = "";
  bookings.forEach((b, i) => {
    ids[i] = b.reservationId;
    customerIds[i] = b.customerId;
    carNumbers[i] = b.carNumber;
    amounts[i] = b.amount;
    startsAt[i] = b.startsAt ?? "";
    endsAt[i] = b.endsAt ?? "";
    charges[i] = b.overstayCharge ?? 0;
    statuses += STATUS_CODE[b.status];
    paid += b.paid ? "1" : "0";
  });
  return { ids, customerIds, carNumbers, amounts, statuses, startsAt, endsAt, charges, paid };
}
