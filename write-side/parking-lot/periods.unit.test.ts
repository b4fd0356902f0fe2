import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ParkingLotCommand } from "../../schemas/commands.js";
import {
  cancelReservation,
  NOW as GIVEN_NOW,
  given,
  LOT,
  lotRegistered,
  reserveParking,
} from "../../test-support/given-when-then.js";
import { fold, plainOf } from "../../test-support/lot-state.js";
import { keyedReservationIds } from "../reservation-ids.js";
import { bookedIdOf } from "./booking.js";
import { decide, evolve, initialState, type ParkingLotEvent, type ParkingLotState } from "./decider.js";
import { liveState, openingOf } from "./period-books.js";
import { KEEP_ENDED_MS, lotPeriodOfStream, parkingLotOfStream, parkingLotStream } from "./periods.js";

describe("a lot's period streams (issue 48)", () => {
  it("maps lot and period to one stream id and back; period 0 is the lot's first stream", () => {
    const lotId = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,20}$/);
    fc.assert(
      fc.property(lotId, fc.nat({ max: 1_000_000 }), (parkingLotId, period) => {
        const stream = parkingLotStream(parkingLotId, period);
        expect(lotPeriodOfStream(stream)).toEqual({ parkingLotId, period });
        expect(parkingLotOfStream(stream)).toBe(parkingLotId);
        expect(stream.startsWith("parkingLot-")).toBe(true);
      }),
    );
    expect(parkingLotStream("A-1")).toBe("parkingLot-A-1");
    expect(parkingLotStream("A-1", 3)).toBe("parkingLot-A-1/3");
  });

  it("reads no lot and period out of a stream that is not one of them", () => {
    for (const stream of [
      "parkingLot-",
      "parkingLot-A/0",
      "parkingLot-A/01",
      "parkingLot-A/",
      "parkingLot-/2",
      "parkingLot-A/1x",
      "coupon-A",
      "gate-A/1",
    ])
      expect(lotPeriodOfStream(stream), stream).toBeUndefined();
  });
});

const NOW = Date.parse("2026-11-22T11:00:00.000Z");
const iso = (ms: number) => new Date(ms).toISOString();

function run(commands: readonly ParkingLotCommand[]): ParkingLotState {
  let state = initialState;
  for (const command of commands) {
    const decision = decide(command, state);
    if (decision.ok) state = decision.events.reduce(evolve, state);
  }
  return state;
}

const register: ParkingLotCommand = {
  type: "RegisterParkingLot",
  parkingLotId: "L",
  name: "Lot L",
  capacity: 10,
  now: iso(NOW),
};
const reserve = (id: string, at = NOW): ParkingLotCommand => ({
  type: "ReserveParking",
  reservationId: id,
  parkingLotId: "L",
  customerId: `C${id}`,
  carNumber: "10더8612",
  amount: 5000,
  now: iso(at),
});
const cancel = (id: string, at: number): ParkingLotCommand => ({
  type: "CancelReservation",
  reservationId: id,
  parkingLotId: "L",
  reason: "changed plans",
  now: iso(at),
});

