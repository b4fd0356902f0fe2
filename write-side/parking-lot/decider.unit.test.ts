import { describe, expect, it } from "vitest";
import type { ParkingLotCommand } from "../../schemas/commands.js";
import { eventTypesOfStream } from "../../schemas/events.js";
import {
  cancelReservation,
  given,
  LOT,
  lotRegistered,
  NOW,
  parkingReserved,
  registerLot,
  reservationCanceled,
  reserveParking,
} from "../../test-support/given-when-then.js";
import { fold, plainOf } from "../../test-support/lot-state.js";
import { PARKING_LOT_EVENT_TYPES } from "./decide.js";
import {
  availableSpots,
  decide,
  evolve,
  initialState,
  type ParkingLotState,
  type RegisteredLot,
} from "./decider.js";

const LATER = "2024-05-01T10:30:00.000Z";

function registered(state: ParkingLotState): RegisteredLot {
  if (state.kind !== "registered") throw new Error(`expected a registered lot, got ${state.kind}`);
  return state;
}

/** Runs commands through decide + evolve, the way the command handler does. */
function run(commands: readonly ParkingLotCommand[]): ParkingLotState {
  let state = initialState;
  for (const command of commands) {
    const decision = decide(command, state);
    if (decision.ok) state = fold(decision.events, state);
  }
  return state;
}

describe("RegisterParkingLot", () => {
  it("registers a new lot", () => {
    given()
      .when(registerLot({ name: "강남 1주차장", capacity: 5 }))
      .then([lotRegistered({ name: "강남 1주차장", capacity: 5, registeredAt: NOW })]);
  });

  it("starts a registered lot with every spot free", () => {
    const { state } = given()
      .when(registerLot({ capacity: 5 }))
      .then([lotRegistered({ capacity: 5 })]);
    const lot = registered(state);
    expect(lot).toMatchObject({
      parkingLotId: LOT,
      name: "강남 1주차장",
      capacity: 5,
      activeReservations: 0,
    });
    expect(lot.reservations.size).toBe(0);
    expect(availableSpots(lot)).toBe(5);
  });

  it("treats the same registration again as a no-op retry", () => {
    given([lotRegistered({ capacity: 2 })])
      .when(registerLot({ capacity: 2, now: LATER }))
      .then([]);
  });

  it("rejects a registration with a different name", () => {
    given([lotRegistered()])
      .when(registerLot({ name: "판교 2주차장" }))
      .then({ code: "LotAlreadyRegistered", parkingLotId: LOT });
  });

  it("rejects a registration with a different capacity", () => {
    given([lotRegistered({ capacity: 2 })])
      .when(registerLot({ capacity: 3 }))
      .then({ code: "LotAlreadyRegistered", parkingLotId: LOT });
  });

  it("does not reset a lot that already has reservations", () => {
    const history = [lotRegistered({ capacity: 2 }), parkingReserved()];
    const { state } = given(history)
      .when(registerLot({ capacity: 2 }))
      .then([]);
    expect(registered(state).activeReservations).toBe(1);
  });
});

