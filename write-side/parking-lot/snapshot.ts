import { type Static, Type } from "@sinclair/typebox";
import { Map as ImmutableMap, List } from "immutable";
import {
  IdIndex,
  type IdLists,
  idListsProblem,
  LayeredMap,
  sortedKeysProblem,
} from "../../platform/layered-map.js";
import { CouponRule, PaymentTerms } from "../../schemas/common.js";
import { LotPlace } from "../../schemas/place.js";
import { plateIndexKey } from "../../schemas/plates.js";
import { precompile, validate } from "../../schemas/validation.js";
import type { Interval } from "./occupancy.js";
import {
  COLUMN_FORMS,
  COLUMNS,
  checkColumns,
  ReservationBook,
  type ReservationColumns,
} from "./reservation-book.js";
import type { ParkingLotState, PaymentAsked, RegisteredLot } from "./state.js";

/**
 * A lot's state as stored in the snapshot store, and back: a head of plain JSON (`headOf`, its
 * collections sorted, so equal states give equal heads whatever order built them) and pages of
 * reservation records in columns. Tests compare states through the same head
 * (test-support/lot-snapshot.ts).
 */

const byKey = <T>(a: [string | number, T], b: [string | number, T]) =>
  a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;

/** Everything of a registered lot but its reservation records, collections sorted: a stored snapshot's head. */
export function headOf(state: RegisteredLot) {
  return {
    kind: "registered" as const,
    ...sameFields(state),
    openEnded: [...state.openEnded.entries()].sort(byKey),
    checkOutRates: [...state.checkOutRates.entries()].sort(byKey),
    windows: [...state.occupancy.buckets.entries()]
      .map(([hour, bucket]): [number, [string, Interval][]] => [hour, [...bucket.entries()].sort(byKey)])
      .sort(byKey),
    prunedBefore: state.occupancy.prunedBefore,
    inLot: [...state.inLot.entries()]
      .map(([id, car]): [string, number | null, number] => [id, finite(car.endsAt), car.checkedInAt])
      .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)),
    byCustomer: [...state.byCustomer.entries()]
      .map(([customer, ids]): [string, string[]] => [customer, [...ids].sort()])
      .sort(byKey),
    closures: [...state.closures],
    archived: state.archived,
    ...(state.paymentAsked.size > 0 ? { paymentAsked: [...state.paymentAsked.entries()].sort(byKey) } : {}),
  };
}

/** The head's plain fields (`PlainFields`) of a state or a head, those it leaves out left out. */
type Plain = Pick<RegisteredLot, keyof typeof PlainFields>;
const sameFields = (from: Plain): Plain =>
  Object.fromEntries(
    Object.keys(PlainFields).flatMap((key) => {
      const value = from[key as keyof Plain];
      return value === undefined ? [] : [[key, value]];
    }),
  ) as Plain;

/** JSON has no Infinity: an open-ended car's window end is stored as null. */
const finite = (n: number): number | null => (Number.isFinite(n) ? n : null);
/* ---------- the stored form: what the snapshot store keeps, and what a cold load decodes ---------- */

/**
 * Version of the stored form below. A snapshot is only as good as the code that folded it: bump
 * this whenever the state, what `evolve` makes of an event, or the encoding changes meaning. The
 * command handler ignores a snapshot of any other version (it folds the whole stream instead),
 * and the snapshotter replaces it with one of this version.
 * 2: the state leaves its ended reservations out (`archived`; decider.ts, `forgetEnded`).
 * 3: cars in the lot, when each open-ended booking was made, closures with their id and whether
 *    they began, and the NO_SHOW status (issue 17: the lot follows the cars and the clock).
 * 4: the rate each open-ended booking was made at (`checkOutRates`; issue 33: a lot's rate changes).
 * 5: the lot's payment terms (`paymentTerms`; issue 38).
 * 6: the paid bookings' money (`payments`) and the PENDING_PAYMENT status (issue 38).
 * 7: payment records end (`paymentEnds`, a record's `endedAt`, `stepsOutstanding`, `failure`;
 *    a reservation's `paid` mark): an older snapshot is ignored as any other version is, and the
 *    lot folded from its whole stream, which evolve reads the same way whatever wrote it.
 * 8: issue 48, payments on their own streams: the lot keeps only what each booking asked of its
 *    payment (`paymentAsked`), no money. A head of an older version (a period opening holds one
 *    whatever its version) still decodes: what its `payments` records say the booking asked is
 *    kept, the rest of them and `paymentEnds` dropped (`askedOfOlder`).
 */
export const SNAPSHOT_VERSION = 8;