describe("a period's opening", () => {
  const old = NOW - KEEP_ENDED_MS - 60_000;
  const recent = NOW - KEEP_ENDED_MS + 60_000;
  const state = run([
    register,
    reserve("live", old),
    reserve("ended-long-ago", old),
    cancel("ended-long-ago", old),
    reserve("ended-recently", old),
    cancel("ended-recently", recent),
  ]);

  it("is the live state: evolve replaces the lot's state with it, whatever came before", () => {
    const opening = openingOf(liveState(state, NOW), "L", 1, NOW);
    const opened = evolve(initialState, opening);
    expect(plainOf(opened)).toEqual(plainOf(liveState(state, NOW)));
    // The same opening on any state: a fold may start at an opening.
    expect(plainOf(evolve(run([register, reserve("x")]), opening))).toEqual(plainOf(opened));
    // What it carries goes on into the next opening (the ended times with it).
    expect(plainOf(evolve(initialState, openingOf(liveState(opened, NOW), "L", 2, NOW)))).toEqual(
      plainOf(opened),
    );
  });

  it("keeps what is live and what ended less than 25 h before it; the rest is dropped", () => {
    const opened = evolve(initialState, openingOf(liveState(state, NOW), "L", 1, NOW));
    if (opened.kind !== "registered") throw new Error("not registered");
    expect(opened.reservations.has("live")).toBe(true);
    expect(opened.reservations.has("ended-recently")).toBe(true);
    expect(opened.reservations.has("ended-long-ago")).toBe(false);
    // The dropped ones are counted (issue 68: forgotten, no archive keeps them).
    expect(opened.archived).toBe(1);
    // The kept ended one answers as on the whole state; the forgotten one is unknown.
    const again = cancel("ended-recently", NOW);
    expect(decide(again, opened)).toEqual(decide(again, state));
    expect(decide(cancel("ended-long-ago", NOW), opened)).toMatchObject({
      ok: false,
      rejection: { code: "ReservationNotFound" },
    });
  });

  it("decides every command on the live state as on the whole state", () => {
    const opened = evolve(initialState, openingOf(liveState(state, NOW), "L", 1, NOW));
    for (const command of [reserve("new", NOW), cancel("live", NOW), reserve("live", NOW)] as const) {
      const [a, b] = [decide(command, opened), decide(command, state)];
      expect(a).toEqual(b);
      if (a.ok && b.ok) {
        const applied = (s: ParkingLotState) =>
          a.events.reduce<ParkingLotState>((x, e: ParkingLotEvent) => evolve(x, e), s);
        expect(plainOf(liveState(applied(opened), NOW))).toEqual(plainOf(liveState(applied(state), NOW)));
      }
    }
  });

  it("remembers a keyed booking for the idempotency window (25 h after it ended): within, a retry is the same booking; after, a new request", () => {
    // "kept": booked with an Idempotency-Key (its id is the key's) and canceled at NOW.
    const keyed = run([register, reserve("kept", NOW), cancel("kept", NOW)]);
    const retry = reserve("kept", NOW);
    const openedAt = (at: number) => evolve(initialState, openingOf(liveState(keyed, at), "L", 1, at));
    // Within the window (24 h, and up to 25 h, after it ended): the retry answers as on the whole state.
    for (const at of [NOW + 24 * 3_600_000, NOW + KEEP_ENDED_MS - 1]) {
      expect(decide(retry, openedAt(at)), `opened ${at - NOW} ms after`).toEqual(decide(retry, keyed));
      expect(decide(retry, openedAt(at))).toMatchObject({ ok: true, events: [] });
    }
    // After it: the lot no longer knows the key's booking; the same key books anew.
    const after = decide(retry, openedAt(NOW + KEEP_ENDED_MS + 1));
    expect(after).toMatchObject({ ok: true, events: [{ type: "ParkingReserved" }] });
    expect(KEEP_ENDED_MS).toBeGreaterThanOrEqual(24 * 3_600_000);
  });

  it("gives a key reused after the window a new id: the new booking never lands on the forgotten one's", () => {
    const SECRET = "s".repeat(43);
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 3 * 86_400_000 }),
        fc.integer({ min: 0, max: 4 * 86_400_000 }),
        (offset, wait) => {
          const bookedAt = NOW + offset;
          const asked = (at: number): ParkingLotCommand => {
            const ids = keyedReservationIds(SECRET, "L", "C1", "order-7", new Date(at));
            return {
              type: "ReserveParking",
              reservationId: ids.reservationId,
              sameRequestAs: [...ids.sameRequestAs],
              parkingLotId: "L",
              customerId: "C1",
              carNumber: "10더8612",
              amount: 5000,
              now: iso(at),
            };
          };
          const apply = (state: ParkingLotState, command: ParkingLotCommand): ParkingLotState => {
            const decision = decide(command, state);
            if (!decision.ok) throw new Error(JSON.stringify(decision));
            return decision.events.reduce<ParkingLotState>((x, e: ParkingLotEvent) => evolve(x, e), state);
          };
          const kept = apply(run([register]), asked(bookedAt));
          const bookedId = [...reservationIdsOf(kept)][0] as string;
          const ended = apply(kept, cancel(bookedId, bookedAt));
          const retryAt = bookedAt + wait;
          const opened = evolve(initialState, openingOf(liveState(ended, retryAt), "L", 1, retryAt));
          const again = decide(asked(retryAt), opened);
          if (!again.ok) throw new Error(JSON.stringify(again));
          if (wait < 24 * 3_600_000) {
            // Within the window: the same booking, answered again (whatever day it is now).
            expect(again.events).toEqual([]);
          } else if (again.events.length > 0) {
            // Booked anew: under an id of its own, never the forgotten booking's.
            const made = again.events[0] as ParkingLotEvent & { data: { reservationId: string } };
            expect(made.data.reservationId).not.toBe(bookedId);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});

/**
 * Issue 68, item 3: a keyed booking is remembered for a stated window (docs/api.md: at least 24
 * hours) inside the period openings' summaries; a key reused after it is a new request. The
 * lot's history here holds an opening, as a lot's stream does once its books closed.
 */
describe("an Idempotency-Key through the period openings: remembered within its window, new after it", () => {
  const SECRET = "k".repeat(43);
  const T = Date.parse(GIVEN_NOW);
  const HOUR = 3_600_000;
  /** The customer's booking request with key "order-7", sent at `at` (its ids of that UTC day). */
  const book = (at: number) => {
    const ids = keyedReservationIds(SECRET, LOT, "CUST1", "order-7", new Date(at));
    return reserveParking({ ...ids, sameRequestAs: [...ids.sameRequestAs], now: iso(at) });
  };
  const first = given([lotRegistered({ capacity: 10 })]).when(book(T));
  if (!first.decision.ok) throw new Error("the first request books");
  const firstId = bookedIdOf(book(T), { reservations: new Set<string>() });
  const booked: ParkingLotEvent[] = [lotRegistered({ capacity: 10 }), ...first.decision.events];
  const canceled = given(booked).when(
    cancelReservation({ reservationId: firstId, now: iso(T + HOUR) }),
  ).decision;
  if (!canceled.ok) throw new Error("the booking cancels");
  /** The lot's history: booked at T (and canceled an hour later, if `ended`), then a period opened at `openedAt`. */
  const historyOpenedAt = (openedAt: number, ended = true) => {
    const before = ended ? [...booked, ...canceled.events] : booked;
    const opening = openingOf(liveState(fold(before), openedAt), LOT, 1, openedAt);
    return { history: [...before, opening], opening };
  };

  it("within the window (the next UTC day, after a period opened), the same key answers the first booking", () => {
    const { history } = historyOpenedAt(T + 20 * HOUR);
    const retry = book(T + 23 * HOUR); // 08:00 the next UTC day: its own day's id names the day before's
    expect(retry.reservationId).not.toBe(firstId);
    const { state } = given(history).when(retry).then([]);
    expect(bookedIdOf(retry, state as { reservations: { has(id: string): boolean } })).toBe(firstId);
  });

  it("after the window (controlled clock), the opening carries no key of it and the same key books anew", () => {
    const openedAt = T + HOUR + KEEP_ENDED_MS + 1;
    const { history, opening } = historyOpenedAt(openedAt);
    expect(opening.data.summary.bookings.ids).not.toContain(firstId);
    const retry = book(openedAt);
    const { decision } = given(history).when(retry);
    expect(decision).toMatchObject({ ok: true, events: [{ type: "ParkingReserved" }] });
    const made = decision.ok ? decision.events[0] : undefined;
    expect(made?.type === "ParkingReserved" && made.data.reservationId).toBe(retry.reservationId);
    expect(made?.type === "ParkingReserved" && made.data.reservationId).not.toBe(firstId);
  });

  it("a booking still live is a new request too once its key's days are past (48 h on)", () => {
    const { history, opening } = historyOpenedAt(T + 49 * HOUR, false);
    expect(opening.data.summary.bookings.ids).toContain(firstId);
    const retry = book(T + 49 * HOUR);
    expect(given(history).when(retry).decision).toMatchObject({
      ok: true,
      events: [{ type: "ParkingReserved" }],
    });
  });
});

function reservationIdsOf(state: ParkingLotState): Iterable<string> {
  if (state.kind !== "registered") throw new Error("not registered");
  return [...state.reservations].map(([id]) => id);
}

describe("closing the books, decided by the lot (issue 68)", () => {
  const closeBooks = (at: number, events = 1, bound = 100, period = 0): ParkingLotCommand => ({
    type: "CloseBooks",
    parkingLotId: "L",
    period,
    events,
    bound,
    now: iso(at),
  });
  // 2026-11-22T11:00Z is 20:00 in Seoul: the lot's local day ends at 15:00Z, UTC's at 24:00Z.
  const seoul = run([{ ...register, timeZone: "Asia/Seoul" }]);
  const midnightSeoul = Date.parse("2026-11-22T15:00:00.000Z");

  it("refuses NotDue within the lot's local day and under the size bound, naming when it falls due", () => {
    expect(decide(closeBooks(midnightSeoul - 1), seoul)).toEqual({
      ok: false,
      rejection: { code: "NotDue", parkingLotId: "L", at: iso(midnightSeoul) },
    });
  });

  it("is due at the lot's local midnight (its time zone), not UTC's", () => {
    const decision = decide(closeBooks(midnightSeoul, 7), seoul);
    expect(decision).toMatchObject({
      ok: true,
      events: [{ type: "LotBooksClosed", data: { period: 0, nextPeriod: 1, summary: { events: 7 } } }],
    });
    const utc = run([register]);
    expect(decide(closeBooks(midnightSeoul), utc)).toMatchObject({
      ok: false,
      rejection: { code: "NotDue" },
    });
    expect(decide(closeBooks(Date.parse("2026-11-23T00:00:00.000Z")), utc).ok).toBe(true);
  });

  it("is due at the size bound whatever the hour, and never without a bound on a lot's first day", () => {
    expect(decide(closeBooks(NOW, 100, 100), seoul).ok).toBe(true);
    expect(decide(closeBooks(NOW, 99, 100), seoul).ok).toBe(false);
    expect(decide(closeBooks(NOW, 10_000, 0), seoul).ok).toBe(false);
  });

  it("counts the day from the period's opening: a period opened after midnight is not due until the next", () => {
    const opening = openingOf(liveState(seoul, midnightSeoul + 60_000), "L", 1, midnightSeoul + 60_000);
    const opened = evolve(seoul, opening);
    expect(decide(closeBooks(midnightSeoul + 3_600_000, 1, 100, 1), opened).ok).toBe(false);
    expect(decide(closeBooks(midnightSeoul + 24 * 3_600_000, 1, 100, 1), opened)).toMatchObject({
      ok: true,
      events: [{ type: "LotBooksClosed", data: { period: 1, nextPeriod: 2 } }],
    });
  });

  it("refuses a lot that is not registered", () => {
    expect(decide(closeBooks(NOW, 100, 100), initialState)).toMatchObject({
      ok: false,
      rejection: { code: "LotNotFound" },
    });
  });
});
