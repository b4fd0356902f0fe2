import { type Static, Type } from "@sinclair/typebox";
import { CustomerId, Identifier, Instant, PageLimit, ParkingLotId, PositionString } from "./common.js";
import { Day } from "./payment-views.js";
import { PlateFragment } from "./plates.js";
import { ReservationStatus } from "./read-models.js";

/** Query-string parameters of the query API. Everything arrives as text; integers are read as numbers before validation (validInput). */

const MinPosition = Type.String({
  ...PositionString,
  description:
    "Read-your-writes: answer only once the view has applied this position (a command's `position`).",
});

/** The farthest a search looks (issue 49): 50 km. */
export const MAX_SEARCH_RADIUS_METERS = 50_000;

/**
 * GET /parking-lots: the lots by id, or (issue 49) with `near`, `radiusMeters`, `from` and `until`
 * the lots within the radius with a spot free for the whole window, nearest first or by price.
 */
export const ParkingLotsQuery = Type.Object(
  {
    cursor: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 200,
        pattern: "^[A-Za-z0-9_.:-]+$",
        description: "The previous page's `nextCursor` (by id: the last lot's id; a search's is opaque).",
      }),
    ),
    limit: Type.Optional(PageLimit),
    minPosition: Type.Optional(MinPosition),
    near: Type.Optional(
      Type.String({
        maxLength: 40,
        pattern: "^-?[0-9]{1,3}(\\.[0-9]{1,12})?,-?[0-9]{1,3}(\\.[0-9]{1,12})?$",
        description:
          "Search (find a spot): `latitude,longitude` of the point to search around (WGS 84 degrees, e.g. `37.4979,127.0276`); with `radiusMeters`, `from` and `until`.",
        examples: ["37.4979,127.0276"],
      }),
    ),
    radiusMeters: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: MAX_SEARCH_RADIUS_METERS,
        description: "Search: how far from `near` a lot may be, in meters (at most 50,000).",
        examples: [1000],
      }),
    ),
    from: Type.Optional({
      ...Instant,
      description: "Search: the window's start (as a booking's `startsAt`).",
    }),
    until: Type.Optional({ ...Instant, description: "Search: the window's end (as a booking's `endsAt`)." }),
    sort: Type.Optional(
      Type.Union([Type.Literal("distance"), Type.Literal("price")], {
        description: "Search: `distance` (default, nearest first) or `price` (cheapest window first).",
      }),
    ),
  },
  {
    additionalProperties: false,
    dependentRequired: {
      near: ["radiusMeters", "from", "until"],
      radiusMeters: ["near"],
      from: ["near"],
      until: ["near"],
      sort: ["near"],
    },
  },
);

/** The control center pages its lots exactly like GET /parking-lots (default 100 a page). */
export const ControlCenterQuery = Type.Object(
  {
    cursor: Type.Optional(Identifier),
    limit: Type.Optional(PageLimit),
    minPosition: Type.Optional(MinPosition),
  },
  { additionalProperties: false },
);

export const ReservationsQuery = Type.Object(
  {
    parkingLotId: Type.Optional(ParkingLotId),
    customerId: Type.Optional(CustomerId),
    carNumber: Type.Optional(PlateFragment),
    status: Type.Optional({
      ...ReservationStatus,
      description:
        "The status each reservation is shown with at this moment: RESERVED and CHECKED_IN leave out windows that have ended, COMPLETED includes them.",
    }),
    cursor: Type.Optional(
      Type.String({ pattern: "^[0-9]{1,16}$", description: "`nextCursor` of the previous page." }),
    ),
    limit: Type.Optional(PageLimit),
    minPosition: Type.Optional(MinPosition),
  },
  { additionalProperties: false },
);
export type ReservationsQuery = Static<typeof ReservationsQuery>;

export const CouponsQuery = Type.Object(
  {
    parkingLotId: Type.Optional({
      ...ParkingLotId,
      description: "Only the coupons earned at this lot.",
    }),
    cursor: Type.Optional(Type.String({ pattern: "^[0-9]{1,16}$" })),
    limit: Type.Optional(PageLimit),
    minPosition: Type.Optional(MinPosition),
  },
  { additionalProperties: false },
);

/** A lot's open gate reviews (issue 49), newest first: a page at a time. */
export const GateReviewsQuery = Type.Object(
  {
    cursor: Type.Optional(
      Type.String({ pattern: "^[0-9]{1,16}$", description: "`nextCursor` of the previous page." }),
    ),
    limit: Type.Optional(PageLimit),
    minPosition: Type.Optional(MinPosition),
  },
  { additionalProperties: false },
);

export const SingleQuery = Type.Object(
  { minPosition: Type.Optional(MinPosition) },
  { additionalProperties: false },
);

/** A window to check: RFC 3339 instants with an offset; at most a day long (as a reservation). */
export const AvailabilityQuery = Type.Object(
  { from: Instant, until: Instant, minPosition: Type.Optional(MinPosition) },
  { additionalProperties: false },
);

/** A lot's timeline: from (default the step now is in) until (default a day after from, at most two days), by step minutes. */
export const TimelineQuery = Type.Object(
  {
    from: Type.Optional({
      ...Instant,
      description:
        "The first step's start (default: the start of the step now falls in, steps counted from midnight UTC).",
    }),
    until: Type.Optional({
      ...Instant,
      description: "The end of the range (default: a day after `from`; at most two days after it).",
    }),
    step: Type.Optional(
      Type.Integer({
        minimum: 5,
        maximum: 60,
        description: "Minutes per step, 5–60 (default 15).",
        examples: [15],
      }),
    ),
    minPosition: Type.Optional(MinPosition),
  },
  { additionalProperties: false },
);

/** The longest range of days GET /parking-lots/{id}/money answers (a quarter). */
export const MONEY_MAX_DAYS = 92;

/** A lot's money: the days from `from` to `to` (the lot's local days, both included; default its today). */
export const LotMoneyQuery = Type.Object(
  {
    from: Type.Optional({ ...Day, description: "The first day (default: `to`)." }),
    to: Type.Optional({
      ...Day,
      description: `The last day, included (default: the lot's today, in its time zone); not before \`from\`, at most ${MONEY_MAX_DAYS} days from it.`,
    }),
    minPosition: Type.Optional(MinPosition),
    format: Type.Optional(
      Type.Literal("csv", {
        description:
          "csv: the days as CSV (`text/csv`, a row per day and currency), as `Accept: text/csv` asks; absent: JSON.",
      }),
    ),
  },
  { additionalProperties: false },
);
export type LotMoneyQuery = Static<typeof LotMoneyQuery>;
