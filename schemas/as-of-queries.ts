import { Type } from "@sinclair/typebox";
import { AsOf } from "./as-of.js";
import { ControlCenterQuery, ReservationsQuery, SingleQuery, TimelineQuery } from "./queries.js";

/** The query strings of the views that can be asked as of a moment of the past (issue 22). */

export const SingleAsOfQuery = Type.Object(
  { ...SingleQuery.properties, asOf: Type.Optional(AsOf) },
  { additionalProperties: false },
);

export const ControlCenterAsOfQuery = Type.Object(
  { ...ControlCenterQuery.properties, asOf: Type.Optional(AsOf) },
  { additionalProperties: false },
);

/** A lot's timeline, now or as of a moment (the lot's page's "as of" slider moves it). */
export const TimelineAsOfQuery = Type.Object(
  { ...TimelineQuery.properties, asOf: Type.Optional(AsOf) },
  { additionalProperties: false },
);

/** Reservations, now or (with `parkingLotId`) as they were at a moment of the lot's past. */
export const ReservationsAsOfQuery = Type.Object(
  {
    ...ReservationsQuery.properties,
    asOf: Type.Optional({
      ...AsOf,
      description: `${AsOf.description} Only with \`parkingLotId\` (one lot's log is folded); 400 naming \`query.asOf\` without it.`,
    }),
  },
  { additionalProperties: false },
);
