import { describe, expect, it } from "vitest";
import type { ParkingLotCommand } from "../../schemas/commands.js";
import { quote } from "../../schemas/pricing.js";
import {
  given,
  LOT,
  lotRegistered,
  NOW,
  parkingReserved,
  reserveParking,
} from "../../test-support/given-when-then.js";
import { fold } from "../../test-support/lot-state.js";
import { decide, type ParkingLotEvent, type ParkingLotState, reservationStatus } from "./decider.js";
import type { Occupancy } from "./occupancy.js";

/** How many windows the occupancy index holds. */
const windowCount = (occupancy: Occupancy): number =>
  occupancy.buckets.reduce((sum, bucket) => sum + bucket.size, 0);

/* Time windows, prices, check-in/out, closures and capacity changes, given/when/then. NOW is 09:00Z. */

const at = (hhmm: string, day = "2024-05-01") => `${day}T${hhmm}:00.000Z`;
const windowed = (
  id: string,
  from: string,
  until: string,
  over: Partial<Parameters<typeof reserveParking>[0]> = {},
) =>
  reserveParking({
    reservationId: id,
    customerId: `C-${id}`,
    startsAt: at(from),
    endsAt: at(until),
    ...over,
  });

/** Runs commands in order the way the command handler does, returning every event and the state. */
function run(commands: ParkingLotCommand[], history: ParkingLotEvent[] = [lotRegistered()]) {
  let state: ParkingLotState = fold(history);
  const outcomes = commands.map((command) => {
    const decision = decide(command, state);
    if (decision.ok) state = fold(decision.events, state);
    return decision.ok ? "ok" : decision.rejection.code;
  });
  return { outcomes, state };
}

describe("windows on a lot of capacity 2", () => {
  it("books 10-12 and 11-13, refuses 11:30-11:45, books 12-14 (the first has ended by then)", () => {
    const { outcomes } = run([
      windowed("a", "10:00", "12:00"),
      windowed("b", "11:00", "13:00"),
      windowed("c", "11:30", "11:45"),
      windowed("d", "12:00", "14:00"),
    ]);
    expect(outcomes).toEqual(["ok", "ok", "LotFull", "ok"]);
  });

  it("frees a checked-out spot from the moment of check-out", () => {
    const first = run([windowed("a", "10:00", "12:00"), windowed("b", "10:00", "12:00")]);
    const later = (hhmm: string) => ({ now: at(hhmm) });
    const { outcomes, state } = run(
      [
        windowed("c", "10:30", "11:00", later("10:05")),
        { type: "CheckIn", reservationId: "a", parkingLotId: LOT, ...later("10:10") },
        { type: "CheckOut", reservationId: "a", parkingLotId: LOT, ...later("10:30") },
        windowed("c", "10:30", "11:00", later("10:30")),
        windowed("e", "10:45", "11:30", later("10:30")),
      ],
      [lotRegistered(), ...eventsOf(first.state)],
    );
    expect(outcomes).toEqual(["LotFull", "ok", "ok", "ok", "LotFull"]);
    expect(reservationStatus(state, "a", Date.parse(at("10:31")))).toBe("COMPLETED");
  });

  it("counts an open-ended reservation at every instant from now on", () => {
    const { outcomes } = run([
      reserveParking({ reservationId: "open", customerId: "X" }),
      windowed("a", "10:00", "12:00"),
      windowed("b", "11:00", "13:00"),
      windowed("c", "20:00", "21:00"),
    ]);
    expect(outcomes).toEqual(["ok", "ok", "LotFull", "ok"]);
  });
});

/** The events that rebuilt `state`'s reservations (test helper for chaining runs). */
function eventsOf(state: ParkingLotState): ParkingLotEvent[] {
  if (state.kind !== "registered") return [];
  return [...state.reservations.entries()].map(([reservationId, r]) =>
    parkingReserved({
      reservationId,
      customerId: r.customerId,
      carNumber: r.carNumber,
      amount: r.amount,
      ...(r.startsAt ? { startsAt: r.startsAt, endsAt: r.endsAt } : {}),
    }),
  );
}

