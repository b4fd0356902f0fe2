import { type Static, Type } from "@sinclair/typebox";
import { Actor } from "./actor.js";
import { Identifier, Instant, PageLimit, PositionString, Reason, Timestamp } from "./common.js";
import { EVENT_TYPES } from "./events.js";

/**
 * The audit trail (issue 22): a lot's or a reservation's facts in log order, read from the events
 * and their metadata, nothing kept beside them. And `asOf`, the moment a view is asked as of.
 */

const HistoryCursor = Type.String({
  ...PositionString,
  description:
    "`nextCursor` of the previous page: its last fact's place in log order (unique to the fact, where the facts of one append share their `position`).",
});

export const LotHistoryQuery = Type.Object(
  {
    from: Type.Optional({ ...Instant, description: "Only facts stamped at or after this instant." }),
    until: Type.Optional({ ...Instant, description: "Only facts stamped before this instant." }),
    cursor: Type.Optional(HistoryCursor),
    limit: Type.Optional(PageLimit),
  },
  { additionalProperties: false },
);
export type LotHistoryQuery = Static<typeof LotHistoryQuery>;

export const ReservationHistoryQuery = Type.Object(
  { cursor: Type.Optional(HistoryCursor), limit: Type.Optional(PageLimit) },
  { additionalProperties: false },
);

export const HistoryActor = Type.Object(
  {
    ...Actor.properties,
  },
  {
    description:
      "Who acted: a person (`sub` and `role` from their token) or the system (`role` `system`, `sub` the process: `coupon-policy`, `scheduler`). Absent for facts recorded before callers were authenticated.",
  },
);

export const HistoryEntry = Type.Object(
  {
    position: { ...PositionString, description: "The fact's position in the global log." },
    streamId: Type.String({
      description:
        "The stream it belongs to: the lot's, a reservation's coupon's, or a gate read's (`gate-{lot}/{eventId}`).",
    }),
    at: { ...Timestamp, description: "When the service stamped the fact (its clock)." },
    type: Type.Union(
      EVENT_TYPES.map((t) => Type.Literal(t)),
      { description: "The event type." },
    ),
    actor: Type.Optional(HistoryActor),
    reason: Type.Optional(Reason),
    reservationId: Type.Optional(Identifier),
    correlationId: { ...Identifier, description: "The request that started it all." },
    causationId: { ...Identifier, description: "The command or event that caused it." },
    summary: Type.String({ description: "The fact in words: who did what, to what, and why." }),
  },
  { $id: "HistoryEntry" },
);
export type HistoryEntry = Static<typeof HistoryEntry>;

export const HistoryPage = Type.Object(
  {
    items: Type.Array(HistoryEntry),
    nextCursor: Type.Union([Type.String(), Type.Null()], {
      description: "Pass as `cursor` to get the next page; null on the last page.",
    }),
  },
  { $id: "HistoryPage" },
);
export type HistoryPage = Static<typeof HistoryPage>;
