import { Map as ImmutableMap } from "immutable";
import { BookingColumns, type CustomerSummary } from "../../schemas/lot-summary.js";
import { ERASED, isSealed, openSealedValues, sealedHolder } from "../../schemas/personal-data.js";
import { plateIndexKey } from "../../schemas/plates.js";
import type { RecordedStatus } from "../../schemas/reservation-time.js";

/** One reservation of the lot, as its events recorded it. */
export interface ReservationRecord {
  readonly customerId: string;
  readonly carNumber: string;
  readonly amount: number;
  readonly startsAt?: string;
  readonly endsAt?: string;
  /** As recorded by events; the status at an instant is `statusAt` (the clock adds the rest). */
  readonly status: RecordedStatus;
  /** What its check-out charged for an overstay, as the event recorded it (a retry answers it again). */
  readonly overstayCharge?: number;
  /** Its payment was authorized: a retried authorization is accepted as done, not refused as not pending. */
  readonly paid?: true;
}

/**
 * Every reservation a lot ever accepted, by id: a persistent map (each `set` returns a new book),
 * the one part of a lot's state that grows with its history. Built event by event (an immutable.js
 * map) or loaded from an opening's summary (summary.ts): then kept in sorted columns searched by
 * binary search, the changes since in a map on top, so loading 50,000 reservations is one pass,
 * not a hash-trie insert each (~40–100 ms, more than the whole load may take). Both answer alike.
 */
export class ReservationBook {
  private static readonly EMPTY = new ReservationBook(undefined, ImmutableMap(), 0, false);

  private constructor(
    private readonly base: ReservationColumns | undefined,
    private readonly changes: ImmutableMap<string, ReservationRecord>,
    /** How many distinct ids the book holds. */
    readonly size: number,
    /** Whether it holds a record loaded sealed (held under its key's name: `holderKeyOf`). */
    readonly sealed: boolean,
  ) {}

  /** The sorted order, made on the first ask (the book never changes). */
  private columns: Required<ReservationColumns> | undefined;
  private sorted: [string, ReservationRecord][] | undefined;

  /** A book of these records (any order; a later duplicate id wins, as with `set`). */
  static of(entries: Iterable<readonly [string, ReservationRecord]>): ReservationBook {
    let book = ReservationBook.EMPTY;
    for (const [id, record] of entries) book = book.set(id, record);
    return book;
  }

  /** A book backed by these columns (ids strictly ascending, every column as long); it keeps them. */
  static fromColumns(columns: ReservationColumns): ReservationBook {
    return columns.ids.length === 0
      ? ReservationBook.EMPTY
      : new ReservationBook(columns, ImmutableMap(), columns.ids.length, columns.customers.some(isSealed));
  }

  get(id: string): ReservationRecord | undefined {
    const changed = this.changes.get(id);
    if (changed !== undefined || this.base === undefined) return changed;
    const at = indexOf(this.base.ids, id);
    return at < 0 ? undefined : recordAt(this.base, at);
  }

  /**
   * The holder keys (`plateKeyOf`) of the base's sealed bookings whose plate has this form: what a
   * camera's read finds besides the plate's own key. Opens every sealed entry the first time.
   */
  sealedPlateKeys(form: string): readonly string[] {
    if (!this.sealed) return [];
    // And those of the bookings read sealed from the period's events (each plate sealed alone).
    const read = [...this.changes.values()].flatMap((record) => eventPartyOf(record) ?? []);
    openParties(read);
    return [
      ...(this.base ? unsealedOf(this.base).plateKeys(form) : []),
      ...read
        .filter((p) => isSealed(p.car) && plateIndexKey(partyValues(p)[1]) === form)
        .map((p) => sealedIv(p.car)),
    ];
  }

  has(id: string): boolean {
    return this.changes.has(id) || (this.base !== undefined && indexOf(this.base.ids, id) >= 0);
  }

  set(id: string, record: ReservationRecord): ReservationBook {
    const added = !this.has(id);
    // A record changed (its status, its charge) keeps its customer and car: loaded sealed, it stays so.
    const party =
      this.sealed && !added && !PARTIES.has(record) && PARTIES.get(this.get(id) as ReservationRecord);
    if (party) PARTIES.set(record, party);
    const sealed = this.sealed || PARTIES.has(record);
    return new ReservationBook(this.base, this.changes.set(id, record), this.size + (added ? 1 : 0), sealed);
  }