describe("window bounds", () => {
  it.each([
    ["starts in the past", { startsAt: at("08:00"), endsAt: at("10:00") }, "startsAt"],
    ["ends before it starts", { startsAt: at("11:00"), endsAt: at("10:00") }, "endsAt"],
    ["is longer than a day", { startsAt: at("10:00"), endsAt: at("10:01", "2024-05-02") }, "endsAt"],
    [
      "starts more than 90 days ahead",
      { startsAt: at("10:00", "2024-09-01"), endsAt: at("11:00", "2024-09-01") },
      "startsAt",
    ],
    ["has no end", { startsAt: at("10:00") }, "endsAt"],
  ])("refuses a window that %s, naming the field", (_what, window, field) => {
    const decision = decide(reserveParking(window), fold([lotRegistered()]));
    expect(decision).toMatchObject({ ok: false, rejection: { code: "InvalidWindow", field } });
  });

  it("accepts a start within the skew allowance", () => {
    const decision = decide(
      reserveParking({ startsAt: "2024-05-01T08:57:00.000Z", endsAt: at("10:00") }),
      fold([lotRegistered()]),
    );
    expect(decision).toMatchObject({ ok: true, events: [{ type: "ParkingReserved" }] });
  });
});

describe("prices", () => {
  const rated = lotRegistered({ hourlyRate: 3000 });
  it("rounds up to the next minor unit, pro rata", () => {
    expect(quote(3000, Date.parse(at("10:00")), Date.parse(at("11:30")))).toBe(4500);
    expect(quote(1000, Date.parse(at("10:00")), Date.parse(at("11:01")))).toBe(1017);
  });
  it("prices the window itself when the body has no amount", () => {
    given([rated])
      .when(reserveParking({ amount: undefined, startsAt: at("10:00"), endsAt: at("11:30") }))
      .then([parkingReserved({ amount: 4500, startsAt: at("10:00"), endsAt: at("11:30") })]);
  });
  it("refuses an amount that differs from the quote, with the quote", () => {
    given([rated])
      .when(reserveParking({ amount: 4000, startsAt: at("10:00"), endsAt: at("11:30") }))
      .then({ code: "PriceChanged", parkingLotId: LOT, quote: 4500, offered: 4000 });
  });
  it("takes the client's positive amount without a rate, and refuses zero or none", () => {
    given([lotRegistered()])
      .when(reserveParking({ amount: 0 }))
      .then("AmountNotPositive");
    given([lotRegistered()])
      .when(reserveParking({ amount: undefined }))
      .then("AmountRequired");
  });
});

describe("per-customer limit", () => {
  it("refuses a customer's fifth active reservation in a lot (default 4), not another customer's", () => {
    const lot = lotRegistered({ capacity: 10 });
    const four = ["r1", "r2", "r3", "r4"].map((id) => parkingReserved({ reservationId: id }));
    given([lot, ...four])
      .when(reserveParking({ reservationId: "r5" }))
      .then({
        code: "TooManyActiveReservations",
        parkingLotId: LOT,
        limit: 4,
      });
    given([lot, ...four])
      .when(reserveParking({ reservationId: "r5", customerId: "OTHER" }))
      .then([parkingReserved({ reservationId: "r5", customerId: "OTHER" })]);
  });
  it("uses the lot's own limit and stops counting windows that ended", () => {
    const lot = lotRegistered({ capacity: 10, maxActivePerCustomer: 1 });
    const past = parkingReserved({ reservationId: "old", startsAt: at("09:00"), endsAt: at("09:30") });
    given([lot, past])
      .when(reserveParking({ reservationId: "new", now: at("09:10") }))
      .then("TooManyActiveReservations");
    given([lot, past])
      .when(reserveParking({ reservationId: "new", now: at("09:30") }))
      .then([parkingReserved({ reservationId: "new", reservedAt: at("09:30") })]);
  });
});

