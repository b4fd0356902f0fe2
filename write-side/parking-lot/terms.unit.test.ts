import { describe, expect, it } from "vitest";
import type { ParkingLotCommand } from "../../schemas/commands.js";
import { DEFAULT_PAYMENT_TERMS } from "../../schemas/common.js";
import {
  given,
  LOT,
  lotRegistered,
  NOW,
  parkingReserved,
  reserveParking,
} from "../../test-support/given-when-then.js";
import { fold, plainOf, throughSummary } from "../../test-support/lot-state.js";
import { viewAfter } from "../lot-command-view.js";
import { decide, type ParkingLotEvent } from "./decider.js";
import { paymentTermsOf } from "./terms.js";

const at = (hhmm: string) => `2024-05-01T${hhmm}:00.000Z`;
const changeRate = (hourlyRate: number, now = at("09:30")): ParkingLotCommand => ({
  type: "ChangeRate",
  parkingLotId: LOT,
  hourlyRate,
  now,
});
const changeLimit = (maxActivePerCustomer: number, now = at("09:30")): ParkingLotCommand => ({
  type: "ChangeCustomerLimit",
  parkingLotId: LOT,
  maxActivePerCustomer,
  now,
});
const rateChanged = (hourlyRate: number, previousHourlyRate?: number): ParkingLotEvent => ({
  type: "ParkingLotRateChanged",
  data: {
    parkingLotId: LOT,
    hourlyRate,
    ...(previousHourlyRate !== undefined ? { previousHourlyRate } : {}),
    changedAt: at("09:30"),
  },
});

describe("ChangeRate", () => {
  it("records the new rate with the one it replaces", () => {
    given([lotRegistered({ hourlyRate: 3000 })])
      .when(changeRate(4000))
      .then([rateChanged(4000, 3000)]);
  });

  it("gives a lot without a rate its first one", () => {
    given([lotRegistered()])
      .when(changeRate(2000))
      .then([rateChanged(2000)]);
  });

  it("changes nothing when the rate is already that one (a retry)", () => {
    given([lotRegistered({ hourlyRate: 3000 })])
      .when(changeRate(3000))
      .then([]);
  });

  it("refuses an unknown lot", () => {
    given().when(changeRate(3000)).then({ code: "LotNotFound", parkingLotId: LOT });
  });

  it("prices windows booked from then on at the new rate; an old quote is a price change naming both", () => {
    const history = [lotRegistered({ hourlyRate: 3000 }), rateChanged(4000, 3000)];
    const window = { startsAt: at("11:00"), endsAt: at("12:00"), now: at("09:40") };
    const booked = given(history)
      .when(reserveParking({ ...window, amount: 4000 }))
      .then([
        parkingReserved({
          amount: 4000,
          reservedAt: at("09:40"),
          startsAt: at("11:00"),
          endsAt: at("12:00"),
        }),
      ]);
    expect(booked.decision.ok).toBe(true);
    given(history)
      .when(reserveParking({ ...window, amount: 3000 }))
      .then({ code: "PriceChanged", parkingLotId: LOT, quote: 4000, offered: 3000 });
  });

  it("keeps the price of a window booked before it", () => {
    const history = [
      lotRegistered({ hourlyRate: 3000 }),
      parkingReserved({ amount: 3000, startsAt: at("10:00"), endsAt: at("11:00") }),
      rateChanged(9000, 3000),
    ];
    const state = fold(history);
    expect(state.kind === "registered" && state.reservations.get("res-1")?.amount).toBe(3000);
  });

  it("prices an open-ended stay booked before it at the rate it was booked at, at check-out", () => {
    const history: ParkingLotEvent[] = [
      lotRegistered({ hourlyRate: 3000 }),
      parkingReserved({ amount: 0, hourlyRate: 3000, reservedAt: NOW }),
      rateChanged(6000, 3000),
      {
        type: "ReservationCheckedIn",
        data: { reservationId: "res-1", parkingLotId: LOT, customerId: "CUST1", checkedInAt: at("10:00") },
      },
    ];
    const checkOut: ParkingLotCommand = {
      type: "CheckOut",
      reservationId: "res-1",
      parkingLotId: LOT,
      now: at("11:00"),
    };
    given(history)
      .when(checkOut)
      .then([
        {
          type: "ReservationCheckedOut",
          data: {
            reservationId: "res-1",
            parkingLotId: LOT,
            customerId: "CUST1",
            checkedOutAt: at("11:00"),
            amount: 3000,
            couponEarned: true,
            // Issue 69: payments off, the lot's price is collected at the gate.
            collectedOnSite: { currency: "KRW", kind: "booking", price: 3000, overstay: 0 },
          },
        },
      ]);
    // The booking's answer names the rate it was booked at, and a snapshot keeps it.
    const state = fold(history);
    expect(viewAfter(checkOut, state).reservation?.hourlyRate).toBe(3000);
    const restored = throughSummary(state);
    const decision = decide(checkOut, restored);
    expect(decision.ok && decision.events[0]?.data).toMatchObject({ amount: 3000 });
  });

  it("books a new open-ended stay at the new rate", () => {
    given([lotRegistered({ hourlyRate: 3000 }), rateChanged(6000, 3000)])
      .when(reserveParking({ amount: undefined, now: at("09:40") }))
      .then([parkingReserved({ amount: 0, hourlyRate: 6000, reservedAt: at("09:40") })]);
  });
});

