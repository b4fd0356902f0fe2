import type { TSchema } from "@sinclair/typebox";
import { describe, expect, it } from "vitest";
import { SchemaValidationError, validate } from "../platform/validation.js";
import { ChangePlaceBody, RegisterParkingLotBody } from "./commands.js";
import { canonicalTimeZone } from "./place.js";

/** What a lot's place and time zone accept (issue 49): the schemas, which the service and the document share. */

const fieldsOf = (body: unknown, schema: TSchema = RegisterParkingLotBody): string[] => {
  try {
    validate(schema, body);
    return [];
  } catch (error) {
    if (!(error instanceof SchemaValidationError)) throw error;
    return error.errors.map((e) => e.field);
  }
};
const lot = { name: "강남 1주차장", capacity: 5 };

describe("a time zone", () => {
  it("is an IANA name the runtime knows, named as the runtime names it", () => {
    expect(canonicalTimeZone("Asia/Seoul")).toBe("Asia/Seoul");
    expect(canonicalTimeZone("asia/seoul")).toBe("Asia/Seoul");
    expect(canonicalTimeZone("America/New_York")).toBe("America/New_York");
    expect(canonicalTimeZone("UTC")).toBe("UTC");
    // A link the runtime's list (Intl.supportedValuesOf) may leave out is a name all the same.
    expect(canonicalTimeZone("Asia/Calcutta")).toEqual(expect.stringMatching(/^Asia\/(Calcutta|Kolkata)$/));
    for (const bad of [
      "Mars/Olympus_Mons",
      "+09:00",
      "UTC+9",
      "Asia/",
      "",
      "Asia/Seoul/Gangnam/X",
      "a".repeat(65),
    ])
      expect(canonicalTimeZone(bad), bad).toBeUndefined();
  });

  it("a body with a zone the runtime does not know is refused naming timeZone", () => {
    expect(fieldsOf({ ...lot, timeZone: "Asia/Seoul" })).toEqual([]);
    expect(fieldsOf({ ...lot, timeZone: "Asia/Atlantis" })).toEqual(["timeZone"]);
    expect(fieldsOf({ ...lot, timeZone: "+09:00" })).toEqual(["timeZone"]);
    const place = { location: { latitude: 37.5, longitude: 127 }, timeZone: "Europe/Nowhere" };
    expect(fieldsOf(place, ChangePlaceBody)).toEqual(["timeZone"]);
  });
});

describe("a location", () => {
  it("is a WGS 84 point: latitude -90..90, longitude -180..180, both numbers", () => {
    const at = (latitude: unknown, longitude: unknown) =>
      fieldsOf({ ...lot, location: { latitude, longitude } });
    expect(at(37.4979, 127.0276)).toEqual([]);
    expect(at(-90, -180)).toEqual([]);
    expect(at(90, 180)).toEqual([]);
    expect(at(90.0001, 0)).toEqual(["location.latitude"]);
    expect(at(0, -180.5)).toEqual(["location.longitude"]);
    expect(at("37.5", 127)).toEqual(["location.latitude"]);
    expect(at(null, 127)).toEqual(["location.latitude"]);
    expect(fieldsOf({ ...lot, location: { latitude: 1 } })).not.toEqual([]);
    expect(fieldsOf({ ...lot, location: { latitude: 1, longitude: 2, altitude: 3 } })).not.toEqual([]);
  });

  it("an address comes with a location, bounded and not blank", () => {
    const location = { latitude: 37.5, longitude: 127 };
    expect(fieldsOf({ ...lot, location, address: "강남대로 396" })).toEqual([]);
    expect(fieldsOf({ ...lot, address: "강남대로 396" })).not.toEqual([]);
    expect(fieldsOf({ ...lot, location, address: "   " })).toEqual(["address"]);
    expect(fieldsOf({ ...lot, location, address: "가".repeat(301) })).toEqual(["address"]);
  });
});
