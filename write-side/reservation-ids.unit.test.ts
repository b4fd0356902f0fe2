import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { keyedReservationIds } from "./reservation-ids.js";

const SECRET = "s".repeat(43);
const UUID_V8 = /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** The id a keyed booking takes today, and the one it took before generations (the last one asked about). */
const NOW = new Date(Date.UTC(2026, 10, 1, 12));
const reservationIdFor = (secret: string, lot: string, customer: string, key: string) =>
  keyedReservationIds(secret, lot, customer, key, NOW).reservationId;
const beforeGenerations = (secret: string, lot: string, customer: string, key: string) =>
  keyedReservationIds(secret, lot, customer, key, NOW).sameRequestAs.at(-1);

describe("reservation ids from an Idempotency-Key", () => {
  it("are UUIDs (version 8), the same for the same lot, customer and key", () => {
    const id = reservationIdFor(SECRET, "lot-1", "CUST1", "order-1");
    expect(id).toMatch(UUID_V8);
    expect(reservationIdFor(SECRET, "lot-1", "CUST1", "order-1")).toBe(id);
  });

  it("before generations stay what they were (bookings made then are still found)", () => {
    expect(beforeGenerations(SECRET, "l", "c", "k")).toBe("6313c6eb-4de0-8c3b-a0da-52ef8661e235");
  });

  it("differ when the lot, the customer, the key or the secret differs", () => {
    fc.assert(
      fc.property(
        fc.tuple(fc.string(), fc.string(), fc.string()),
        fc.tuple(fc.string(), fc.string(), fc.string()),
        ([lotA, customerA, keyA], [lotB, customerB, keyB]) => {
          fc.pre(lotA !== lotB || customerA !== customerB || keyA !== keyB);
          expect(reservationIdFor(SECRET, lotA, customerA, keyA)).not.toBe(
            reservationIdFor(SECRET, lotB, customerB, keyB),
          );
        },
      ),
    );
    // Field boundaries count: ("ab","c") and ("a","bc") are different inputs.
    expect(reservationIdFor(SECRET, "ab", "c", "k")).not.toBe(reservationIdFor(SECRET, "a", "bc", "k"));
    expect(reservationIdFor(SECRET, "l", "c", "k")).not.toBe(reservationIdFor(`${SECRET}x`, "l", "c", "k"));
  });
});

describe("a keyed booking's ids over the idempotency window", () => {
  const day = (n: number, hour = 0) => new Date(Date.UTC(2026, 10, 1 + n, hour));
  it("are the same all day (UTC), and the next day names the day before as the same request", () => {
    const morning = keyedReservationIds(SECRET, "l", "c", "k", day(0, 1));
    const evening = keyedReservationIds(SECRET, "l", "c", "k", day(0, 23));
    expect(evening).toEqual(morning);
    expect(morning.reservationId).toMatch(UUID_V8);
    const next = keyedReservationIds(SECRET, "l", "c", "k", day(1, 0));
    expect(next.reservationId).not.toBe(morning.reservationId);
    expect(next.sameRequestAs).toContain(morning.reservationId);
    // A booking made before generations (one id per key) is found too.
    expect(next.sameRequestAs).toContain(beforeGenerations(SECRET, "l", "c", "k"));
    // Two days on, the first day's id is no longer asked about: that booking is a new request's.
    expect(keyedReservationIds(SECRET, "l", "c", "k", day(2, 0)).sameRequestAs).not.toContain(
      morning.reservationId,
    );
  });
});