describe("ReserveParking", () => {
  it("rejects a reservation in an unknown lot", () => {
    given().when(reserveParking()).then({ code: "LotNotFound", parkingLotId: LOT });
  });

  it("reserves a spot while there are free spots, with every field", () => {
    given([lotRegistered({ capacity: 2 })])
      .when(
        reserveParking({
          reservationId: "8c0f-1",
          customerId: "CUST1",
          carNumber: "34나5678",
          amount: 5000,
          now: LATER,
        }),
      )
      .then([
        {
          type: "ParkingReserved",
          data: {
            reservationId: "8c0f-1",
            parkingLotId: LOT,
            customerId: "CUST1",
            carNumber: "34나5678",
            amount: 5000,
            reservedAt: LATER,
          },
        },
      ]);
  });

  it("takes the last free spot", () => {
    const { state } = given([lotRegistered({ capacity: 2 }), parkingReserved({ reservationId: "a" })])
      .when(reserveParking({ reservationId: "b" }))
      .then([parkingReserved({ reservationId: "b" })]);
    expect(availableSpots(registered(state))).toBe(0);
  });

  it("rejects a reservation when active reservations = capacity", () => {
    given([
      lotRegistered({ capacity: 2 }),
      parkingReserved({ reservationId: "a" }),
      parkingReserved({ reservationId: "b" }),
    ])
      .when(reserveParking({ reservationId: "c" }))
      .then({ code: "LotFull", parkingLotId: LOT, capacity: 2, at: NOW });
  });

  it("always rejects reservations in a lot of capacity 0", () => {
    given([lotRegistered({ capacity: 0 })])
      .when(reserveParking())
      .then({ code: "LotFull", parkingLotId: LOT, capacity: 0, at: NOW });
    const state = run([
      registerLot({ capacity: 0 }),
      reserveParking({ reservationId: "a" }),
      cancelReservation({ reservationId: "a" }),
      reserveParking({ reservationId: "b" }),
    ]);
    expect(registered(state)).toMatchObject({ capacity: 0, activeReservations: 0 });
    expect(registered(state).reservations.size).toBe(0);
  });

  it("accepts a reservation again once a cancel has freed a spot", () => {
    given([
      lotRegistered({ capacity: 1 }),
      parkingReserved({ reservationId: "a" }),
      reservationCanceled({ reservationId: "a" }),
    ])
      .when(reserveParking({ reservationId: "b" }))
      .then([parkingReserved({ reservationId: "b" })]);
  });

  it("frees a spot on cancel, end to end through decide and evolve", () => {
    const full = run([registerLot({ capacity: 1 }), reserveParking({ reservationId: "a" })]);
    expect(decide(reserveParking({ reservationId: "b" }), full)).toEqual({
      ok: false,
      rejection: { code: "LotFull", parkingLotId: LOT, capacity: 1, at: NOW },
    });
    const state = run([
      registerLot({ capacity: 1 }),
      reserveParking({ reservationId: "a" }),
      cancelReservation({ reservationId: "a" }),
      reserveParking({ reservationId: "b" }),
    ]);
    const lot = registered(state);
    expect(lot.activeReservations).toBe(1);
    expect(lot.reservations.get("a")?.status).toBe("CANCELED");
    expect(lot.reservations.get("b")?.status).toBe("RESERVED");
  });

  describe("a reservation id that is already taken", () => {
    const history = [lotRegistered({ capacity: 2 }), parkingReserved({ reservationId: "a" })];

    it("is an idempotent retry (no events) when customer, car and amount are the same", () => {
      given(history)
        .when(reserveParking({ reservationId: "a", now: LATER }))
        .then([]);
    });

    it("is still a retry, not LotFull, when the lot has filled up since", () => {
      given([...history, parkingReserved({ reservationId: "b" })])
        .when(reserveParking({ reservationId: "a" }))
        .then([]);
    });

    it("does not re-book a reservation that has been canceled", () => {
      const { state } = given([...history, reservationCanceled({ reservationId: "a" })])
        .when(reserveParking({ reservationId: "a" }))
        .then([]);
      expect(registered(state).reservations.get("a")?.status).toBe("CANCELED");
      expect(registered(state).activeReservations).toBe(0);
    });

    it.each([
      ["customer", { customerId: "CUST2" }],
      ["car", { carNumber: "99허9999" }],
      ["amount", { amount: 5001 }],
    ])("is a ReservationIdConflict when the %s differs", (_field, change) => {
      given(history)
        .when(reserveParking({ reservationId: "a", ...change }))
        .then({ code: "ReservationIdConflict", parkingLotId: LOT, reservationId: "a" });
    });

    it("is a ReservationIdConflict, not LotFull, when the lot is full and the details differ", () => {
      given([...history, parkingReserved({ reservationId: "b" })])
        .when(reserveParking({ reservationId: "a", amount: 1 }))
        .then({ code: "ReservationIdConflict", parkingLotId: LOT, reservationId: "a" });
    });
  });

  it.each(["10더8612", "서울12가3456", "AB-123-CD"])("carries the plate %s as is", (plate) => {
    const { state } = given([lotRegistered()])
      .when(reserveParking({ carNumber: plate }))
      .then([parkingReserved({ carNumber: plate })]);
    expect(registered(state).reservations.get("res-1")?.carNumber).toBe(plate);
  });

  it("does not normalize a plate: decomposed Hangul stays decomposed", () => {
    const decomposed = "10더8612".normalize("NFD");
    expect(decomposed).not.toBe("10더8612");
    const { state } = given([lotRegistered()])
      .when(reserveParking({ carNumber: decomposed }))
      .then([parkingReserved({ carNumber: decomposed })]);
    expect(registered(state).reservations.get("res-1")?.carNumber).toBe(decomposed);
    // ...so the precomposed spelling of the same plate is a different car for the retry check.
    given([lotRegistered(), parkingReserved({ carNumber: decomposed })])
      .when(reserveParking({ carNumber: "10더8612" }))
      .then("ReservationIdConflict");
  });
});

