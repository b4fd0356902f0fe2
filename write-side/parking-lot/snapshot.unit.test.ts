import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  LOT,
  lotRegistered,
  parkingReserved,
  reservationCanceled,
} from "../../test-support/given-when-then.js";
import { toSnapshot } from "../../test-support/lot-snapshot.js";
import { fold, type ParkingLotEvent, type ParkingLotState } from "./decider.js";
import { reservationsOfPlate } from "./gates.js";
import { openedState } from "./periods.js";
import {
  decodeSnapshot,
  encodeSnapshot,
  SNAPSHOT_PAGE_SIZE,
  SNAPSHOT_VERSION,
  SnapshotDecodeError,
  type SnapshotParts,
} from "./snapshot.js";

const at = (hhmm: string, day = "2024-05-01") => `${day}T${hhmm}:00.000Z`;

/** One of each event, with windows that end and get pruned as the clock moves on. */
const HISTORY: ParkingLotEvent[] = [
  lotRegistered({ capacity: 3, hourlyRate: 3000 }),
  parkingReserved({ reservationId: "open", customerId: "C1" }),
  parkingReserved({
    reservationId: "win",
    customerId: "C2",
    carNumber: "AB-123-CD",
    amount: 6000,
    startsAt: at("10:00"),
    endsAt: at("12:00"),
  }),
  {
    type: "ReservationCheckedIn",
    data: { reservationId: "open", parkingLotId: LOT, customerId: "C1", checkedInAt: at("09:10") },
  },
  {
    type: "ReservationCheckedOut",
    data: { reservationId: "open", parkingLotId: LOT, customerId: "C1", checkedOutAt: at("09:40") },
  },
  parkingReserved({
    reservationId: "gone",
    customerId: "C3",
    amount: 3000,
    startsAt: at("13:00"),
    endsAt: at("14:00"),
  }),
  reservationCanceled({ reservationId: "gone", customerId: "C3", canceledAt: at("09:50") }),
  {
    type: "ParkingLotClosed",
    data: {
      closureId: "works",
      parkingLotId: LOT,
      from: at("18:00"),
      until: at("20:00"),
      reason: "maintenance",
      closedAt: at("10:00"),
    },
  },
  {
    type: "ParkingLotCapacityChanged",
    data: { parkingLotId: LOT, capacity: 4, previousCapacity: 3, changedAt: at("10:05") },
  },
  parkingReserved({
    reservationId: "later",
    customerId: "C1",
    reservedAt: at("09:00", "2024-05-04"),
    amount: 3000,
    startsAt: at("10:00", "2024-05-04"),
    endsAt: at("11:00", "2024-05-04"),
  }),
];

const stored = (state: ParkingLotState): SnapshotParts =>
  JSON.parse(JSON.stringify(encodeSnapshot(state))) as SnapshotParts;

/** A registered lot with `n` reserve/cancel pairs (ids in insertion order, not sorted order). */
function bigLot(n: number): ParkingLotState {
  const events: ParkingLotEvent[] = [lotRegistered({ capacity: 5 })];
  for (let i = 0; i < n; i++) {
    const reservationId = `r${(n - i) * 7919}`;
    events.push(parkingReserved({ reservationId, customerId: `C${i}` }));
    if (i % 3 !== 0) events.push(reservationCanceled({ reservationId, customerId: `C${i}` }));
  }
  return fold(events);
}