  /**
   * Every id with its record from the `from`-th on, sorted by id (code-unit order, as `<` compares
   * strings): the records of `toColumns`, which merges the changes into the base once for both; a
   * page of a lot's reservations goes on where the one before stopped, not walking those before it.
   */
  *entries(from = 0): IterableIterator<[string, ReservationRecord]> {
    if (this.base === undefined) {
      // Built event by event: its own records, sorted.
      this.sorted ??= [...this.changes.entries()].sort(byId);
      for (let i = Math.max(0, from); i < this.sorted.length; i++)
        yield this.sorted[i] as [string, ReservationRecord];
      return;
    }
    const columns = this.toColumns();
    for (let i = Math.max(0, from); i < columns.ids.length; i++)
      yield [columns.ids[i] as string, recordAt(columns, i)];
  }

  [Symbol.iterator](): IterableIterator<[string, ReservationRecord]> {
    return this.entries();
  }

  /**
   * The records as sorted columns. A book loaded from columns copies runs of their entries over as
   * they are (array slices) and merges in its changes, so that summarizing a lot again after
   * loading one costs array copies, not a record per reservation.
   */
  toColumns(): Required<ReservationColumns> {
    this.columns ??= this.mergedColumns();
    return this.columns;
  }

  private mergedColumns(): Required<ReservationColumns> {
    const changed = [...this.changes.entries()].sort(byId);
    // The bookings read sealed from events are summarized opened (rowOf): their keys read at once.
    openParties(changed.flatMap(([, record]) => eventPartyOf(record) ?? []));
    const n = this.base?.ids.length ?? 0;
    // The base's columns, an absent one (no base; no charges or paid marks stored) all 0s.
    const whole = columnsOf((c) => this.base?.[c] ?? (LETTERS.has(c) ? "0".repeat(n) : new Array(n).fill(0)));
    const ids = whole.ids as readonly string[];
    // Each column as chunks: runs of the base's entries (copied by slice) between changed records,
    // consecutive changed records gathered in one chunk (`pending`).
    const chunks = columnsOf((): (string | readonly unknown[])[] => []);
    let pending = columnsOf((): unknown[] => []);
    const baseRun = (from: number, to: number) => {
      if (from < to) for (const c of COLUMNS) chunks[c].push(whole[c].slice(from, to));
    };
    const flush = () => {
      if (pending.ids.length === 0) return;
      for (const c of COLUMNS) chunks[c].push(LETTERS.has(c) ? pending[c].join("") : pending[c]);
      pending = columnsOf(() => []);
    };
    let b = 0;
    for (const [id, record] of changed) {
      const at = lowerBound(ids, id, b);
      if (at > b) {
        flush();
        baseRun(b, at);
      }
      const row = rowOf(id, record);
      for (const c of COLUMNS) pending[c].push(row[c]);
      // A changed record replaces the base's entry of the same id.
      b = at < n && ids[at] === id ? at + 1 : at;
    }
    flush();
    baseRun(b, n);
    const all = columnsOf((c) =>
      LETTERS.has(c) ? chunks[c].join("") : ([] as unknown[]).concat(...chunks[c]),
    );
    return all as unknown as Required<ReservationColumns>;
  }
}

/** The columns, the summary's (but `counts`, which the book does not keep); letters: one per record. */
type Column = keyof ReservationColumns;
const COLUMNS = Object.keys(BookingColumns.properties).filter((c) => c !== "counts") as Column[];
const LETTERS = new Set<Column>(COLUMNS.filter((c) => BookingColumns.properties[c].type === "string"));
const columnsOf = <T>(value: (column: Column) => T): Record<Column, T> =>
  Object.fromEntries(COLUMNS.map((c) => [c, value(c)])) as Record<Column, T>;

type Row = Record<Column, CustomerSummary | number>;
/** A record's entry in each column (recordAt's inverse). */
const rowOf = (id: string, record: ReservationRecord, party = entryPartyOf(record)): Row => ({
  ids: id,
  customers: party?.entry ?? [record.customerId, record.carNumber],
  plates: party?.plate ?? 1,
  amounts: record.amount,
  statuses: STATUS_CODE[record.status],
  startsAt: record.startsAt ?? "",
  endsAt: record.endsAt ?? "",
  charges: record.overstayCharge ?? 0,
  paid: record.paid ? "1" : "0",
});

/**
 * Reservation records in columns: entry i of each column belongs to `ids[i]`; ids strictly
 * ascending. Its customer's entry (`[id, ...plates]`, `erased`, or those sealed as one: opened when
 * read) and its plate's place in it. Statuses one letter each (STATUS_CODE); a window's bounds, or
 * "" for an open-ended reservation.
 */
export interface ReservationColumns {
  readonly ids: readonly string[];
  readonly customers: readonly CustomerSummary[];
  readonly plates: readonly number[];
  readonly amounts: readonly number[];
  readonly statuses: string;
  readonly startsAt: readonly string[];
  readonly endsAt: readonly string[];
  /** What a check-out charged for an overstay (0: nothing); absent: none. */
  readonly charges?: readonly number[];
  /** Whether each was paid ("1": its payment was authorized, else "0"); absent: none was. */
  readonly paid?: string;
}

