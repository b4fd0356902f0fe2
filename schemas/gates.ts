import { type Static, Type } from "@sinclair/typebox";
import { Amount, CarNumber, Identifier, PositionString, ReservationId, Timestamp } from "./common.js";

/**
 * Issue 49, item 4: what a gate integration (a plate camera at a barrier) sends and is answered.
 * docs/api.md, "Gates", is the vendor's guide.
 */

export const GateDirection = Type.Union([Type.Literal("entry"), Type.Literal("exit")]);
export const GateDecision = Type.Union([Type.Literal("open"), Type.Literal("deny"), Type.Literal("review")]);

export const GateEventBody = Type.Object(
  {
    eventId: {
      ...Identifier,
      description:
        "The camera's id of this read, unique per lot: a repeat of the same id is answered as the first time and changes nothing.",
    },
    gateId: { ...Identifier, description: "Which barrier read the plate." },
    direction: GateDirection,
    plate: {
      ...CarNumber,
      description: `${CarNumber.description} Compared ignoring spaces, hyphens and case.`,
    },
    confidence: Type.Number({
      minimum: 0,
      maximum: 1,
      description: "The camera's confidence in its read; below 0.8 the read goes to an attendant (`review`).",
    }),
    at: {
      ...Timestamp,
      description:
        "When the camera read the plate (RFC 3339), recorded with the read; the check-in or check-out is at the service's clock.",
    },
  },
  { additionalProperties: false, $id: "GateEventBody" },
);
export type GateEventBody = Static<typeof GateEventBody>;

export const GateEventAnswer = Type.Object(
  {
    eventId: Identifier,
    decision: GateDecision,
    reason: Type.String({
      description:
        "For `open`: `CheckedIn`, `CheckedOut`, `DriveUp` (no booking of the plate could check in now: an open-ended stay at the lot's rate was started); for `deny` the lot's refusal of a drive-up (`LotFull`, `LotClosed`, `NoHourlyRate`); for `review` `LowConfidence`, `SeveralBookings` or `NoStay`.",
    }),
    reservationId: Type.Optional(ReservationId),
    candidates: Type.Optional(
      Type.Array(ReservationId, { description: "The bookings a review may concern." }),
    ),
    price: Type.Optional({ ...Amount, description: "An exit that opened: what the stay cost." }),
    replayed: Type.Optional(
      Type.Literal(true, { description: "This event id was answered before: the same answer." }),
    ),
    position: {
      ...PositionString,
      description:
        "The global position of the read's record (after the lot's step it took): pass it as `minPosition` to see it in `GET …/gate-reviews`.",
    },
  },
  { additionalProperties: false, $id: "GateEventAnswer" },
);
export type GateEventAnswer = Static<typeof GateEventAnswer>;

/** GET /parking-lots/{id}/gate-reviews: one plate read the lot's gate sent to an attendant. */
export const GateReviewView = Type.Object(
  {
    eventId: Identifier,
    parkingLotId: Identifier,
    gateId: Identifier,
    direction: GateDirection,
    confidence: Type.Number({ minimum: 0, maximum: 1 }),
    at: { ...Timestamp, description: "When the camera read the plate." },
    reason: Type.String({ description: "`LowConfidence`, `SeveralBookings` or `NoStay`." }),
    candidates: Type.Array(ReservationId, {
      description: "The bookings of the plate the read may concern (empty for a low-confidence read).",
    }),
    candidateBookings: Type.Array(
      Type.Object(
        {
          reservationId: ReservationId,
          carNumber: Type.String(),
          customerId: Type.String(),
          startsAt: Type.Optional(Timestamp),
          endsAt: Type.Optional(Timestamp),
        },
        { additionalProperties: false },
      ),
      {
        description:
          "Each candidate as an attendant tells them apart (plate, customer, window; none for an open-ended stay), in `candidates`' order; a candidate the reservations view does not hold yet is left out.",
      },
    ),
  },
  { additionalProperties: false, $id: "GateReviewView" },
);
export type GateReviewView = Static<typeof GateReviewView>;

export const GateReviewPage = Type.Object(
  {
    items: Type.Array(GateReviewView),
    nextCursor: Type.Union([Type.String(), Type.Null()], {
      description: "Pass as `cursor` to get the next page; null on the last page.",
    }),
  },
  { $id: "GateReviewPage" },
);

/**
 * How an attendant settles a review: `open` a booking, `drive-up` (an entry only: the car has no
 * booking, the lot admits it as the gate would), or `deny`.
 */
export const GateReviewAction = Type.Union(
  [Type.Literal("open"), Type.Literal("drive-up"), Type.Literal("deny")],
  {
    description:
      "`open`: check `reservationId` in (an entry) or out (an exit) through the lot's own check-in or check-out; `drive-up` (an entry only): the car has no booking, the lot admits it as a drive-up stay under `plate` exactly as its gate would; `deny`: only record that the car was turned away.",
  },
);

/** POST /parking-lots/{id}/gate-reviews/{eventId}/resolve: an attendant settles a read by hand. */
export const ResolveGateReviewBody = Type.Object(
  {
    action: GateReviewAction,
    reservationId: Type.Optional({
      ...ReservationId,
      description: "With `open` (required): the booking the attendant matched the car to.",
    }),
    plate: Type.Optional({
      ...CarNumber,
      description: `With \`drive-up\` (required): the plate the attendant read on the camera image (a review keeps none). ${CarNumber.description} Kept only on the drive-up stay, like any booking's plate.`,
    }),
  },
  { additionalProperties: false, $id: "ResolveGateReviewBody" },
);
export type ResolveGateReviewBody = Static<typeof ResolveGateReviewBody>;

export const GateReviewResolution = Type.Object(
  {
    eventId: Identifier,
    action: GateReviewAction,
    reservationId: Type.Optional({
      ...ReservationId,
      description: "The booking opened, or the drive-up stay started (`drive-up`).",
    }),
    price: Type.Optional({ ...Amount, description: "An exit opened by hand: what the stay cost." }),
    position: {
      ...PositionString,
      description:
        "The global position of the resolution: pass it as `minPosition` to see the review gone from `GET …/gate-reviews`.",
    },
  },
  { additionalProperties: false, $id: "GateReviewResolution" },
);
export type GateReviewResolution = Static<typeof GateReviewResolution>;
