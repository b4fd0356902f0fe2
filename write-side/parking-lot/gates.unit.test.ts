import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { plateForm } from "../../schemas/plates.js";
import {
  given,
  LOT,
  lotRegistered,
  NOW,
  parkingReserved,
  reservationCanceled,
} from "../../test-support/given-when-then.js";
import { fold, fromPlain, plainOf } from "../../test-support/lot-state.js";
import type { ParkingLotEvent } from "./decider.js";
import { decideGate, type GateRead } from "./gates.js";

/** Issue 49, item 4: a gate's read decided by the lot's own check-in and check-out. */

const START = "2024-05-01T10:00:00.000Z";
const END = "2024-05-01T12:00:00.000Z";
const read = (over: Partial<GateRead> = {}): GateRead => ({
  parkingLotId: LOT,
  direction: "entry",
  plate: "34나2222",
  confidence: 0.95,
  at: START,
  ...over,
});
const booked = (over: Partial<Parameters<typeof parkingReserved>[0]> = {}) =>
  parkingReserved({ carNumber: "34 나 2222", startsAt: START, endsAt: END, ...over });
const confidence = (threshold: number, previous = 0.8): ParkingLotEvent => ({
  type: "ParkingLotGateConfidenceChanged",
  data: {
    parkingLotId: LOT,
    gateConfidenceThreshold: threshold,
    previousGateConfidenceThreshold: previous,
    changedAt: NOW,
  },
});
const checkedIn = (reservationId = "res-1", at = START): ParkingLotEvent => ({
  type: "ReservationCheckedIn",
  data: { reservationId, parkingLotId: LOT, customerId: "CUST1", checkedInAt: at },
});

/** Issue 71: a booking's check-in says from when its coupon is spendable (the default 15 minutes on). */
const checkedInEarning = {
  type: "ReservationCheckedIn",
  data: {
    reservationId: "res-1",
    parkingLotId: LOT,
    customerId: "CUST1",
    checkedInAt: START,
    couponSpendableFrom: new Date(Date.parse(START) + 15 * 60_000).toISOString(),
  },
} as const satisfies ParkingLotEvent;

describe("a gate's entry", () => {
  it("given a booking of the plate (written otherwise), when its car arrives in its window, then the lot checks it in", () => {
    const outcome = decideGate(read(), fold([lotRegistered(), booked()]));
    expect(outcome).toEqual({
      decision: "open",
      reason: "CheckedIn",
      reservationId: "res-1",
      events: [checkedInEarning],
    });
    // The same events the lot's own check-in decides.
    given([lotRegistered(), booked()])
      .when({ type: "CheckIn", parkingLotId: LOT, reservationId: "res-1", now: START })
      .then([checkedInEarning]);
  });

  it("given no booking of the plate, then the barrier stays shut", () => {
    expect(decideGate(read({ plate: "99허9999" }), fold([lotRegistered(), booked()]))).toEqual({
      decision: "deny",
      reason: "NoBooking",
    });
  });

  it("given a canceled booking, then the plate no longer opens the barrier (the index forgets it)", () => {
    const state = fold([lotRegistered(), booked(), reservationCanceled()]);
    expect(decideGate(read(), state)).toEqual({ decision: "deny", reason: "NoBooking" });
  });

  it("given a booking whose window has not opened, then the lot's refusal is the reason", () => {
    const outcome = decideGate(read({ at: NOW }), fold([lotRegistered(), booked()]));
    expect(outcome).toEqual({ decision: "deny", reason: "CheckInTooEarly" });
  });

  it("given two bookings of the plate that may both check in, then an attendant chooses", () => {
    const state = fold([lotRegistered(), booked(), booked({ reservationId: "res-2", customerId: "CUST2" })]);
    expect(decideGate(read(), state)).toEqual({
      decision: "review",
      reason: "SeveralBookings",
      reservationIds: ["res-1", "res-2"],
    });
  });

  it("given a read below the confidence threshold, then it goes to review with what it might be", () => {
    const state = fold([lotRegistered(), booked()]);
    expect(decideGate(read({ confidence: 0.5 }), state)).toEqual({
      decision: "review",
      reason: "LowConfidence",
      reservationIds: ["res-1"],
    });
  });

  it("given the lot's operator lowered its threshold, then the same read is acted on; raised, a confident read goes to review", () => {
    const lowered = fold([lotRegistered(), booked(), confidence(0.4)]);
    expect(decideGate(read({ confidence: 0.5 }), lowered).decision).toBe("open");
    const raised = fold([lotRegistered(), booked(), confidence(0.99)]);
    expect(decideGate(read({ confidence: 0.95 }), raised)).toMatchObject({
      decision: "review",
      reason: "LowConfidence",
    });
  });

  it("the threshold is the lot's term: changed by an event with what it was, the same again changes nothing", () => {
    given([lotRegistered()])
      .when({ type: "ChangeGateConfidence", parkingLotId: LOT, gateConfidenceThreshold: 0.6, now: NOW })
      .then([confidence(0.6)]);
    given([lotRegistered(), confidence(0.6)])
      .when({ type: "ChangeGateConfidence", parkingLotId: LOT, gateConfidenceThreshold: 0.6, now: NOW })
      .then([]);
    given([])
      .when({ type: "ChangeGateConfidence", parkingLotId: LOT, gateConfidenceThreshold: 0.6, now: NOW })
      .then("LotNotFound");
  });
});