/** Reservation records per page: a page stays far below MongoDB's 16 MB document limit. */
export const SNAPSHOT_PAGE_SIZE = 20_000;

const Strings = Type.Array(Type.String());
const Span = Type.Object({ start: Type.Number(), end: Type.Number() }, { additionalProperties: false });
const ClosureSchema = Type.Object(
  { closureId: Type.String(), from: Type.Number(), until: Type.Number(), began: Type.Boolean() },
  { additionalProperties: false },
);
const asked = {
  amount: Type.Integer({ minimum: 0 }),
  currency: Type.String(),
  holdUntil: Type.String(),
  terms: PaymentTerms,
};
const PaymentAskedSchema = Type.Object(asked, { additionalProperties: false });
/** A version 6 or 7 payment record: what its booking asked, and the money (not read any more). */
const OlderPaymentRecord = Type.Object(asked, { additionalProperties: true });
/** The fields a head holds as the state does. */
const PlainFields = {
  parkingLotId: Type.String(),
  name: Type.String(),
  capacity: Type.Integer(),
  hourlyRate: Type.Optional(Type.Integer()),
  maxActivePerCustomer: Type.Integer(),
  couponRule: Type.Optional(CouponRule),
  /** Since issue 49, without a new version: a snapshot of older code has none, as none was set then. */
  gateConfidenceThreshold: Type.Optional(Type.Number()),
  /** Since issue 38 (version 5). */
  paymentTerms: Type.Optional(PaymentTerms),
  /** Since issue 49, without a new version: a snapshot of older code has none, as no place was set then. */
  place: Type.Optional(LotPlace),
  /** Informational (no decision reads it), and evolve can take it below 0: see decider.ts. */
  activeReservations: Type.Integer(),
};
const RegisteredHead = Type.Object(
  {
    kind: Type.Literal("registered"),
    ...PlainFields,
    /** How many reservation records the pages after the head hold together. */
    reservations: Type.Integer({ minimum: 0 }),
    openEnded: Type.Array(Type.Tuple([Type.String(), Type.Number()])),
    /** Since issue 33 (a snapshot without it was written before a rate could change). */
    checkOutRates: Type.Optional(Type.Array(Type.Tuple([Type.String(), Type.Integer()]))),
    windows: Type.Array(Type.Tuple([Type.Integer(), Type.Array(Type.Tuple([Type.String(), Span]))])),
    prunedBefore: Type.Integer(),
    inLot: Type.Array(Type.Tuple([Type.String(), Type.Union([Type.Number(), Type.Null()]), Type.Number()])),
    byCustomer: Type.Array(Type.Tuple([Type.String(), Strings])),
    closures: Type.Array(ClosureSchema),
    /** How many ended reservations the state left out (kept in the snapshot store's archive). */
    archived: Type.Integer({ minimum: 0 }),
    /** Since version 8: what each paid booking asked of its payment. */
    paymentAsked: Type.Optional(Type.Array(Type.Tuple([Type.String(), PaymentAskedSchema]))),
    /**
     * Versions 6 and 7: the paid bookings' money, and its ended records by day. Read for what each
     * booking asked (the rest is its payment stream's since issue 48), never written.
     */
    payments: Type.Optional(Type.Array(Type.Tuple([Type.String(), OlderPaymentRecord]))),
    paymentEnds: Type.Optional(Type.Unknown()),
  },
  { additionalProperties: false },
);
const SnapshotHead = Type.Union([
  Type.Object({ kind: Type.Literal("unregistered") }, { additionalProperties: false }),
  RegisteredHead,
]);
/**
 * A page of reservation records: each string column holds one entry per record joined by ","
 * (no id, plate or instant can contain one: their schemas forbid it, and encodeSnapshot checks;
 * unlike "\n" it needs no escape in JSON, which parses faster), a window bound is empty for an
 * open-ended reservation, a status is one letter. Long strings rather than arrays of short ones,
 * because a cold load parses them: 50,000 records parse and split in about half the time.
 */
