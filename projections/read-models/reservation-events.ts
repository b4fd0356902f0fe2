import { EVENT_TYPES, EventDataSchemas, type EventType } from "../../schemas/events.js";
import { isUpgradeFact } from "../../schemas/payment-upgrade-events.js";
import { defineProjection, type Handler, type Handlers, upsertOne } from "./projection.js";

export const RESERVATION_EVENTS = "reservation_events";

/**
 * Every event type whose payload names a reservation (derived from the schemas, not listed), but
 * the upgrade's PaymentCarriedOver: its payment's original facts are indexed already.
 */
const NAMING_A_RESERVATION = EVENT_TYPES.filter(
  (type) =>
    !isUpgradeFact(type) && "reservationId" in (EventDataSchemas[type].properties as Record<string, unknown>),
);

/** One entry of the index, as stored. */
export type ReservationEventEntry = {
  readonly _id: string;
  readonly reservationId: string;
  readonly type: EventType;
  readonly stream: string;
  readonly revision: number;
  readonly commit: number;
  readonly prepare: number;
};

/** Where one of a reservation's events is: one document per event (its stream and revision). */
const located: Handler<EventType> = ({ event, streamId, revision, position }, collection) => {
  const { reservationId } = event.data as { reservationId?: string };
  // A gate's read (issue 49) names a reservation only when it concerned one.
  if (reservationId === undefined) return [];
  const { commit, prepare } = position;
  return upsertOne(collection, RESERVATION_EVENTS, `${reservationId}:${commit}:${prepare}`, {
    $set: { reservationId, type: event.type, stream: streamId, revision, commit, prepare },
  });
};

/**
 * The index of each reservation's events: where each one is in the log (its lot's stream or its
 * coupon's, the revision there, the log position), so a reservation's history reads its own events
 * by stream and revision instead of scanning its lot's stream from the booking on (issue 34).
 * A reservation has a handful of events, so all of its entries are one indexed range.
 */
export const reservationEventsProjection = defineProjection({
  name: "reservation-events",
  version: 1,
  collections: {
    [RESERVATION_EVENTS]: [{ name: "by_reservation", keys: { reservationId: 1, commit: 1, prepare: 1 } }],
  },
  on: Object.fromEntries(NAMING_A_RESERVATION.map((type) => [type, located])) as Handlers,
});
