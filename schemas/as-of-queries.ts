import { Type } from "@sinclair/typebox";
import { AsOf } from "./as-of.js";
import { ControlCenterQuery, SingleQuery } from "./queries.js";

/** The query strings of the views that can be asked as of a moment of the past (issue 22). */

export const SingleAsOfQuery = Type.Object(
  { ...SingleQuery.properties, asOf: Type.Optional(AsOf) },
  { additionalProperties: false },
);

export const ControlCenterAsOfQuery = Type.Object(
  { ...ControlCenterQuery.properties, asOf: Type.Optional(AsOf) },
  { additionalProperties: false },
);