export const STATUS_CODE: Readonly<Record<RecordedStatus, string>> = {
  RESERVED: "R",
  CHECKED_IN: "I",
  COMPLETED: "D",
  NO_SHOW: "N",
  CANCELED: "C",
  PENDING_PAYMENT: "P",
};
const STATUS_OF: Readonly<Record<string, RecordedStatus>> = Object.fromEntries(
  Object.entries(STATUS_CODE).map(([status, code]) => [code, status as RecordedStatus]),
);

/** The first index at or after `from` whose id is not below `id` (ids ascending). */
function lowerBound(ids: readonly string[], id: string, from: number): number {
  let low = from;
  let high = ids.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if ((ids[mid] as string) < id) low = mid + 1;
    else high = mid;
  }
  return low;
}

/** Binary search; the index of `id`, or -1. */
function indexOf(ids: readonly string[], id: string): number {
  const at = lowerBound(ids, id, 0);
  return ids[at] === id ? at : -1;
}

/** A customer's entry as the book reads it: `[id, ...plates]`, or `erased`. */
type CustomerEntry = readonly string[] | typeof ERASED;
/** An entry's value at `at`: 0 its customer's id, else a plate (`erased` for every one of an erased customer). */
const valueAt = (entry: CustomerEntry, at: number): string =>
  entry === ERASED ? ERASED : (entry[at] as string);

/**
 * The sealed entries of one book's columns, each opened when first read (all at once for
 * a camera's read: their keys read in one statement), kept beside the columns they belong to.
 */
class Unsealed {
  private readonly opened = new Map<string, CustomerEntry>();
  private byPlate: Map<string, string[]> | undefined;

  constructor(private readonly columns: ReservationColumns) {}

  entry(sealed: string): CustomerEntry {
    if (!this.opened.has(sealed)) this.open([sealed]);
    return this.opened.get(sealed) as CustomerEntry;
  }

  private open(entries: readonly CustomerSummary[]): void {
    const sealed = [...new Set(entries.filter((e): e is string => isSealed(e) && !this.opened.has(e)))];
    const plain = openSealedValues(sealed);
    for (const [i, value] of plain.entries())
      this.opened.set(sealed[i] as string, value === ERASED ? ERASED : (JSON.parse(value) as string[]));
  }

  plateKeys(form: string): readonly string[] {
    if (!this.byPlate) {
      const { customers, plates } = this.columns;
      this.open(customers);
      const byPlate = new Map<string, string[]>();
      customers.forEach((entry, i) => {
        if (!isSealed(entry)) return;
        const car = plateIndexKey(valueAt(this.entry(entry), plates[i] as number));
        const key = `${sealedHolder(entry)}#${plates[i]}`;
        const same = byPlate.get(car);
        if (!same) byPlate.set(car, [key]);
        else if (!same.includes(key)) same.push(key);
      });
      this.byPlate = byPlate;
    }
    return this.byPlate.get(form) ?? [];
  }
}
const UNSEALED = new WeakMap<ReservationColumns, Unsealed>();
function unsealedOf(columns: ReservationColumns): Unsealed {
  const found = UNSEALED.get(columns) ?? new Unsealed(columns);
  UNSEALED.set(columns, found);
  return found;
}

/** A record read from a sealed entry of an opening: the entry, and its plate's place in it. */
interface EntryParty {
  readonly entry: string;
  readonly plate: number;
}
/**
 * A record read from a ParkingReserved decoded sealed (event-codec.ts, decodeSealedEvent): its
 * customer id and plate as the event carries them, each sealed alone under the customer's key, and
 * both once opened (`partyValues`; with the record's copies, `amended`, which share this object).
 */
interface EventParty {
  readonly customer: string;
  readonly car: string;
  opened?: readonly [string, string];
}

/** Who each record read sealed is about, so it is held, changed and summarized again unopened. */
const PARTIES = new WeakMap<ReservationRecord, EntryParty | EventParty>();
const entryPartyOf = (record: ReservationRecord): EntryParty | undefined => {
  const party = PARTIES.get(record);
  return party && "entry" in party ? party : undefined;
};
const eventPartyOf = (record: ReservationRecord): EventParty | undefined => {
  const party = PARTIES.get(record);
  return party && "customer" in party ? party : undefined;
};

/** The key a record is held under by customer: its customer's id, or, read sealed, its key's name. */
export const holderKeyOf = (record: ReservationRecord): string => {
  const party = PARTIES.get(record);
  if (!party) return record.customerId;
  return "entry" in party ? entryHolder(party.entry) : sealedHolder(party.customer);
};

/**
 * The key a record is held under by plate: its plate's form, or, read sealed, its key's name and
 * plate's place (an opening's entry) or its sealed plate's IV (an event's: random, never used
 * twice, and short, as an index hashes its keys).
 */
