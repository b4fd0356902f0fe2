import { Type } from "@sinclair/typebox";
import { ParkingLotId, ReservationId, Timestamp } from "./common.js";
import { defineEvent } from "./event-definition.js";

/**
 * The lot's period facts (issue 48, item 2; docs/domain.md, "Periods"), on the lot's stream like
 * every fact of schemas/lot-events.ts, which lists them among the lot's types.
 */

const strict = { additionalProperties: false } as const;

/**
 * Issue 48: the books of one period of the lot close (docs/domain.md, "Periods"): the last event of
 * the period's stream; the next period's stream opens with LotPeriodOpened. `summary` counts what
 * the period's stream holds; it is informational (no decision reads it).
 */
export const LotBooksClosedData = Type.Object(
  {
    parkingLotId: ParkingLotId,
    period: Type.Integer({ minimum: 0 }),
    nextPeriod: Type.Integer({ minimum: 1 }),
    closedAt: Timestamp,
    summary: Type.Object(
      {
        /** Events of the period's stream before this one. */
        events: Type.Integer({ minimum: 0 }),
        activeReservations: Type.Integer(),
        /** Reservation records the next period's opening carries (active ones and recently ended ones). */
        carried: Type.Integer({ minimum: 0 }),
      },
      strict,
    ),
  },
  { ...strict, $id: "LotBooksClosed" },
);

export const LotBooksClosedEvent = defineEvent({
  type: "LotBooksClosed",
  schema: LotBooksClosedData,
  stream: "lot",
  recordTime: "closedAt",
  audit: (d, by) =>
    `${by} closed the books of lot ${d.parkingLotId} for period ${d.period} after ${d.summary.events} events (${d.summary.activeReservations} reservations active)`,
});

/**
 * Issue 48: the first event of a period's stream (k ≥ 1): the lot's live state as the previous
 * period closed it, in the lot's state codec (write-side/parking-lot/snapshot.ts, `version` its
 * SNAPSHOT_VERSION), and when each reservation it carries that has ended did end (`ended`: its id
 * and epoch ms), so a retry or a cancel of one still answers as before for 25 hours. A fold of the
 * lot starts here: evolve replaces its state with this one.
 */
export const LotPeriodOpenedData = Type.Object(
  {
    parkingLotId: ParkingLotId,
    period: Type.Integer({ minimum: 1 }),
    openedAt: Timestamp,
    version: Type.Integer({ minimum: 1 }),
    state: Type.Array(Type.Object({}, { additionalProperties: true }), { minItems: 1 }),
    ended: Type.Array(Type.Object({ reservationId: ReservationId, endedAt: Type.Number() }, strict)),
  },
  { ...strict, $id: "LotPeriodOpened" },
);

export const LotPeriodOpenedEvent = defineEvent({
  type: "LotPeriodOpened",
  schema: LotPeriodOpenedData,
  stream: "lot",
  recordTime: "openedAt",
  audit: (d, by) => `${by} opened period ${d.period} of lot ${d.parkingLotId} with the lot's live state`,
  personalValues: (d, each) => ({ ...d, state: openingPersonalValues(d.state, each) }),
});

/** The separator of the state's record columns (write-side/parking-lot/snapshot.ts). */
const SEPARATOR = ",";

type Part = Record<string, unknown>;

/**
 * The personal values of an opening's state (the lot's state codec, write-side/parking-lot/
 * snapshot.ts: `[head, ...pages]`), each replaced by `each(its customer, it)`, so that each is
 * sealed under its customer's data key as ParkingReserved seals the same field (issue 36): the
 * customer ids of the head's `byCustomer`, and in each page of records the `customerIds` and
 * `carNumbers` columns (values joined by ','; no sealed value holds one). Opened, an erased
 * customer's read `erased`, as their ParkingReserved does: their bookings in `byCustomer` are
 * gathered under it, as a fold of their erased events gathers them.
 */
function openingPersonalValues(
  state: readonly Part[],
  each: (subject: string, value: string) => string,
): Part[] {
  const [head, ...pages] = state;
  if (head === undefined) return [];
  return [headValues(head, each), ...pages.map((page) => pageValues(page, each))];
}

function headValues(head: Part, each: (subject: string, value: string) => string): Part {
  if (!Array.isArray(head.byCustomer)) return head;
  const byCustomer = new Map<string, string[]>();
  for (const [customer, ids] of head.byCustomer as [string, string[]][]) {
    const named = each(customer, customer);
    byCustomer.set(named, [...(byCustomer.get(named) ?? []), ...ids]);
  }
  // Sorted again, as the codec reads them (its `byCustomer` keys strictly ascending): `erased` or a
  // sealed value sorts elsewhere than the id it replaces, and merged lists are each sorted.
  const sorted = [...byCustomer]
    .map(([customer, ids]): [string, string[]] => [customer, ids.sort(byText)])
    .sort((a, b) => byText(a[0], b[0]));
  return { ...head, byCustomer: sorted };
}

const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function pageValues(page: Part, each: (subject: string, value: string) => string): Part {
  if (typeof page.customerIds !== "string" || typeof page.carNumbers !== "string") return page;
  const customers = page.customerIds.split(SEPARATOR);
  const cars = page.carNumbers.split(SEPARATOR);
  return {
    ...page,
    customerIds: customers.map((customer) => each(customer, customer)).join(SEPARATOR),
    carNumbers: cars.map((car, i) => each(customers[i] ?? "", car)).join(SEPARATOR),
  };
}
