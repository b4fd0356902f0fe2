/**
 * A period's opening as schema version 1 wrote it (issues 48 to 68, up to ee865fc / 6470fd1): the
 * lot's live state in the write side's private state codec, `state: [head, ...pages]` (a head of
 * the lot's fields and sorted indexes, pages of reservation records in columns joined by ","), its
 * `version` the codec's, and `ended` (each recently ended booking's id and when it ended). Nothing
 * else reads that form: its sealed values are opened here (`openingV1PersonalValues`), and the
 * upcaster (`openingFromV1`) turns it into the domain summary (lot-summary.ts), which is then
 * validated as any event is. Plain JSON in, plain JSON out.
 */
import { LOT_TERMS } from "./lot-summary.js";

type Part = Record<string, unknown>;
type Each = (subject: string, value: string) => string;

/** The separator of the codec's record columns. */
const SEPARATOR = ",";
const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const split = (column: unknown): string[] =>
  typeof column === "string" && column !== "" ? column.split(SEPARATOR) : [];
const array = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);

/**
 * The personal values of a version 1 opening, each replaced by `each(its customer, it)`: the
 * customer ids of the head's `byCustomer` (an erased customer's bookings gathered under `erased`),
 * and in each page the `customerIds` and `carNumbers` columns.
 */
export function openingV1PersonalValues(data: Part, each: Each): Part {
  const [head, ...pages] = array(data.state) as Part[];
  if (head === undefined) return data;
  return { ...data, state: [headValues(head, each), ...pages.map((page) => pageValues(page, each))] };
}

function headValues(head: Part, each: Each): Part {
  if (!Array.isArray(head.byCustomer)) return head;
  const byCustomer = new Map<string, string[]>();
  for (const [customer, ids] of head.byCustomer as [string, string[]][]) {
    const named = each(customer, customer);
    byCustomer.set(named, [...(byCustomer.get(named) ?? []), ...ids]);
  }
  const sorted = [...byCustomer]
    .map(([customer, ids]): [string, string[]] => [customer, ids.sort(byText)])
    .sort((a, b) => byText(a[0], b[0]));
  return { ...head, byCustomer: sorted };
}

function pageValues(page: Part, each: Each): Part {
  if (typeof page.customerIds !== "string" || typeof page.carNumbers !== "string") return page;
  const customers = page.customerIds.split(SEPARATOR);
  const cars = page.carNumbers.split(SEPARATOR);
  return {
    ...page,
    customerIds: customers.map((customer) => each(customer, customer)).join(SEPARATOR),
    carNumbers: cars.map((car, i) => each(customers[i] ?? "", car)).join(SEPARATOR),
  };
}

const STATUS_OF: Readonly<Record<string, string>> = {
  R: "RESERVED",
  I: "CHECKED_IN",
  D: "COMPLETED",
  N: "NO_SHOW",
  C: "CANCELED",
  P: "PENDING_PAYMENT",
};

/**
 * Version 1 → 2: the codec's head and pages as the lot's summary. Each booking's facts come from
 * the head's indexes (its span in `windows`, `openEnded`, `checkOutRates`, `inLot`, whether
 * `byCustomer` counts it, what it asked: `paymentAsked`, or a codec version 6–7 head's `payments`)
 * and `ended`. A head that is no registered lot's is left as it is: validation refuses it.
 */
export function openingFromV1(data: Readonly<Part>): Part {
  const [head, ...pages] = array(data.state) as Part[];
  if (head?.kind !== "registered") return { ...data };
  const factsOf = bookingFacts(head, data.ended);
  const bookings: Part[] = [];
  for (const page of pages) {
    const [ids, customers, cars, starts, ends] = [
      page.ids,
      page.customerIds,
      page.carNumbers,
      page.startsAt,
      page.endsAt,
    ].map(split);
    const amounts = array(page.amounts);
    const charges = array(page.charges);
    const statuses = String(page.statuses ?? "");
    const paid = typeof page.paid === "string" ? page.paid : "";
    (ids ?? []).forEach((reservationId, i) => {
      const [startsAt, endsAt, charge] = [starts?.[i], ends?.[i], charges[i]];
      bookings.push({
        reservationId,
        customerId: customers?.[i],
        carNumber: cars?.[i],
        amount: amounts[i],
        status: STATUS_OF[statuses[i] ?? ""] ?? statuses[i],
        ...(startsAt && endsAt ? { startsAt, endsAt } : {}),
        ...(typeof charge === "number" && charge > 0 ? { overstayCharge: charge } : {}),
        ...(paid[i] === "1" ? { paid: true } : {}),
        ...factsOf(reservationId),
      });
    });
  }
  const { parkingLotId, period, openedAt } = data;
  return {
    parkingLotId,
    period,
    openedAt,
    summary: {
      terms: Object.fromEntries(
        LOT_TERMS.flatMap((key) => (head[key] === undefined ? [] : [[key, head[key]]])),
      ),
      bookings: bookings.sort((a, b) => byText(a.reservationId as string, b.reservationId as string)),
      closures: head.closures,
      heldFromHour: head.prunedBefore,
      activeReservations: head.activeReservations,
      forgotten: head.archived,
    },
  };
}

/** What the head's indexes and `ended` say of each booking, as its summary's fields. */
function bookingFacts(head: Part, endedList: unknown): (id: string) => Part {
  const entries = (value: unknown) => new Map(array(value) as [string, unknown][]);
  const openEnded = entries(head.openEnded);
  const rates = entries(head.checkOutRates);
  const inLot = new Map(
    (array(head.inLot) as [string, number | null, number][]).map(([id, ...car]) => [id, car]),
  );
  const asked = entries(head.paymentAsked ?? head.payments);
  const ended = new Map(
    (array(endedList) as { reservationId: string; endedAt: number }[]).map((e) => [
      e.reservationId,
      e.endedAt,
    ]),
  );
  const holds = new Map<string, unknown>();
  for (const [, bucket] of array(head.windows) as [number, [string, unknown][]][])
    for (const [id, span] of array(bucket) as [string, unknown][]) holds.set(id, span);
  const counts = new Set(
    (array(head.byCustomer) as [string, string[]][]).flatMap(([, ids]) => array(ids) as string[]),
  );
  return (id) => {
    const car = inLot.get(id);
    const ask = asked.get(id) as Part | undefined;
    return {
      ...(holds.has(id) ? { holds: holds.get(id) } : {}),
      ...(openEnded.has(id) ? { openEndedSince: openEnded.get(id) } : {}),
      ...(rates.has(id) ? { checkOutRate: rates.get(id) } : {}),
      ...(car ? { inLot: { checkedInAt: car[1], ...(car[0] === null ? {} : { endsAt: car[0] }) } } : {}),
      ...(counts.has(id) ? { counts: true } : {}),
      ...(ask
        ? {
            asked: { amount: ask.amount, currency: ask.currency, holdUntil: ask.holdUntil, terms: ask.terms },
          }
        : {}),
      ...(ended.has(id) ? { endedAt: ended.get(id) } : {}),
    };
  };
}