describe("ended reservations", () => {
  const lot = lotRegistered();
  const ended = parkingReserved({ startsAt: at("09:00"), endsAt: at("10:00") });
  // Issue 17: a window that ended without a check-in is a NO_SHOW (it was COMPLETED before).
  it("answers a cancel of an ended window with ReservationNotActive", () => {
    given([lot, ended])
      .when({
        type: "CancelReservation",
        reservationId: "res-1",
        parkingLotId: LOT,
        reason: "x",
        now: at("10:00"),
      })
      .then({ code: "ReservationNotActive", parkingLotId: LOT, reservationId: "res-1", status: "NO_SHOW" });
  });
  it("answers a retried Idempotency-Key of an ended window with the same reservation, booking nothing", () => {
    given([lot, ended])
      .when(reserveParking({ startsAt: at("09:00"), endsAt: at("10:00"), now: at("13:00") }))
      .then([]);
  });
  it("drops windows that ended from the occupancy index as time passes", () => {
    const many = Array.from({ length: 48 }, (_, i) => {
      const start = Date.parse(NOW) + i * 3_600_000;
      return parkingReserved({
        reservationId: `w${i}`,
        customerId: `C${i}`,
        reservedAt: new Date(start).toISOString(),
        startsAt: new Date(start).toISOString(),
        endsAt: new Date(start + 1_800_000).toISOString(),
      });
    });
    const state = fold([lot, ...many]);
    if (state.kind !== "registered") throw new Error("unregistered");
    expect(windowCount(state.occupancy)).toBeLessThanOrEqual(27);
    expect(state.byCustomer.size).toBeLessThanOrEqual(27);
  });
});

describe("check-in and check-out", () => {
  const lot = lotRegistered();
  const booked = parkingReserved({ startsAt: at("10:00"), endsAt: at("12:00") });
  const checkIn = (now: string, requestedBy?: string): ParkingLotCommand => ({
    type: "CheckIn",
    reservationId: "res-1",
    parkingLotId: LOT,
    now,
    ...(requestedBy ? { requestedBy } : {}),
  });
  it("refuses a check-in long before the window, and someone else's reservation as not found", () => {
    given([lot, booked])
      .when(checkIn(at("09:00")))
      .then("CheckInTooEarly");
    given([lot, booked])
      .when(checkIn(at("10:00"), "INTRUDER"))
      .then("ReservationNotFound");
  });
  it("checks in once; a second check-in changes nothing", () => {
    const { state } = given([lot, booked])
      .when(checkIn(at("10:00"), "CUST1"))
      .then([
        {
          type: "ReservationCheckedIn",
          data: {
            reservationId: "res-1",
            parkingLotId: LOT,
            customerId: "CUST1",
            checkedInAt: at("10:00"),
            // Issue 71: its coupon is spendable once the stay has lasted the lot's minimum.
            couponSpendableFrom: at("10:15"),
          },
        },
      ]);
    expect(decide(checkIn(at("10:05")), state)).toEqual({ ok: true, events: [] });
  });
  it("refuses a check-out before a check-in", () => {
    given([lot, booked])
      .when({ type: "CheckOut", reservationId: "res-1", parkingLotId: LOT, now: at("10:30") })
      .then("NotCheckedIn");
  });
});

describe("a window starting within the skew, before a check-out", () => {
  // Capacity 1; "w" holds 09:00-10:00, its car comes at 09:00. NOW is 09:00.
  const lot = lotRegistered({ capacity: 1 });
  const booked = parkingReserved({ reservationId: "w", startsAt: at("09:00"), endsAt: at("10:00") });
  const checkedIn: ParkingLotEvent = {
    type: "ReservationCheckedIn",
    data: { reservationId: "w", parkingLotId: LOT, customerId: "CUST1", checkedInAt: at("09:00") },
  };
  const checkedOut = (when: string): ParkingLotEvent => ({
    type: "ReservationCheckedOut",
    data: {
      reservationId: "w",
      parkingLotId: LOT,
      customerId: "CUST1",
      checkedOutAt: at(when),
      startsAt: at("09:00"),
      endsAt: at("10:00"),
    },
  });
  const late = (from: string, until: string, now: string) =>
    reserveParking({
      reservationId: "n",
      customerId: "C2",
      startsAt: at(from),
      endsAt: at(until),
      now: at(now),
    });

  it("is refused while the checked-out car still held the spot (it held it until it left)", () => {
    given([lot, booked, checkedIn, checkedOut("09:30")])
      .when(late("09:27", "10:00", "09:31"))
      .then("LotFull");
    given([lot, booked, checkedIn, checkedOut("09:30")])
      .when(late("09:30", "10:00", "09:31"))
      .then([
        parkingReserved({
          reservationId: "n",
          customerId: "C2",
          reservedAt: at("09:31"),
          startsAt: at("09:30"),
          endsAt: at("10:00"),
        }),
      ]);
  });

  it("is refused over the end of a window whose car overstayed, as it would be had the car not left", () => {
    // (Ending at least 15 minutes after now, the shortest a window may end ahead since issue 17.)
    const overlapsTheEnd = late("09:58", "10:30", "10:03");
    given([lot, booked, checkedIn]).when(overlapsTheEnd).then("LotFull");
    given([lot, booked, checkedIn, checkedOut("10:03")])
      .when(overlapsTheEnd)
      .then("LotFull");
  });
});

