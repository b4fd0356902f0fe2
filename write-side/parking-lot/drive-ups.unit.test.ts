import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { AdmitDriveUp } from "../../schemas/commands.js";
import { given, LOT, lotRegistered, NOW, parkingReserved } from "../../test-support/given-when-then.js";
import { fold } from "../../test-support/lot-state.js";
import { decide, type ParkingLotEvent } from "./decider.js";
import { DRIVE_UP_MIN_STAY_MINUTES, driveUpCustomer } from "./drive-ups.js";
import { decideGate, type GateRead } from "./gates.js";

/** Issue 49: a car without a booking at a gate's entry, let in as an open-ended stay at the lot's rate. */

const RATE = 3000;
const rated = (over: Parameters<typeof lotRegistered>[0] = {}) =>
  lotRegistered({ hourlyRate: RATE, ...over });
const admit = (over: Partial<AdmitDriveUp> = {}): AdmitDriveUp => ({
  type: "AdmitDriveUp",
  parkingLotId: LOT,
  reservationId: "du-1",
  carNumber: "34 나 2222",
  gateId: "north",
  now: NOW,
  ...over,
});
const admitted = (reservationId = "du-1", at = NOW): ParkingLotEvent[] => [
  {
    type: "DriveUpAdmitted",
    data: {
      reservationId,
      parkingLotId: LOT,
      gateId: "north",
      hourlyRate: RATE,
      minStayMinutes: DRIVE_UP_MIN_STAY_MINUTES,
      admittedAt: at,
    },
  },
  {
    type: "ParkingReserved",
    data: {
      reservationId,
      parkingLotId: LOT,
      customerId: driveUpCustomer(reservationId),
      carNumber: "34 나 2222",
      amount: 0,
      reservedAt: at,
      hourlyRate: RATE,
    },
  },
  {
    type: "ReservationCheckedIn",
    data: { reservationId, parkingLotId: LOT, customerId: driveUpCustomer(reservationId), checkedInAt: at },
  },
];
const later = (minutes: number) => new Date(Date.parse(NOW) + minutes * 60_000).toISOString();
const read = (over: Partial<GateRead> = {}): GateRead => ({
  parkingLotId: LOT,
  direction: "entry",
  plate: "34나2222",
  confidence: 0.95,
  at: NOW,
  gateId: "north",
  driveUpId: "du-1",
  ...over,
});

