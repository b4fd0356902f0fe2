import { type Static, Type } from "@sinclair/typebox";
import { NOT_BLANK_PATTERN } from "../platform/plain-text.js";
import { addFormat } from "../platform/validation.js";

/**
 * Where a lot is and which clock it keeps (issue 49): a WGS 84 point, an optional address, and an
 * IANA time zone. A lot registered before has none of them: it reads as `UTC` with no place.
 */

export const Latitude = Type.Number({
  minimum: -90,
  maximum: 90,
  description: "Latitude in degrees (WGS 84), -90 to 90.",
  examples: [37.4979],
});
export const Longitude = Type.Number({
  minimum: -180,
  maximum: 180,
  description: "Longitude in degrees (WGS 84), -180 to 180.",
  examples: [127.0276],
});

/** A point on the earth (JSON has no NaN or Infinity: a number in range is finite). */
export const Location = Type.Object(
  { latitude: Latitude, longitude: Longitude },
  { additionalProperties: false, description: "Where the lot is: a WGS 84 point." },
);
export type Location = Static<typeof Location>;

export const Address = Type.String({
  minLength: 1,
  maxLength: 300,
  pattern: NOT_BLANK_PATTERN,
  description: "The lot's street address as people write it; any script, not blank, at most 300 characters.",
  examples: ["서울특별시 강남구 강남대로 396"],
});

/** The shape of an IANA zone name (`Area/Location`, `UTC`): what a generator may try. */
export const TIME_ZONE_NAME = /^[A-Za-z][A-Za-z0-9_+-]{0,40}(\/[A-Za-z0-9_+-]{1,40}){0,2}$/;

/** The zone every lot without one of its own keeps (those registered before issue 49). */
export const DEFAULT_TIME_ZONE = "UTC";

/**
 * The runtime's name for an IANA time zone (its case fixed, `Etc/UTC` read as `UTC`; a link such
 * as `Asia/Calcutta` is as valid as its target), or undefined when the runtime knows no such zone.
 * The runtime's list (`Intl.supportedValuesOf`) leaves links out, so what the runtime's
 * DateTimeFormat accepts is the test; an offset (`+09:00`) is not an IANA name.
 */
export function canonicalTimeZone(name: string): string | undefined {
  if (!TIME_ZONE_NAME.test(name)) return undefined;
  try {
    return new Intl.DateTimeFormat("en", { timeZone: name }).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
}

// The service checks a zone by the runtime (before schemas/common.ts registers the shape alone).
addFormat("time-zone", (name) => canonicalTimeZone(name) !== undefined);

export const TimeZone = Type.String({
  minLength: 1,
  maxLength: 64,
  format: "time-zone",
  description:
    "An IANA time zone name (format `time-zone`, checked by the service against the runtime's zones), e.g. `Asia/Seoul`, `America/New_York`, `UTC`; stored as the runtime names it (case fixed).",
  examples: ["Asia/Seoul"],
});

/** The lot's place as the decider keeps it and its views show it (issue 49). */
export const LotPlace = Type.Object(
  {
    location: Type.Optional(Location),
    address: Type.Optional(Address),
    timeZone: Type.Optional(TimeZone),
  },
  { additionalProperties: false },
);
export type LotPlace = Static<typeof LotPlace>;