describe("CancelReservation", () => {
  it("cancels an active reservation, carrying the original reservation's customer", () => {
    given([lotRegistered(), parkingReserved({ reservationId: "a", customerId: "CUST7" })])
      .when(cancelReservation({ reservationId: "a", reason: "no longer needed", now: LATER }))
      .then([
        {
          type: "ReservationCanceled",
          data: {
            reservationId: "a",
            parkingLotId: LOT,
            customerId: "CUST7",
            reason: "no longer needed",
            canceledAt: LATER,
          },
        },
      ]);
  });

  it("takes the customer from the right reservation when several customers have booked", () => {
    given([
      lotRegistered({ capacity: 3 }),
      parkingReserved({ reservationId: "a", customerId: "CUST1" }),
      parkingReserved({ reservationId: "b", customerId: "CUST2" }),
      parkingReserved({ reservationId: "c", customerId: "CUST3" }),
    ])
      .when(cancelReservation({ reservationId: "b" }))
      .then([reservationCanceled({ reservationId: "b", customerId: "CUST2" })]);
  });

  it("rejects canceling an unknown reservation", () => {
    given([lotRegistered(), parkingReserved({ reservationId: "a" })])
      .when(cancelReservation({ reservationId: "nope" }))
      .then({ code: "ReservationNotFound", parkingLotId: LOT, reservationId: "nope" });
  });

  it("yields no events when canceling twice", () => {
    const history = [lotRegistered(), parkingReserved({ reservationId: "a" })];
    const first = given(history)
      .when(cancelReservation({ reservationId: "a" }))
      .then([reservationCanceled({ reservationId: "a" })]);
    given([...history, reservationCanceled({ reservationId: "a" })])
      .when(cancelReservation({ reservationId: "a", reason: "another reason", now: LATER }))
      .then([]);
    expect(decide(cancelReservation({ reservationId: "a" }), first.state)).toEqual({ ok: true, events: [] });
  });

  it("rejects a cancel in an unknown lot", () => {
    given().when(cancelReservation()).then({ code: "LotNotFound", parkingLotId: LOT });
  });

  it("lets a customer cancel their own reservation", () => {
    given([lotRegistered(), parkingReserved({ reservationId: "a", customerId: "CUST1" })])
      .when(cancelReservation({ reservationId: "a", requestedBy: "CUST1" }))
      .then([reservationCanceled({ reservationId: "a", customerId: "CUST1" })]);
  });

  it("answers a customer's cancel of someone else's reservation exactly like a missing one", () => {
    const history = [lotRegistered(), parkingReserved({ reservationId: "a", customerId: "CUST1" })];
    const notFound = { code: "ReservationNotFound", parkingLotId: LOT, reservationId: "a" } as const;
    given(history)
      .when(cancelReservation({ reservationId: "a", requestedBy: "CUST2" }))
      .then(notFound);
    // Even once canceled: a stranger learns nothing from the answer.
    given([...history, reservationCanceled({ reservationId: "a", customerId: "CUST1" })])
      .when(cancelReservation({ reservationId: "a", requestedBy: "CUST2" }))
      .then(notFound);
  });
});