describe("a car that overstays its window by more than a day", () => {
  it("is counted out once: when its window is pruned, not again when it checks out", () => {
    const day3 = (hhmm: string) => ({ now: at(hhmm, "2024-05-03") });
    const { outcomes, state } = run([
      windowed("a", "10:00", "12:00"),
      windowed("b", "10:00", "12:00"),
      { type: "CheckIn", reservationId: "a", parkingLotId: LOT, now: at("10:05") },
      // Two days later a new booking moves time on: a's and b's windows are pruned and counted out.
      windowed("c", "10:00", "11:00", {
        ...day3("08:00"),
        startsAt: at("10:00", "2024-05-03"),
        endsAt: at("11:00", "2024-05-03"),
      }),
      { type: "CheckOut", reservationId: "a", parkingLotId: LOT, ...day3("09:30") },
    ]);
    expect(outcomes).toEqual(["ok", "ok", "ok", "ok", "ok"]);
    if (state.kind !== "registered") throw new Error("registered");
    // Only c holds (or will hold) a spot; a's late check-out neither counts it out again nor
    // puts its long-ended window back into the index.
    expect(state.activeReservations).toBe(1);
    expect(windowCount(state.occupancy)).toBe(1);
    expect(reservationStatus(state, "a", Date.parse(at("09:31", "2024-05-03")))).toBe("COMPLETED");
  });
});

describe("closures", () => {
  const lot = lotRegistered({ capacity: 5 });
  const close = (from: string, until: string): ParkingLotCommand => ({
    type: "CloseParkingLot",
    closureId: "cl-1",
    parkingLotId: LOT,
    from: at(from),
    until: at(until),
    reason: "repaving",
    now: NOW,
  });
  it("cancels the reservations it overlaps in the same decision, and refuses new ones inside it", () => {
    const history = [
      lot,
      parkingReserved({ reservationId: "a", customerId: "A", startsAt: at("10:00"), endsAt: at("12:00") }),
      parkingReserved({ reservationId: "b", customerId: "B", startsAt: at("12:00"), endsAt: at("14:00") }),
      parkingReserved({ reservationId: "c", customerId: "C", startsAt: at("14:30"), endsAt: at("16:00") }),
    ];
    const { state, decision } = given(history)
      .when(close("13:00", "15:00"))
      .then([
        {
          type: "ParkingLotClosed",
          data: {
            closureId: "cl-1",
            parkingLotId: LOT,
            from: at("13:00"),
            until: at("15:00"),
            reason: "repaving",
            closedAt: NOW,
          },
        },
        ...(
          [
            ["b", "12:00", "14:00"],
            ["c", "14:30", "16:00"],
          ] as const
        ).map(
          ([id, from, until]): ParkingLotEvent => ({
            type: "ReservationCanceled",
            data: {
              reservationId: id,
              parkingLotId: LOT,
              customerId: id.toUpperCase(),
              reason: "lot-closed",
              canceledAt: NOW,
              // The window it had, so that projections can tell it from an open-ended one.
              startsAt: at(from),
              endsAt: at(until),
            },
          }),
        ),
      ]);
    expect(decision.ok).toBe(true);
    expect(decide(windowed("n", "14:00", "16:00"), state)).toMatchObject({
      ok: false,
      rejection: { code: "LotClosed" },
    });
    expect(decide(windowed("n", "15:00", "16:00"), state)).toMatchObject({ ok: true });
    // Issue 17: an open-ended booking made before the closure begins is accepted, and told when it
    // must leave (it was refused for as long as any closure lay ahead).
    expect(decide(reserveParking({ reservationId: "open" }), state)).toMatchObject({
      ok: true,
      events: [{ type: "ParkingReserved", data: { mustLeaveBy: at("13:00") } }],
    });
  });

  it("the same closure id again (a retry under its Idempotency-Key): the same window appends nothing, another is a conflict", () => {
    const closed: ParkingLotEvent = {
      type: "ParkingLotClosed",
      data: {
        closureId: "cl-1",
        parkingLotId: LOT,
        from: at("13:00"),
        until: at("15:00"),
        reason: "repaving",
        closedAt: NOW,
      },
    };
    given([lot, closed]).when(close("13:00", "15:00")).then([]);
    given([lot, closed])
      .when(close("13:00", "16:00"))
      .then({ code: "ClosureIdConflict", parkingLotId: LOT, closureId: "cl-1" });
  });
});