export const plateKeyOf = (record: ReservationRecord): string => {
  const party = PARTIES.get(record);
  if (!party) return plateIndexKey(record.carNumber);
  if ("entry" in party) return entryPlateKey(party.entry, party.plate);
  return isSealed(party.car) ? sealedIv(party.car) : plateIndexKey(party.car);
};
/**
 * `\u0001` and a sealed value's IV's first 15 characters (`pii1.<key id>.<iv>.…`; 90 of its 96
 * random bits): 16 characters at most, which immutable.js hashes without its cache of interned
 * strings (personal-data.ts, sealedHolder).
 */
const sealedIv = (sealed: string): string => {
  const at = sealed.indexOf(".", sealed.indexOf(".", 5) + 1) + 1;
  return `\u0001${sealed.slice(at, at + 15)}`;
};

/**
 * A booking's record as its ParkingReserved makes it (evolve.ts): read sealed (its customer id
 * sealed), its customer and car are opened when first read (a decision on it, an answer showing it).
 */
export function bookedRecord(
  customerId: string,
  carNumber: string,
  rest: Omit<ReservationRecord, "customerId" | "carNumber">,
): ReservationRecord {
  if (!isSealed(customerId)) return { customerId, carNumber, ...rest };
  const party: EventParty = { customer: customerId, car: carNumber };
  const record: ReservationRecord = {
    get customerId() {
      return partyValues(party)[0];
    },
    get carNumber() {
      return partyValues(party)[1];
    },
    ...rest,
  };
  PARTIES.set(record, party);
  return record;
}

/** An event party's customer id and plate, opened (each `erased` when its key is gone). */
function partyValues(party: EventParty): readonly [string, string] {
  openParties([party]);
  return party.opened as readonly [string, string];
}

/** These parties' values opened, those not yet, at once (their keys read in one statement). */
function openParties(parties: readonly EventParty[]): void {
  const closed = parties.filter((p) => !p.opened);
  const sealed = closed.flatMap((p) => [p.customer, p.car].filter(isSealed));
  if (sealed.length === 0) return;
  const plain = new Map(openSealedValues(sealed).map((value, i) => [sealed[i] as string, value]));
  for (const p of closed) p.opened = [plain.get(p.customer) ?? p.customer, plain.get(p.car) ?? p.car];
}

/** The keys a booking of this customer entry (and plate's place in it) is held under, unopened. */
export const entryHolder = (entry: CustomerSummary): string =>
  isSealed(entry) ? sealedHolder(entry) : valueAt(entry, 0);
export const entryPlateKey = (entry: CustomerSummary, plate: number): string =>
  isSealed(entry) ? `${sealedHolder(entry)}#${plate}` : plateIndexKey(valueAt(entry, plate));

/**
 * A record changed (`patch`) as a spread would, except that one loaded sealed stays unopened: its
 * customer and car are read through, not copied (evolve changes a record's status and charges only).
 */
export function amended(record: ReservationRecord, patch: Partial<ReservationRecord>): ReservationRecord {
  const party = PARTIES.get(record);
  if (!party) return { ...record, ...patch };
  const copy = Object.defineProperties({}, Object.getOwnPropertyDescriptors(record)) as ReservationRecord;
  PARTIES.set(copy, party);
  return Object.assign(copy, patch);
}

/** The record at index i, built the way evolve builds one (same fields, same order); a sealed entry opened when read. */
function recordAt(columns: ReservationColumns, i: number): ReservationRecord {
  const startsAt = columns.startsAt[i];
  const endsAt = columns.endsAt[i];
  const charge = columns.charges?.[i] ?? 0;
  const entry = columns.customers[i] as CustomerSummary;
  const plate = columns.plates[i] as number;
  const rest = {
    amount: columns.amounts[i] as number,
    ...(startsAt && endsAt ? { startsAt, endsAt } : {}),
    status: STATUS_OF[columns.statuses[i] as string] as RecordedStatus,
    // The order evolve gives them: a booking is paid (authorized) before a check-out charges it.
    ...(columns.paid?.[i] === "1" ? { paid: true as const } : {}),
    ...(charge > 0 ? { overstayCharge: charge } : {}),
  };
  if (!isSealed(entry)) return { customerId: valueAt(entry, 0), carNumber: valueAt(entry, plate), ...rest };
  // Loaded sealed: its customer and car are opened when first read (a spread reads them).
  const open = () => unsealedOf(columns).entry(entry);
  const record: ReservationRecord = {
    get customerId() {
      return valueAt(open(), 0);
    },
    get carNumber() {
      return valueAt(open(), plate);
    },
    ...rest,
  };
  PARTIES.set(record, { entry, plate });
  return record;
}

const byId = (a: [string, ReservationRecord], b: [string, ReservationRecord]): number =>
  a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
