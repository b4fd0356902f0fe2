import { describe, expect, it } from "vitest";
import type { ParkingLotCommand } from "../../schemas/commands.js";
import { given, LOT, lotRegistered, NOW, registerLot } from "../../test-support/given-when-then.js";
import { fold, plainOf, throughSummary } from "../../test-support/lot-state.js";
import type { ParkingLotEvent } from "./decider.js";

/** A lot's place and time zone (issue 49): set at registration, changed by an operator, kept by snapshots. */

const at = (hhmm: string) => `2024-05-01T${hhmm}:00.000Z`;
const GANGNAM = { latitude: 37.4979, longitude: 127.0276 };
const SEOUL_STATION = { latitude: 37.5547, longitude: 126.9707 };
const changePlace = (
  over: Partial<Extract<ParkingLotCommand, { type: "ChangePlace" }>> = {},
): ParkingLotCommand => ({
  type: "ChangePlace",
  parkingLotId: LOT,
  location: GANGNAM,
  timeZone: "Asia/Seoul",
  now: at("09:30"),
  ...over,
});
const placeChanged = (data: Record<string, unknown>): ParkingLotEvent =>
  ({
    type: "ParkingLotPlaceChanged",
    data: { parkingLotId: LOT, location: GANGNAM, timeZone: "Asia/Seoul", changedAt: at("09:30"), ...data },
  }) as ParkingLotEvent;

describe("a lot's place and time zone", () => {
  it("registration records the place it is given, and a retry with the same place changes nothing", () => {
    const place = { location: GANGNAM, address: "강남대로 396", timeZone: "Asia/Seoul" };
    given([])
      .when(registerLot(place))
      .then([lotRegistered(place)]);
    given([lotRegistered(place)])
      .when(registerLot(place))
      .then([]);
    // Another place is another registration: the id is taken.
    given([lotRegistered(place)])
      .when(registerLot({ ...place, timeZone: "Asia/Tokyo" }))
      .then("LotAlreadyRegistered");
    given([lotRegistered()]).when(registerLot(place)).then("LotAlreadyRegistered");
  });

  it("a lot without one gets its first place, naming none before", () => {
    given([lotRegistered()])
      .when(changePlace({ address: "강남대로 396" }))
      .then([placeChanged({ address: "강남대로 396" })]);
  });

  it("a move names the place it replaces; an address left out is none", () => {
    const before = { location: SEOUL_STATION, address: "서울역", timeZone: "Asia/Seoul" };
    const outcome = given([lotRegistered(before)])
      .when(changePlace())
      .then([
        placeChanged({
          previousLocation: SEOUL_STATION,
          previousAddress: "서울역",
          previousTimeZone: "Asia/Seoul",
        }),
      ]);
    expect(outcome.state.kind === "registered" && outcome.state.place).toEqual({
      location: GANGNAM,
      timeZone: "Asia/Seoul",
    });
  });

  it("the same place again changes nothing (a retry); an unknown lot is refused", () => {
    given([lotRegistered(), placeChanged({})])
      .when(changePlace())
      .then([]);
    given([]).when(changePlace()).then("LotNotFound");
  });

  it("a snapshot keeps the place, and a lot without one decodes without one", () => {
    for (const history of [[lotRegistered(), placeChanged({ address: "강남대로 396" })], [lotRegistered()]]) {
      const state = fold(history);
      const decoded = throughSummary(state);
      expect(plainOf(decoded)).toEqual(plainOf(state));
      expect(decoded.kind === "registered" && decoded.place).toEqual(
        history.length > 1
          ? { location: GANGNAM, address: "강남대로 396", timeZone: "Asia/Seoul" }
          : undefined,
      );
    }
    expect(NOW).toBeDefined();
  });
});
