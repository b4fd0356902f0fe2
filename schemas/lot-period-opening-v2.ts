/**
 * A period's opening as schema version 2 wrote it (issue 68, up to 4d7e845): the lot's domain
 * summary with an object per booking (`summary.bookings`), each booking's customer id and plate
 * sealed one value at a time under its customer's key. Its sealed values are opened here
 * (`openingV2PersonalValues`), and the upcaster (`openingFromV2`) turns it into version 3's columns
 * (lot-summary.ts), which are then validated as any event is. Plain JSON in, plain JSON out.
 */

type Part = Record<string, unknown>;
type Each = (subject: string, value: string) => string;

const array = (value: unknown): Part[] => (Array.isArray(value) ? value : []);
const ERASED = "erased";
const STATUS_CODE: Readonly<Record<string, string>> = {
  RESERVED: "R",
  CHECKED_IN: "I",
  COMPLETED: "D",
  NO_SHOW: "N",
  CANCELED: "C",
  PENDING_PAYMENT: "P",
};

/** Whether `data` is a version 2 opening (its summary's bookings an array of objects). */
export const isOpeningV2 = (data: Part): boolean =>
  Array.isArray((data.summary as Part | undefined)?.bookings);

/** A version 2 opening's personal values (each booking's customer id and plate), each replaced by `each`. */
export function openingV2PersonalValues(data: Part, each: Each): Part {
  const summary = data.summary as Part;
  return {
    ...data,
    summary: {
      ...summary,
      bookings: array(summary.bookings).map((b) => ({
        ...b,
        customerId: each(b.customerId as string, b.customerId as string),
        carNumber: each(b.customerId as string, b.carNumber as string),
      })),
    },
  };
}

/**
 * Version 2 → 3: the bookings' objects as columns, each customer (with their plates) listed once,
 * and each booking's optional facts as lists by id (the bookings are ascending by id, so are they).
 * An erased customer's bookings (id and plate `erased`) name one `erased` entry.
 */
export function openingFromV2(data: Readonly<Part>): Part {
  const summary = data.summary as Part;
  const bookings = array(summary.bookings);
  const customers: (string[] | typeof ERASED)[] = [];
  const customerAt = new Map<string, number>();
  const columns = {
    ids: [] as unknown[],
    customers: [] as number[],
    plates: [] as number[],
    amounts: [] as unknown[],
    statuses: "",
    startsAt: [] as unknown[],
    endsAt: [] as unknown[],
    charges: [] as unknown[],
    paid: "",
    counts: "",
  };
  const facts = { holds: [], openEnded: [], checkOutRates: [], inLot: [], asked: [], endedAt: [] } as Record<
    string,
    unknown[]
  >;
  for (const b of bookings) {
    const [customerId, carNumber] = [String(b.customerId), String(b.carNumber)];
    const erased = customerId === ERASED;
    let c = customerAt.get(customerId);
    if (c === undefined) {
      c = customers.push(erased ? ERASED : [customerId]) - 1;
      customerAt.set(customerId, c);
    }
    const entry = customers[c] as string[] | typeof ERASED;
    let plate = entry === ERASED ? 1 : entry.indexOf(carNumber, 1);
    if (plate < 0 && entry !== ERASED) plate = entry.push(carNumber) - 1;
    const id = b.reservationId;
    columns.ids.push(id);
    columns.customers.push(c);
    columns.plates.push(plate);
    columns.amounts.push(b.amount);
    columns.statuses += STATUS_CODE[String(b.status)] ?? String(b.status);
    columns.startsAt.push(b.startsAt ?? "");
    columns.endsAt.push(b.endsAt ?? "");
    columns.charges.push(b.overstayCharge ?? 0);
    columns.paid += b.paid ? "1" : "0";
    columns.counts += b.counts ? "1" : "0";
    const holds = b.holds as Part | undefined;
    if (holds) facts.holds?.push([id, holds.start, holds.end]);
    if (b.openEndedSince !== undefined) facts.openEnded?.push([id, b.openEndedSince]);
    if (b.checkOutRate !== undefined) facts.checkOutRates?.push([id, b.checkOutRate]);
    const car = b.inLot as Part | undefined;
    if (car) facts.inLot?.push([id, car.checkedInAt, car.endsAt ?? null]);
    if (b.asked !== undefined) facts.asked?.push([id, b.asked]);
    if (b.endedAt !== undefined) facts.endedAt?.push([id, b.endedAt]);
  }
  const { terms, closures, heldFromHour, activeReservations, forgotten } = summary;
  return {
    ...data,
    summary: {
      terms,
      customers,
      bookings: columns,
      ...facts,
      closures,
      heldFromHour,
      activeReservations,
      forgotten,
    },
  };
}