describe("a gate's exit", () => {
  it("given the plate's car in the lot, then the lot checks it out and the answer carries the price", () => {
    const state = fold([lotRegistered(), booked(), checkedIn()]);
    const outcome = decideGate(read({ direction: "exit", at: "2024-05-01T11:00:00.000Z" }), state);
    expect(outcome).toMatchObject({
      decision: "open",
      reason: "CheckedOut",
      reservationId: "res-1",
      price: 5000,
    });
    expect(outcome.decision === "open" && outcome.events[0]?.type).toBe("ReservationCheckedOut");
  });

  it("given an open-ended stay at the lot's rate, then the price is the lot's own open-ended price", () => {
    const state = fold([
      lotRegistered({ hourlyRate: 3000 }),
      parkingReserved({ carNumber: "34-나-2222", amount: 0, hourlyRate: 3000 }),
      checkedIn("res-1", NOW),
    ]);
    const outcome = decideGate(read({ direction: "exit", at: "2024-05-01T11:00:00.000Z" }), state);
    expect(outcome).toMatchObject({ decision: "open", reservationId: "res-1" });
    const out = outcome.decision === "open" ? outcome.events[0] : undefined;
    expect(out?.type === "ReservationCheckedOut" && out.data.amount).toBe(
      outcome.decision === "open" && outcome.price,
    );
    expect(outcome.decision === "open" && outcome.price).toBeGreaterThan(0);
  });

  it("given no stay of the plate, then an attendant looks at it", () => {
    expect(decideGate(read({ direction: "exit" }), fold([lotRegistered(), booked()]))).toEqual({
      decision: "review",
      reason: "NoStay",
      reservationIds: [],
    });
  });

  it("a lot loaded from its snapshot finds the plate as the folded one does (the index is derived)", () => {
    const state = fold([lotRegistered(), booked(), checkedIn()]);
    const loaded = fromPlain(plainOf(state));
    const exit = read({ direction: "exit", at: "2024-05-01T11:00:00.000Z" });
    expect(decideGate(exit, loaded)).toEqual(decideGate(exit, state));
    expect(decideGate(exit, loaded).decision).toBe("open");
  });
});

describe("plate normalization", () => {
  const part = fc.constantFrom("34", "나", "2222", "ab", "X9", "가", "12", "Ö");
  const separator = fc.constantFrom("", " ", "-", "\u2011", "  ");
  const caseOf = fc.constantFrom(
    (s: string) => s,
    (s: string) => s.toLowerCase(),
  );

  it("a plate written with any spaces, hyphens, letter case or Unicode composition matches itself", () => {
    fc.assert(
      fc.property(
        fc.array(part, { minLength: 1, maxLength: 5 }),
        fc.array(separator, { maxLength: 6 }),
        caseOf,
        (parts, seps, recase) => {
          const plain = parts.join("");
          const written = recase(parts.map((p, i) => `${seps[i] ?? ""}${p}`).join(seps[parts.length] ?? ""));
          expect(plateForm(written)).toBe(plateForm(plain));
          expect(plateForm(written.normalize("NFD"))).toBe(plateForm(plain));
          expect(plateForm(plateForm(written))).toBe(plateForm(written));
        },
      ),
    );
  });

  it("Korean plates written with and without spaces match, and different plates do not", () => {
    expect(plateForm("34 나 2222")).toBe(plateForm("34나2222"));
    expect(plateForm("34 나 2222")).not.toBe(plateForm("34 다 2222"));
  });
});

describe("erased plates at the gate", () => {
  // Found by the erasure hunt: an erased booking's plate reads back as the marker `erased`, so a
  // camera reading a plate `ERASED` found the erased bookings of every erased customer.
  const erased = (id: string, customerId: string) =>
    parkingReserved({ reservationId: id, customerId, carNumber: "erased", startsAt: START, endsAt: END });
  const history = [
    lotRegistered(),
    erased("res-e1", "erased"),
    erased("res-e2", "erased"),
    parkingReserved({
      reservationId: "res-v",
      customerId: "CUST9",
      carNumber: "ERA SED",
      startsAt: START,
      endsAt: END,
    }),
  ];

  it("a read of ERASED finds only the live booking of that plate, never an erased one, live or from a snapshot", () => {
    const state = fold(history);
    for (const lot of [state, fromPlain(plainOf(state))]) {
      for (const plate of ["ERASED", "erased", "ERA-SED"])
        expect(decideGate(read({ plate }), lot)).toMatchObject({ decision: "open", reservationId: "res-v" });
    }
  });

  it("with no live booking of that plate, a read of it finds nothing to check in", () => {
    const state = fold(history.slice(0, 3));
    for (const lot of [state, fromPlain(plainOf(state))])
      expect(decideGate(read({ plate: "ERASED" }), lot)).toEqual({ decision: "deny", reason: "NoBooking" });
  });
});