describe("a closure that has just ended", () => {
  // Closed 08:00-09:00; NOW is 09:00. A window may start up to 5 minutes before now (the skew).
  const closed: ParkingLotEvent = {
    type: "ParkingLotClosed",
    data: {
      closureId: "cl-1",
      parkingLotId: LOT,
      from: at("08:00"),
      until: at("09:00"),
      reason: "repaving",
      closedAt: at("07:00"),
    },
  };
  // The scheduler recorded its beginning at 08:00 (a closure not begun is kept until it is).
  const began: ParkingLotEvent = {
    type: "ParkingLotClosureBegan",
    data: {
      closureId: "cl-1",
      parkingLotId: LOT,
      from: at("08:00"),
      until: at("09:00"),
      carsInLot: [],
      recordedAt: at("08:00"),
    },
  };
  const history = [lotRegistered({ capacity: 5, registeredAt: at("06:00") }), closed, began];

  it("still refuses a window starting within the skew that overlaps it", () => {
    given(history)
      .when(windowed("n", "08:57", "10:00"))
      .then("LotClosed");
    expect(decide(windowed("n", "09:00", "10:00"), fold(history))).toMatchObject({ ok: true });
  });

  it("is kept by a later closure until it is out of the skew's reach", () => {
    const later = (closedAt: string): ParkingLotEvent => ({
      type: "ParkingLotClosed",
      data: {
        ...closed.data,
        closureId: "cl-2",
        from: at("20:00"),
        until: at("21:00"),
        closedAt: at(closedAt),
      },
    });
    const afterTheSkew = fold([...history, later("09:05")]);
    expect(afterTheSkew.kind === "registered" && afterTheSkew.closures.size).toBe(1);
    given([...history, later("08:59")])
      .when(windowed("n", "08:57", "10:00"))
      .then("LotClosed");
  });
});

describe("capacity changes", () => {
  it("refuses a reduction that would overbook a future instant, naming it; accepts one that fits", () => {
    const history = [
      lotRegistered({ capacity: 3 }),
      parkingReserved({ reservationId: "a", customerId: "A", startsAt: at("10:00"), endsAt: at("12:00") }),
      parkingReserved({ reservationId: "b", customerId: "B", startsAt: at("11:00"), endsAt: at("13:00") }),
    ];
    const change = (capacity: number): ParkingLotCommand => ({
      type: "ChangeCapacity",
      parkingLotId: LOT,
      capacity,
      now: NOW,
    });
    given(history)
      .when(change(1))
      .then({ code: "CapacityTooLow", parkingLotId: LOT, at: at("11:00"), held: 2 });
    given(history)
      .when(change(2))
      .then([
        {
          type: "ParkingLotCapacityChanged",
          data: { parkingLotId: LOT, capacity: 2, previousCapacity: 3, changedAt: NOW },
        },
      ]);
  });
});