describe("ChangeCustomerLimit", () => {
  it("records the new limit with the one it replaces (the default when none was set)", () => {
    given([lotRegistered()])
      .when(changeLimit(1))
      .then([
        {
          type: "ParkingLotCustomerLimitChanged",
          data: {
            parkingLotId: LOT,
            maxActivePerCustomer: 1,
            previousMaxActivePerCustomer: 4,
            changedAt: at("09:30"),
          },
        },
      ]);
  });

  it("changes nothing when the limit is already that one, and refuses an unknown lot", () => {
    given([lotRegistered({ maxActivePerCustomer: 2 })])
      .when(changeLimit(2))
      .then([]);
    given().when(changeLimit(2)).then({ code: "LotNotFound", parkingLotId: LOT });
  });

  it("keeps the bookings a customer already holds over a lowered limit, and refuses new ones", () => {
    const history: ParkingLotEvent[] = [
      lotRegistered({ capacity: 5 }),
      parkingReserved({ reservationId: "a" }),
      parkingReserved({ reservationId: "b" }),
      {
        type: "ParkingLotCustomerLimitChanged",
        data: { parkingLotId: LOT, maxActivePerCustomer: 1, previousMaxActivePerCustomer: 4, changedAt: NOW },
      },
    ];
    const state = fold(history);
    expect(state.kind === "registered" && state.activeReservations).toBe(2);
    given(history)
      .when(reserveParking({ reservationId: "c" }))
      .then({ code: "TooManyActiveReservations", parkingLotId: LOT, limit: 1 });
    given(history)
      .when(reserveParking({ reservationId: "c", customerId: "CUST2" }))
      .then([parkingReserved({ reservationId: "c", customerId: "CUST2" })]);
  });
});

describe("ChangePaymentTerms", () => {
  const terms = {
    currency: "USD",
    deposit: 2000,
    cancellation: { freeUntilMinutesBefore: 60, feePercent: 50 },
    noShowFee: 1500,
  };
  const changeTerms = (t = terms): ParkingLotCommand => ({
    type: "ChangePaymentTerms",
    parkingLotId: LOT,
    terms: t,
    now: at("09:30"),
  });

  it("records the lot's first terms, then each change with the terms it replaces", () => {
    given([lotRegistered()])
      .when(changeTerms())
      .then([
        { type: "ParkingLotPaymentTermsChanged", data: { parkingLotId: LOT, terms, changedAt: at("09:30") } },
      ]);
    const later = { ...terms, noShowFee: 0 };
    given([
      lotRegistered(),
      { type: "ParkingLotPaymentTermsChanged", data: { parkingLotId: LOT, terms, changedAt: NOW } },
    ])
      .when(changeTerms(later))
      .then([
        {
          type: "ParkingLotPaymentTermsChanged",
          data: { parkingLotId: LOT, terms: later, previousTerms: terms, changedAt: at("09:30") },
        },
      ]);
  });

  it("changes nothing when the terms are already those (a retry), and refuses an unknown lot", () => {
    given([
      lotRegistered(),
      { type: "ParkingLotPaymentTermsChanged", data: { parkingLotId: LOT, terms, changedAt: NOW } },
    ])
      .when(changeTerms({ ...terms, cancellation: { ...terms.cancellation } }))
      .then([]);
    given().when(changeTerms()).then({ code: "LotNotFound", parkingLotId: LOT });
  });

  it("is kept by the state and its snapshot; a lot without its own has the defaults (KRW, no fees)", () => {
    const unset = fold([lotRegistered()]);
    expect(unset.kind === "registered" && paymentTermsOf(unset)).toEqual(DEFAULT_PAYMENT_TERMS);
    const state = fold([
      lotRegistered(),
      { type: "ParkingLotPaymentTermsChanged", data: { parkingLotId: LOT, terms, changedAt: NOW } },
    ]);
    expect(state.kind === "registered" && paymentTermsOf(state)).toEqual(terms);
    const restored = throughSummary(state);
    expect(plainOf(restored)).toEqual(plainOf(state));
    expect(restored.kind === "registered" && restored.paymentTerms).toEqual(terms);
  });
});
