import { type Static, Type } from "@sinclair/typebox";
import { PositionString, Timestamp } from "./common.js";

/** Time travel (issue 22): the moment a view is asked as of, and the moment an answer reflects. */

/** A moment of the past: an instant (with an offset) or a log position (decimal). */
export const AsOf = Type.String({
  maxLength: 40,
  pattern:
    "^([0-9]{1,16}|[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,9})?(Z|z|[+-][0-9]{2}:[0-9]{2}))$",
  description:
    "Answer the view as it was then, folded from the log (never from the live read models; `minPosition` is not needed): an RFC 3339 instant with an offset (the facts stamped up to it; what depends on the time, such as free now, takes it as now), or a log position (a command's `position`: the facts up to it, as of the last one's stamp).",
  examples: ["2026-11-23T14:02:00+09:00", "42"],
});

export const AsOfStamp = Type.Object(
  {
    position: Type.Union([PositionString, Type.Null()], {
      description: "The last fact of the log the answer reflects; null when none was recorded yet.",
    }),
    at: { ...Timestamp, description: "The instant the answer was computed as of (its now)." },
  },
  { description: "Present when asked with `asOf`: which moment of the log this answer reflects." },
);
export type AsOfStamp = Static<typeof AsOfStamp>;