describe("an open-ended booking whose car is still in when its closure begins", () => {
  // Found by the windows property (seed -1173235418): a lot of 1 with a window booked weeks ahead
  // takes an open-ended booking told to leave by a closure today; its car comes in and stays.
  const lot = lotRegistered({ capacity: 1 });
  const later = (hhmm: string, day = "2024-05-01") => ({ now: at(hhmm, day) });
  const story = (): ReturnType<typeof run> =>
    run(
      [
        windowed("ahead", "09:15", "09:30", {
          startsAt: at("09:15", "2024-05-20"),
          endsAt: at("09:30", "2024-05-20"),
        }),
        {
          type: "CloseParkingLot",
          closureId: "cl-1",
          parkingLotId: LOT,
          from: at("10:45"),
          until: at("11:00"),
          reason: "repaving",
          ...later("09:10"),
        },
        reserveParking({ reservationId: "open", customerId: "C-open", ...later("09:20") }),
        { type: "CheckIn", reservationId: "open", parkingLotId: LOT, ...later("09:30") },
        { type: "BeginClosure", closureId: "cl-1", parkingLotId: LOT, ...later("10:45") },
      ],
      [lot],
    );

  it("keeps the booking and its car (listed for operators), and cancels nothing accepted before it", () => {
    const { outcomes, state } = story();
    expect(outcomes).toEqual(["ok", "ok", "ok", "ok", "ok"]);
    const now = Date.parse(at("10:46"));
    expect(reservationStatus(state, "open", now)).toBe("CHECKED_IN");
    // The window booked weeks ahead was accepted before the stay: an overstay never cancels it.
    expect(reservationStatus(state, "ahead", now)).toBe("RESERVED");
  });

  it("holds the car's spot against every booking made while it is in, up to its check-out", () => {
    const { state } = story();
    const refused = decide(
      windowed("next", "12:00", "13:00", { ...later("10:50"), customerId: "C-next" }),
      state,
    );
    expect(refused).toMatchObject({ ok: false, rejection: { code: "LotFull" } });
    const checkOut = decide(
      { type: "CheckOut", reservationId: "open", parkingLotId: LOT, ...later("11:30") },
      state,
    );
    if (!checkOut.ok) throw new Error(checkOut.rejection.code);
    const out = fold(checkOut.events, state);
    expect(
      decide(windowed("next", "12:00", "13:00", { ...later("11:31"), customerId: "C-next" }), out),
    ).toMatchObject({ ok: true });
  });
});

describe("a closure whose from is in the past (issue 33: facts carry the time they were decided)", () => {
  it("cancels the open-ended booking it ends now, never before its cause", () => {
    // The booking was made at 06:00; at 09:00 an operator closes the lot as of 07:00.
    const history = [
      lotRegistered({ capacity: 2 }),
      parkingReserved({ reservationId: "open", customerId: "A", reservedAt: at("06:00") }),
    ];
    const { decision } = given(history).when({
      type: "CloseParkingLot",
      closureId: "cl-past",
      parkingLotId: LOT,
      from: at("07:00"),
      until: at("12:00"),
      reason: "flooded",
      now: NOW,
    });
    expect(decision.ok).toBe(true);
    const events = decision.ok ? decision.events : [];
    const canceled = events.find((e) => e.type === "ReservationCanceled");
    expect(canceled?.data).toMatchObject({ reservationId: "open", reason: "lot-closed", canceledAt: NOW });
    // Every fact of the append is stamped with the decision's instant: the trail reads in order.
    const stamps = events.map((e) => {
      const d = e.data as Record<string, string>;
      return d.closedAt ?? d.recordedAt ?? d.canceledAt;
    });
    expect(stamps).toEqual(events.map(() => NOW));
  });
});

describe("a closure whose beginning is recorded late, after it ended", () => {
  // Found by the time-driven facts' property (app/time-driven-facts.property.int.test.ts): a
  // closure 09:01-09:16, no scheduler running meanwhile; at 15:00 an open-ended booking is made (it
  // reads RESERVED: the closure is over). The scheduler then records the closure's beginning.
  const later = (hhmm: string) => ({ now: at(hhmm) });
  const story = () =>
    run([
      reserveParking({ reservationId: "before", customerId: "C-before", ...later("09:00") }),
      {
        type: "CloseParkingLot",
        closureId: "cl-1",
        parkingLotId: LOT,
        from: at("09:01"),
        until: at("09:16"),
        reason: "repaving",
        ...later("09:00"),
      },
      reserveParking({ reservationId: "after", customerId: "C-after", ...later("15:00") }),
    ]);

  it("cancels the booking made before it, and not the one made once it had ended", () => {
    const { outcomes, state } = story();
    expect(outcomes).toEqual(["ok", "ok", "ok"]);
    const now = Date.parse(at("15:00"));
    expect(reservationStatus(state, "before", now)).toBe("CANCELED");
    expect(reservationStatus(state, "after", now)).toBe("RESERVED");
    const begin = decide(
      { type: "BeginClosure", closureId: "cl-1", parkingLotId: LOT, ...later("15:00") },
      state,
    );
    if (!begin.ok) throw new Error(begin.rejection.code);
    const canceled = begin.events
      .filter((e) => e.type === "ReservationCanceled")
      .map((e) => e.data.reservationId);
    expect(canceled).toEqual(["before"]);
    // What the views showed before the fact is what it records: the booking made later still holds.
    const after = fold(begin.events, state);
    expect(reservationStatus(after, "after", now)).toBe("RESERVED");
  });
});
