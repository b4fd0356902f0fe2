import { Type } from "@sinclair/typebox";
import { Timestamp } from "./common.js";
import { byType, defineEvent } from "./event-definition.js";

const strict = { additionalProperties: false } as const;

/** A position in the global log, as the event store gives it (event-store/position.ts). */
const LogPosition = Type.Object(
  { commit: Type.Integer({ minimum: 0 }), prepare: Type.Integer({ minimum: 0 }) },
  strict,
);

/**
 * Issue 48: the control center's books closed at a position of the global log, appended once by the
 * control-center-books reactor (projections/control-center-books/) as event `book − 1` of its own
 * stream, `controlCenterBooks`, after every BOOK_EVENTS events of the log (book k holds the first
 * k × BOOK_EVENTS). Read side only: no decision, projection, history or audit of a lot reads it.
 * `documents`: what the control center's read models hold there, as a fold of them leaves them
 * (projections/read-models/control-center-books.ts: its totals and coupon counts, the closures and
 * the activity not over, the lots registered), each with its logical collection: counts and lot
 * ids, no personal value, so it needs no erasure. Time travel starts the control center as of a
 * moment from the last book before the moment (docs/domain.md, "Time travel").
 */
export const ControlCenterBooksClosedData = Type.Object(
  {
    book: Type.Integer({ minimum: 1 }),
    /** Events of the log folded into it (`book` × the reactor's BOOK_EVENTS). */
    events: Type.Integer({ minimum: 1 }),
    /** The last event folded into it, and the latest record time among all those folded. */
    position: LogPosition,
    latestStamp: Timestamp,
    closedAt: Timestamp,
    documents: Type.Array(
      Type.Object({ collection: Type.String(), _id: Type.String() }, { additionalProperties: true }),
    ),
  },
  { ...strict, $id: "ControlCenterBooksClosed" },
);

export const ControlCenterBooksClosedEvent = defineEvent({
  type: "ControlCenterBooksClosed",
  schema: ControlCenterBooksClosedData,
  stream: "controlCenterBooks",
  recordTime: "closedAt",
  audit: (d, by) =>
    `${by} closed the control center's book ${d.book} (${d.documents.length} documents) at log position ${d.position.commit}`,
});

/** The control center's books, by type (one stream: `controlCenterBooks`). */
export const CONTROL_CENTER_BOOKS_EVENTS = byType(ControlCenterBooksClosedEvent);
