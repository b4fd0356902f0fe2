import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MemoryDataKeys } from "../../platform/data-keys/port.js";
import { systemActor } from "../../schemas/actor.js";
import { encodeEvent } from "../../schemas/event-codec.js";
import { holderOf, withPersonalDataKeys } from "../../schemas/personal-data.js";
import {
  bookedRecord,
  holderKeyOf,
  plateKeyOf,
  ReservationBook,
  type ReservationRecord,
} from "./reservation-book.js";

/**
 * A lot's reservations by id (reservation-book.ts), as a page of a lot's table as of a moment walks
 * them (read-api/views/reservation-view.ts heldReservations): from where the page before stopped.
 */
const record = fc.record({
  customerId: fc.constantFrom("C1", "C2", "C3"),
  carNumber: fc.constantFrom("12가3456", "34나7890"),
  amount: fc.nat(10_000),
  status: fc.constantFrom("RESERVED", "CHECKED_IN", "COMPLETED", "CANCELED", "NO_SHOW") as fc.Arbitrary<
    ReservationRecord["status"]
  >,
}) as fc.Arbitrary<ReservationRecord>;
const entries = fc.array(fc.tuple(fc.stringMatching(/^[a-f0-9]{1,4}$/), record), { maxLength: 60 });

/** Both kinds of book: built event by event, and loaded from columns with changes on top. */
const books = (base: [string, ReservationRecord][], changes: [string, ReservationRecord][]) => {
  const built = ReservationBook.of([...base, ...changes]);
  let loaded = ReservationBook.fromColumns(ReservationBook.of(base).toColumns());
  for (const [id, r] of changes) loaded = loaded.set(id, r);
  return { built, loaded };
};

describe("a reservation book's entries from an index", () => {
  it("are the entries from that one on in id order, for either kind of book and any index", () => {
    fc.assert(
      fc.property(entries, entries, fc.integer({ min: -2, max: 130 }), (base, changes, from) => {
        for (const book of Object.values(books(base, changes))) {
          const all = [...book.entries()];
          expect(all.map(([id]) => id)).toEqual([...new Set(all.map(([id]) => id))].sort());
          expect([...book.entries(from)]).toEqual(all.slice(Math.max(0, from)));
        }
      }),
    );
  });

  it("page after page give every entry once, in order", () => {
    fc.assert(
      fc.property(entries, entries, fc.integer({ min: 1, max: 7 }), (base, changes, size) => {
        for (const book of Object.values(books(base, changes))) {
          const pages: [string, ReservationRecord][] = [];
          for (let from = 0; ; from += size) {
            const page = [...book.entries(from)].slice(0, size);
            pages.push(...page);
            if (page.length < size) break;
          }
          expect(pages).toEqual([...book.entries()]);
        }
      }),
    );
  });

  it("sorts a book once: the next page of the same state merges and sorts nothing again", () => {
    const { loaded } = books(
      [
        ["b", { customerId: "C1", carNumber: "x", amount: 1, status: "RESERVED" }],
        ["d", { customerId: "C2", carNumber: "y", amount: 2, status: "RESERVED" }],
      ],
      [["c", { customerId: "C3", carNumber: "z", amount: 3, status: "CANCELED" }]],
    );
    expect(loaded.toColumns()).toBe(loaded.toColumns());
    expect([...loaded.entries(1)].map(([id]) => id)).toEqual(["c", "d"]);
  });
});

/**
 * Issue 68: a booking read sealed is held by customer and by plate under keys of 16 characters at
 * most (immutable.js hashes a longer one through its cache of interned strings, ~1 µs a key: a
 * quarter of a cold lot's fold), and its customer's key names the same holder the decider asks for.
 */
describe("a booking read sealed", () => {
  it("is held under keys of at most 16 characters, its customer's as holderOf names it", () => {
    const keys = new MemoryDataKeys();
    withPersonalDataKeys(keys, () => {
      const { data } = encodeEvent(
        {
          type: "ParkingReserved",
          data: {
            reservationId: "r1",
            parkingLotId: "L",
            customerId: "C1",
            carNumber: "12가3456",
            amount: 5000,
            reservedAt: "2026-11-26T12:00:00.000Z",
          },
        },
        { correlationId: "c", causationId: "c", actor: systemActor("test") },
      ) as { data: { customerId: string; carNumber: string } };
      const record = bookedRecord(data.customerId, data.carNumber, { amount: 5000, status: "RESERVED" });
      expect(holderKeyOf(record)).toBe(holderOf("C1"));
      expect(holderKeyOf(record).length).toBeLessThanOrEqual(16);
      expect(plateKeyOf(record).length).toBeLessThanOrEqual(16);
      expect(plateKeyOf(record)).not.toBe(holderKeyOf(record));
      expect(record.carNumber).toBe("12가3456");
    });
  });
});