const ReservationPage = Type.Object(
  {
    ids: Type.String(),
    customerIds: Type.String(),
    carNumbers: Type.String(),
    amounts: Type.Array(Type.Unknown()),
    statuses: Type.String(),
    startsAt: Type.String(),
    endsAt: Type.String(),
    /** What each check-out charged for an overstay (0: nothing); absent in older snapshots. */
    charges: Type.Optional(Type.Array(Type.Unknown())),
    /** Whether each was paid, "1" or "0" (version 7); absent: none of the page's was. */
    paid: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);
type ReservationPage = Static<typeof ReservationPage>;
/**
 * Compiles the stored form's schemas now, not on a lot's first cold load, which has no time to
 * spare: called by the command side's warm-up, not when this module loads, so that a thread that
 * never loads a lot (the processors thread) does not pay it (issue 50).
 */
export const precompileSnapshotSchemas = (): void => precompile(SnapshotHead, ReservationPage);

const SEPARATOR = ",";

/**
 * A lot's state as stored: `[head, ...pages]`, plain JSON objects. The head is the state without
 * its reservation records; the pages hold the records in columns (see ReservationColumns), ids
 * ascending across pages. Columns rather than one object per record, because a cold load parses
 * them: 50,000 records as columns parse in about a third of the time, and become the lot's
 * reservation book as they are, without a per-record build (reservation-book.ts).
 */
export type SnapshotParts = readonly Record<string, unknown>[];

/** A stored snapshot that cannot be turned back into a state (corrupt, or not this lot's). */
export class SnapshotDecodeError extends Error {
  override name = "SnapshotDecodeError";
}

export function encodeSnapshot(state: ParkingLotState): SnapshotParts {
  if (state.kind === "unregistered") return [{ kind: "unregistered" }];
  // Values joined into a column must not hold the separator. Those of a snapshot's columns cannot
  // (they were split on it), so only the records that came from events are looked at.
  const columns = state.reservations.toColumns((id, record) => {
    for (const [what, value] of [
      ["reservation id", id],
      ["customer id", record.customerId],
      ["car number", record.carNumber],
      ["window start", record.startsAt],
      ["window end", record.endsAt],
    ] as const)
      if (value?.includes(SEPARATOR))
        throw new Error(`a ${what} with a "${SEPARATOR}" cannot be snapshotted`);
  });
  const pages: Record<string, unknown>[] = [];
  for (let from = 0; from < columns.ids.length; from += SNAPSHOT_PAGE_SIZE) {
    const page: Record<string, unknown> = {};
    for (const column of COLUMNS) {
      const part = columns[column].slice(from, from + SNAPSHOT_PAGE_SIZE);
      // A page leaves out the charges and paid marks when none of its records has one.
      if (column === "charges" && !(part as number[]).some((c) => c > 0)) continue;
      if (column === "paid" && !(part as string).includes("1")) continue;
      // Strings joined by SEPARATOR, numbers as an array, letters as a string.
      page[column] = COLUMN_FORMS[column] === "strings" ? (part as string[]).join(SEPARATOR) : part;
    }
    pages.push(page);
  }
  return [{ ...headOf(state), reservations: columns.ids.length }, ...pages];
}

/**
 * The state a stored snapshot of lot `lotId` holds. Throws SnapshotDecodeError when the parts are
 * not a well-formed snapshot of that lot: wrong shapes, columns that do not line up or are not
 * sorted, a record count or an open-ended id that does not match the records.
 */
export function decodeSnapshot(parts: readonly unknown[], lotId: string): ParkingLotState {
  try {
    const [first, ...rest] = parts;
    const head = validate(SnapshotHead, first, "snapshot head");
    if (head.kind === "unregistered") {
      if (rest.length > 0) throw new SnapshotDecodeError("an unregistered lot with reservation pages");
      return { kind: "unregistered" };
    }
    if (head.parkingLotId !== lotId)
      throw new SnapshotDecodeError(`a snapshot of lot ${head.parkingLotId}, not ${lotId}`);
    const pages = rest.map((page) => validate(ReservationPage, page, "snapshot page"));
    const columns = joinPages(pages);
    const problem = checkColumns(columns);
    if (problem) throw new SnapshotDecodeError(`reservation records: ${problem}`);
    if (columns.ids.length !== head.reservations)
      throw new SnapshotDecodeError(
        `${columns.ids.length} reservation records, the head says ${head.reservations}`,
      );
    const reservations = ReservationBook.fromColumns(columns);
    for (const active of [head.openEnded, head.inLot])
      for (const [id] of active)
        if (!reservations.has(id)) throw new SnapshotDecodeError(`active reservation ${id} has no record`);
    // The indexes load as stored, searched by binary search (platform/layered-map.ts): they must be sorted.
    for (const [what, problem] of [
      ["openEnded", sortedKeysProblem(head.openEnded)],
      ["checkOutRates", sortedKeysProblem(head.checkOutRates ?? [])],
      ["byCustomer", idListsProblem(head.byCustomer)],
    ] as const)
      if (problem) throw new SnapshotDecodeError(`${what}: ${problem}`);
    return registeredLot(head, reservations);
  } catch (error) {
    if (error instanceof SnapshotDecodeError) throw error;
    throw new SnapshotDecodeError(error instanceof Error ? error.message : String(error), { cause: error });
  }
}

/** What a stored head holds besides the count of its reservation records. */
export type LotHead = Omit<Static<typeof RegisteredHead>, "reservations" | "paymentEnds">;

/**
 * What the bookings asked of payment, from a head: its own `paymentAsked`, or (a version 6 or 7
 * head) what its payment records say, for the reservations it holds; their money is dropped.
 */
function askedOf(head: LotHead, reservations: ReservationBook): ImmutableMap<string, PaymentAsked> {
  if (head.paymentAsked) return ImmutableMap(head.paymentAsked);
  const asked: [string, PaymentAsked][] = [];
  for (const [id, { amount, currency, holdUntil, terms }] of head.payments ?? [])
    if (reservations.has(id)) asked.push([id, { amount, currency, holdUntil, terms }]);
  return ImmutableMap(asked);
}

/**
 * The registered lot of a snapshot's head and its reservation records. The indexes that grow with
 * the active bookings (`openEnded`, `checkOutRates`, `byCustomer`) keep the head's sorted arrays as
 * their base, and `byPlate` is derived from them when first read: no insert per booking
 * (platform/layered-map.ts). The head's `openEnded`, `checkOutRates` and `byCustomer` must be sorted by
 * key (as `headOf` writes them; `decodeSnapshot` checks); a head made otherwise is sorted here.
 */
export function registeredLot(head: LotHead, reservations: ReservationBook): RegisteredLot {
  const byCustomer = sorted(head.byCustomer);
  return {
    kind: "registered",
    ...sameFields(head),
    reservations,
    openEnded: LayeredMap.fromSorted(sorted(head.openEnded)),
    checkOutRates: LayeredMap.fromSorted(sorted(head.checkOutRates ?? [])),
    occupancy: {
      buckets: ImmutableMap(head.windows.map(([hour, entries]) => [hour, ImmutableMap(entries)] as const)),
      prunedBefore: head.prunedBefore,
    },
    inLot: ImmutableMap(
      head.inLot.map(([id, endsAt, checkedInAt]) => [
        id,
        { endsAt: endsAt ?? Number.POSITIVE_INFINITY, checkedInAt },
      ]),
    ),
    byCustomer: IdIndex.fromSorted(byCustomer),
    byPlate: IdIndex.fromSorted(() => platesOf(byCustomer, reservations)),
    closures: List(head.closures),
    archived: head.archived,
    paymentAsked: askedOf(head, reservations),
  };
}

/** The entries as they are when sorted by key (the usual case, checked in O(n)), else a sorted copy. */
const sorted = <T>(entries: readonly [string, T][]): readonly [string, T][] =>
  sortedKeysProblem(entries) ? [...entries].sort(byKey) : entries;

/**
 * The plate index (state.ts `byPlate`) of the reservations `byCustomer` holds, as id lists sorted by
 * plate: derived, not stored.
 */
function platesOf(byCustomer: IdLists, reservations: ReservationBook): IdLists {
  const byPlate = new Map<string, string[]>();
  for (const [, ids] of byCustomer)
    for (const id of ids) {
      const record = reservations.get(id);
      if (!record) continue;
      const plate = plateIndexKey(record.carNumber);
      const same = byPlate.get(plate);
      if (same) same.push(id);
      else byPlate.set(plate, [id]);
    }
  return [...byPlate.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

function joinPages(pages: readonly ReservationPage[]): ReservationColumns {
  const parts = new Map<string, unknown[]>(COLUMNS.map((column) => [column, []]));
  for (const page of pages) {
    const n = page.amounts.length;
    const absent = { charges: new Array<number>(n).fill(0), paid: "0".repeat(n) };
    for (const column of COLUMNS) {
      const value = page[column] ?? absent[column as keyof typeof absent];
      parts
        .get(column)
        ?.push(COLUMN_FORMS[column] === "strings" ? (value as string).split(SEPARATOR) : value);
    }
  }
  // concat, not flatMap: V8's flatMap is several times slower on arrays of this size.
  const all = (arrays: unknown[]): unknown =>
    arrays.length === 1 ? arrays[0] : ([] as unknown[]).concat(...(arrays as unknown[][]));
  return Object.fromEntries(
    COLUMNS.map((column) => {
      const columnParts = parts.get(column) ?? [];
      return [column, COLUMN_FORMS[column] === "letters" ? columnParts.join("") : all(columnParts)];
    }),
  ) as unknown as ReservationColumns;
}