describe("a drive-up (the lot's decider)", () => {
  it("given a free spot, when a car without a booking arrives, then one decision books an open-ended stay at the rate and checks it in", () => {
    given([rated()]).when(admit()).then(admitted());
  });

  it("given the same read again, then nothing more is booked", () => {
    given([rated(), ...admitted()])
      .when(admit())
      .then([]);
  });

  it("given every spot held, then it is refused LotFull", () => {
    given([rated({ capacity: 1 }), parkingReserved({ reservationId: "r-open", amount: 0, hourlyRate: RATE })])
      .when(admit())
      .then("LotFull");
  });

  it("given a spot held only by a window starting within the minimum stay, then it is refused LotFull", () => {
    const window = parkingReserved({ startsAt: later(30), endsAt: later(90) });
    given([rated({ capacity: 1 }), window])
      .when(admit())
      .then("LotFull");
    // A window starting after the minimum stay leaves the spot free for it.
    const after = parkingReserved({ startsAt: later(DRIVE_UP_MIN_STAY_MINUTES), endsAt: later(120) });
    given([rated({ capacity: 1 }), after])
      .when(admit())
      .then(admitted());
  });

  it("given a closure now or within the minimum stay, then it is refused LotClosed", () => {
    const closed = (from: number): ParkingLotEvent => ({
      type: "ParkingLotClosed",
      data: {
        closureId: "c1",
        parkingLotId: LOT,
        from: later(from),
        until: later(from + 120),
        reason: "works",
        closedAt: NOW,
      },
    });
    given([rated(), closed(-10)])
      .when(admit())
      .then("LotClosed");
    given([rated(), closed(30)])
      .when(admit())
      .then("LotClosed");
  });

  it("given a lot without an hourly rate, then there is nothing to price it with: refused", () => {
    given([lotRegistered()]).when(admit()).then("AmountRequired");
  });

  it("its exit is checked out at the open-ended price of the rate it came in at, and earns nobody a coupon", () => {
    const out = decide(
      { type: "CheckOut", parkingLotId: LOT, reservationId: "du-1", now: later(90) },
      fold([rated({ couponRule: { minStayMinutes: 0 } }), ...admitted()]),
    );
    expect(out.ok && out.events[0]).toMatchObject({
      type: "ReservationCheckedOut",
      data: { reservationId: "du-1", amount: 4500, couponEarned: false },
    });
  });

  it("a stay let in before issue 66, booked for the lot's shared `drive-up:{lot}`, earns nobody a coupon either", () => {
    const before = admitted().map((event) =>
      "customerId" in event.data
        ? ({ ...event, data: { ...event.data, customerId: `drive-up:${LOT}` } } as ParkingLotEvent)
        : event,
    );
    const out = decide(
      { type: "CheckOut", parkingLotId: LOT, reservationId: "du-1", now: later(90) },
      fold([rated({ couponRule: { minStayMinutes: 0 } }), ...before]),
    );
    expect(out.ok && out.events[0]).toMatchObject({ data: { couponEarned: false } });
  });

  it("issue 69: what a stay no card processor was asked to pay was priced is collected on site, a drive-up's as such", () => {
    const checkOut = (reservationId: string, minutes: number) =>
      ({ type: "CheckOut", parkingLotId: LOT, reservationId, now: later(minutes) }) as const;
    const onSite = (events: ParkingLotEvent[], reservationId: string, minutes: number) => {
      const out = decide(checkOut(reservationId, minutes), fold(events));
      return out.ok && out.events[0]?.type === "ReservationCheckedOut"
        ? out.events[0].data.collectedOnSite
        : null;
    };
    expect(onSite([rated(), ...admitted()], "du-1", 90)).toEqual({
      currency: "KRW",
      kind: "drive-up",
      price: 4500,
      overstay: 0,
    });
    // A window the lot priced (payments off), left 30 minutes late: its price and the overstay's.
    const window = { startsAt: NOW, endsAt: later(60) };
    const booked = parkingReserved({ reservationId: "w-1", amount: 3000, ...window });
    const inLot: ParkingLotEvent = {
      type: "ReservationCheckedIn",
      data: { reservationId: "w-1", parkingLotId: LOT, customerId: "CUST1", checkedInAt: NOW },
    };
    expect(onSite([rated(), booked, inLot], "w-1", 90)).toEqual({
      currency: "KRW",
      kind: "booking",
      price: 3000,
      overstay: 1500,
    });
    // A booking that asked the card processor (payments on) is the processor's; a lot without a
    // rate priced nothing (the client's word is no price, issue 66).
    const payment = { amount: 3000, currency: "KRW", holdUntil: later(15) };
    const confirmed: ParkingLotEvent = {
      type: "ReservationConfirmed",
      data: {
        reservationId: "w-1",
        parkingLotId: LOT,
        customerId: "CUST1",
        intentId: "pi_1",
        confirmedAt: NOW,
      },
    };
    const paid = parkingReserved({ reservationId: "w-1", amount: 3000, payment, ...window });
    expect(onSite([rated(), paid, confirmed, inLot], "w-1", 30)).toBeUndefined();
    expect(onSite([lotRegistered(), booked, inLot], "w-1", 30)).toBeUndefined();
  });

  it("property: a drive-up is let in exactly when the lot, asked for a window of the minimum stay, would have a spot", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 }),
        fc.array(fc.integer({ min: -120, max: 180 }), { maxLength: 5 }),
        (capacity, starts) => {
          const history: ParkingLotEvent[] = [
            rated({ capacity: 10 }),
            ...starts.map((start, i) =>
              parkingReserved({
                reservationId: `w${i}`,
                customerId: `C${i}`,
                startsAt: later(Math.max(start, -5)),
                endsAt: later(Math.max(start, -5) + 60),
              }),
            ),
            {
              type: "ParkingLotCapacityChanged",
              data: { parkingLotId: LOT, capacity, previousCapacity: 10, changedAt: NOW },
            },
          ];
          const state = fold(history);
          const window = decide(
            {
              type: "ReserveParking",
              parkingLotId: LOT,
              reservationId: "probe",
              customerId: "P",
              carNumber: "12가3456",
              startsAt: NOW,
              endsAt: later(DRIVE_UP_MIN_STAY_MINUTES),
              now: NOW,
            },
            state,
          );
          const driveUp = decide(admit(), state);
          expect(driveUp.ok).toBe(window.ok);
        },
      ),
    );
  });
});

describe("a drive-up at the gate", () => {
  it("given no booking of the plate, then the gate opens on a drive-up stay", () => {
    expect(decideGate(read({ plate: "34 나 2222" }), fold([rated()]))).toEqual({
      decision: "open",
      reason: "DriveUp",
      reservationId: "du-1",
      events: admitted(),
    });
  });

  it("given a booking of the plate that may not check in yet, then the car comes in as a drive-up", () => {
    const early = parkingReserved({ carNumber: "34나2222", startsAt: later(240), endsAt: later(300) });
    expect(decideGate(read(), fold([rated(), early]))).toMatchObject({ decision: "open", reason: "DriveUp" });
  });

  it("given a full lot, then the gate denies LotFull; a lot without a rate, NoHourlyRate", () => {
    const full = parkingReserved({ reservationId: "r-open", amount: 0, hourlyRate: RATE });
    expect(decideGate(read(), fold([rated({ capacity: 1 }), full]))).toEqual({
      decision: "deny",
      reason: "LotFull",
    });
    expect(decideGate(read(), fold([lotRegistered()]))).toEqual({ decision: "deny", reason: "NoHourlyRate" });
  });

  it("given a drive-up in the lot, then its exit opens with the price", () => {
    const outcome = decideGate(read({ direction: "exit", at: later(90) }), fold([rated(), ...admitted()]));
    expect(outcome).toMatchObject({
      decision: "open",
      reason: "CheckedOut",
      reservationId: "du-1",
      price: 4500,
    });
  });
});