describe("the stored form of a lot snapshot", () => {
  it("decodes to the state it encodes", () => {
    for (let n = 0; n <= HISTORY.length; n++) {
      const state = fold(HISTORY.slice(0, n));
      expect(toSnapshot(decodeSnapshot(stored(state), LOT))).toEqual(toSnapshot(state));
    }
  });

  it("splits the records into pages of SNAPSHOT_PAGE_SIZE, ids ascending across pages", () => {
    const state = bigLot(SNAPSHOT_PAGE_SIZE * 2 + 17);
    const parts = stored(state);
    expect(parts).toHaveLength(4); // the head and three pages
    expect(parts[0]).toMatchObject({ kind: "registered", reservations: SNAPSHOT_PAGE_SIZE * 2 + 17 });
    const decoded = decodeSnapshot(parts, LOT);
    expect(toSnapshot(decoded)).toEqual(toSnapshot(state));
    if (decoded.kind !== "registered" || state.kind !== "registered") throw new Error("registered");
    for (const id of ["r7919", `r${7919 * 20_000}`, `r${7919 * 40_017}`, "r1"])
      expect(decoded.reservations.get(id), id).toEqual(state.reservations.get(id));
  });

  it("round-trips a lot whose overstaying car checked out after its window was pruned (counted out once)", () => {
    const state = fold([
      lotRegistered(),
      parkingReserved({ reservationId: "w", startsAt: at("09:00"), endsAt: at("10:00") }),
      {
        type: "ReservationCheckedIn",
        data: { reservationId: "w", parkingLotId: LOT, customerId: "CUST1", checkedInAt: at("09:05") },
      },
      // Two days on, a closure prunes the ended window (one fewer active) ...
      {
        type: "ParkingLotClosed",
        data: {
          closureId: "c",
          parkingLotId: LOT,
          from: at("10:00", "2024-05-03"),
          until: at("11:00", "2024-05-03"),
          reason: "maintenance",
          closedAt: at("09:00", "2024-05-03"),
        },
      },
      // ... and the overstaying car checks out (already counted out: not again).
      {
        type: "ReservationCheckedOut",
        data: {
          reservationId: "w",
          parkingLotId: LOT,
          customerId: "CUST1",
          checkedOutAt: at("09:10", "2024-05-03"),
        },
      },
    ]);
    expect(state.kind === "registered" && state.activeReservations).toBe(0);
    expect(toSnapshot(decodeSnapshot(stored(state), LOT))).toEqual(toSnapshot(state));
  });

  it("refuses a value with the separator of a page's entries (no valid id, plate or instant has one)", () => {
    const state = fold([lotRegistered(), parkingReserved({ reservationId: "a", carNumber: "12가,3456" })]);
    expect(() => encodeSnapshot(state)).toThrow(/car number with a ","/);
  });

  describe("refuses what is not a snapshot of this lot: SnapshotDecodeError, never a state", () => {
    const state = fold([
      ...HISTORY,
      parkingReserved({ reservationId: "z1", customerId: "C9", reservedAt: at("09:00", "2024-05-04") }),
    ]);
    const good = stored(state);
    const [head, page] = good as [Record<string, unknown>, Record<string, unknown>];
    const cases: [string, unknown[]][] = [
      ["nothing", []],
      ["a head that is not an object", ["registered", page]],
      ["a head with a field of the wrong type", [{ ...head, capacity: "4" }, page]],
      ["a head with an unknown field", [{ ...head, extra: 1 }, page]],
      ["another lot's snapshot", [{ ...head, parkingLotId: "other" }, page]],
      ["a missing page", [head]],
      ["an extra page", [head, page, page]],
      ["a page with a missing column", [head, { ...page, statuses: undefined }]],
      ["ids out of order", [head, { ...page, ids: String(page.ids).split(",").reverse().join(",") }]],
      ["columns of different lengths", [head, { ...page, customerIds: "C1" }]],
      ["an unknown status", [head, { ...page, statuses: `X${String(page.statuses).slice(1)}` }]],
      [
        "an amount that is not a number",
        [head, { ...page, amounts: (page.amounts as unknown[]).map(String) }],
      ],
      ["half a window", [head, { ...page, endsAt: String(page.endsAt).replace(/[^,]+/, "") }]],
      ["an open-ended id without a record", [{ ...head, openEnded: ["nobody"] }, page]],
      ["an unregistered lot with pages", [{ kind: "unregistered" }, page]],
    ];
    it.each(cases)("%s", (_what, parts) => {
      expect(() => decodeSnapshot(parts, LOT)).toThrow(SnapshotDecodeError);
    });
    it("(and the unchanged parts decode)", () => {
      expect(toSnapshot(decodeSnapshot(good, LOT))).toEqual(toSnapshot(state));
    });
  });

  describe("loads the indexes of the active bookings as stored, so refuses them unsorted (issue 48)", () => {
    const state = fold([
      lotRegistered({ capacity: 10, hourlyRate: 3000 }),
      parkingReserved({ reservationId: "a", customerId: "C1", carNumber: "12가3456", hourlyRate: 3000 }),
      parkingReserved({ reservationId: "b", customerId: "C2", carNumber: "34나5678", hourlyRate: 3000 }),
    ]);
    const [head, ...pages] = stored(state) as [Record<string, unknown[]>, ...Record<string, unknown>[]];
    const reversed = (field: string) => {
      expect(head[field]?.length, field).toBe(2);
      return [{ ...head, [field]: [...(head[field] as unknown[])].reverse() }, ...pages];
    };
    it.each([
      ["open-ended bookings out of order", () => reversed("openEnded")],
      ["check-out rates out of order", () => reversed("checkOutRates")],
      ["customers out of order", () => reversed("byCustomer")],
      [
        "a customer twice",
        () => [{ ...head, byCustomer: [head.byCustomer?.[0], ...(head.byCustomer ?? [])] }, ...pages],
      ],
      [
        "a customer without ids",
        () => [{ ...head, byCustomer: [["", []], ...(head.byCustomer ?? [])] }, ...pages],
      ],
    ])("%s", (_what, parts) => {
      expect(() => decodeSnapshot(parts(), LOT)).toThrow(SnapshotDecodeError);
    });

    it("and finds bookings by customer, plate and id as the fold does, before and after more events", () => {
      const more: ParkingLotEvent[] = [
        parkingReserved({ reservationId: "c", customerId: "C1", carNumber: "34나5678", hourlyRate: 3000 }),
        reservationCanceled({ reservationId: "a", customerId: "C1" }),
      ];
      let folded: ParkingLotState = state;
      let decoded = decodeSnapshot(stored(state), LOT);
      for (const event of [undefined, ...more]) {
        if (event) {
          folded = fold([event], folded);
          decoded = fold([event], decoded);
        }
        if (folded.kind !== "registered" || decoded.kind !== "registered") throw new Error("unregistered");
        for (const plate of ["12가3456", "34나5678"])
          expect(reservationsOfPlate(decoded, plate)).toEqual(reservationsOfPlate(folded, plate));
        for (const customer of ["C1", "C2"])
          expect([...(decoded.byCustomer.get(customer) ?? [])].sort()).toEqual(
            [...(folded.byCustomer.get(customer) ?? [])].sort(),
          );
        expect([...decoded.openEnded].sort()).toEqual([...folded.openEnded].sort());
        expect([...decoded.checkOutRates].sort()).toEqual([...folded.checkOutRates].sort());
        expect(toSnapshot(decoded)).toEqual(toSnapshot(folded));
      }
      expect(reservationsOfPlate(decoded, "34나5678")).toEqual(["b", "c"]);
    });
  });

  describe("issue 48: what a paid booking asked of payment, and no money", () => {
    const TERMS = {
      currency: "KRW",
      deposit: 2000,
      cancellation: { freeUntilMinutesBefore: 60, feePercent: 50 },
      noShowFee: 1000,
    };
    const hold = (holdUntil: string) => ({ amount: 6000, currency: "KRW", holdUntil });
    const paid: ParkingLotEvent[] = [
      lotRegistered({ capacity: 3, hourlyRate: 3000 }),
      {
        type: "ParkingLotPaymentTermsChanged",
        data: { parkingLotId: LOT, terms: TERMS, changedAt: at("08:00") },
      },
      // A saved payment method is the saga's to use (sealed in the event), not the lot's to keep.
      parkingReserved({
        reservationId: "card",
        customerId: "C1",
        amount: 6000,
        startsAt: at("10:00"),
        endsAt: at("12:00"),
        payment: { ...hold(at("08:15")), method: "pm_card_visa" },
      }),
      parkingReserved({ reservationId: "intent", customerId: "C2", payment: hold(at("08:20")) }),
    ];

    it("round-trips what each booking asked (a saved method's booking too)", () => {
      const state = fold(paid);
      expect(toSnapshot(state).state).toMatchObject({
        paymentAsked: [
          ["card", { ...hold(at("08:15")), terms: TERMS }],
          ["intent", { ...hold(at("08:20")), terms: TERMS }],
        ],
      });
      expect(toSnapshot(decodeSnapshot(stored(state), LOT))).toEqual(toSnapshot(state));
    });

    /** The head as version 7 wrote it: a payment record of each paid booking, and their ends by day. */
    const olderParts = (): SnapshotParts => {
      const [head, ...pages] = stored(fold(paid));
      const { paymentAsked, ...rest } = head as { paymentAsked: [string, Record<string, unknown>][] };
      const record = (asked: Record<string, unknown>, state: string) => ({
        ...asked,
        state,
        settled: false,
        authorized: state === "authorized" ? 6000 : 0,
        captured: 0,
        released: 0,
        refunded: 0,
        charged: 0,
        refundsOutstanding: [],
        steps: [],
        stepsOutstanding: [],
        failures: [],
        facts: [],
      });
      const payments = [
        ...paymentAsked.map(([id, asked]) => [id, record(asked, "pending")]),
        // A paid booking the head no longer holds (ended, its record swept): its money is dropped.
        ["swept", record({ ...hold(at("07:00")), terms: TERMS }, "authorized")],
      ];
      const paymentEnds = { byDay: [[19844, ["swept"]]], lingering: [] };
      return [{ ...rest, payments, paymentEnds }, ...pages];
    };

    it("decodes an older head's payment records to what each booking it holds asked, the rest dropped", () => {
      expect(toSnapshot(decodeSnapshot(olderParts(), LOT))).toEqual(toSnapshot(fold(paid)));
    });

    it("and a period opening written with such a head opens the same state", () => {
      const opened = openedState({
        parkingLotId: LOT,
        period: 1,
        openedAt: at("09:00"),
        version: 7,
        state: [...olderParts()],
        ended: [],
      });
      expect(toSnapshot(opened)).toEqual(toSnapshot(fold(paid)));
    });
  });

  it("is what SNAPSHOT_VERSION says: a change to the state, to evolve or to the encoding needs a new version", () => {
    // A snapshot is only as good as the code that folded it: code that folds differently must not
    // read old snapshots as its own. If this fails, do NOT update the hash of an existing version:
    // bump SNAPSHOT_VERSION (the old snapshots are then ignored and replaced) and add the new hash.
    const HASHES: Record<number, string> = {
      1: "f28f81faa6ca0350848bed16efa812e78486ba1ebcb4253adec3f91629c0080f",
      2: "8cf917c8df745f8fe38bad575e52cb9780a8242bf95c870dd4b7411ecf239e9d",
      3: "c71556d96fff08219f5d5bc785d7db2b6a494e8ca8be45e4cd14a1795dae7b17",
      4: "c35f073017b09033562ea9be4634402df8f8338fd08747ae577beb0ba963b9e7",
      // 5 adds the lot's payment terms; this history has none, so it encodes as 4 did.
      5: "c35f073017b09033562ea9be4634402df8f8338fd08747ae577beb0ba963b9e7",
      // 6 adds the paid bookings' money and PENDING_PAYMENT (issue 38); this history has no paid
      // booking (payments off), so it encodes as 5 did. snapshot.property covers paid ones.
      6: "c35f073017b09033562ea9be4634402df8f8338fd08747ae577beb0ba963b9e7",
      // 7: payment records end (their window, what is still outstanding) and a reservation's
      // `paid` mark; this history has no paid booking either, so it encodes as 6 did.
      7: "c35f073017b09033562ea9be4634402df8f8338fd08747ae577beb0ba963b9e7",
      // 8: the lot keeps what each paid booking asked of payment, no money (issue 48); this history
      // has no paid booking, so it encodes as 7 did.
      8: "c35f073017b09033562ea9be4634402df8f8338fd08747ae577beb0ba963b9e7",
    };
    const hash = createHash("sha256")
      .update(JSON.stringify(encodeSnapshot(fold(HISTORY))))
      .digest("hex");
    expect(hash).toBe(HASHES[SNAPSHOT_VERSION]);
  });
});