describe("evolve", () => {
  it("ignores reservations and cancels for a lot that is not registered", () => {
    expect(evolve(initialState, parkingReserved())).toBe(initialState);
    expect(evolve(initialState, reservationCanceled())).toBe(initialState);
    expect(fold([parkingReserved(), reservationCanceled(), parkingReserved({ reservationId: "b" })])).toEqual(
      initialState,
    );
  });

  it("ignores a second cancel of the same reservation without changing counts", () => {
    const once = fold([
      lotRegistered({ capacity: 2 }),
      parkingReserved({ reservationId: "a" }),
      parkingReserved({ reservationId: "b" }),
      reservationCanceled({ reservationId: "a" }),
    ]);
    const twice = evolve(once, reservationCanceled({ reservationId: "a" }));
    expect(twice).toBe(once);
    expect(registered(twice).activeReservations).toBe(1);
    expect(availableSpots(registered(twice))).toBe(1);
  });

  it("ignores a cancel of a reservation it never saw", () => {
    const state = fold([lotRegistered(), parkingReserved({ reservationId: "a" })]);
    expect(evolve(state, reservationCanceled({ reservationId: "ghost" }))).toBe(state);
  });

  it("counts reservations and cancels", () => {
    const lot = registered(
      fold([
        lotRegistered({ capacity: 5 }),
        parkingReserved({ reservationId: "a" }),
        parkingReserved({ reservationId: "b", carNumber: "10더8612" }),
        parkingReserved({ reservationId: "c" }),
        reservationCanceled({ reservationId: "b" }),
      ]),
    );
    expect(lot.activeReservations).toBe(2);
    expect(availableSpots(lot)).toBe(3);
    expect(lot.reservations.size).toBe(3);
    expect(lot.reservations.get("b")).toEqual({
      customerId: "CUST1",
      carNumber: "10더8612",
      amount: 5000,
      status: "CANCELED",
    });
  });

  it("does not mutate the state it is given", () => {
    const before = fold([lotRegistered(), parkingReserved({ reservationId: "a" })]);
    const picture = () => JSON.stringify({ ...before, ...plainOf(before) });
    const snapshot = picture();
    evolve(before, parkingReserved({ reservationId: "b" }));
    evolve(before, reservationCanceled({ reservationId: "a" }));
    expect(picture()).toBe(snapshot);
  });
});

describe("the given/when/then helper itself", () => {
  it("fails when events were expected but the command was rejected", () => {
    expect(() => given().when(reserveParking()).then([])).toThrow(/expected events/);
  });

  it("fails when a rejection was expected but the command was accepted", () => {
    expect(() => given().when(registerLot()).then("LotFull")).toThrow(/expected rejection/);
  });

  it("fails on different events, a different code or a different rejection", () => {
    expect(() =>
      given()
        .when(registerLot({ capacity: 3 }))
        .then([lotRegistered({ capacity: 2 })]),
    ).toThrow();
    expect(() => given().when(reserveParking()).then("LotFull")).toThrow();
    expect(() =>
      given().when(reserveParking()).then({ code: "LotNotFound", parkingLotId: "other" }),
    ).toThrow();
  });
});

describe("the types the lot folds (issue 48)", () => {
  it("are its stream's, and of an old lot stream's payment facts only the authorization (issue 68)", () => {
    expect(eventTypesOfStream("lot").has("PaymentAuthorized" as never)).toBe(false);
    for (const type of ["ParkingReserved", "LotPeriodOpened", "PaymentAuthorized"])
      expect(PARKING_LOT_EVENT_TYPES.has(type), type).toBe(true);
    for (const type of ["PaymentStepFailed", "PaymentSettlementDecided", "PaymentCarriedOver"])
      expect(PARKING_LOT_EVENT_TYPES.has(type), type).toBe(false);
  });
});
