import { type Static, Type } from "@sinclair/typebox";
import { AsOfStamp } from "./as-of.js";
import {
  Amount,
  Capacity,
  CarNumber,
  CouponId,
  CustomerId,
  HourlyRate,
  LotName,
  MaxActivePerCustomer,
  ParkingLotId,
  PaymentTerms,
  PositionString,
  Reason,
  ReservationId,
  Timestamp,
} from "./common.js";
import { moneyDay, PaymentView } from "./payment-views.js";
import { Address, Location, TimeZone } from "./place.js";
import { RESERVATION_STATUSES } from "./reservation-time.js";

/** A number of spots (free, held), as the description says. */
const spots = (description: string) => Type.Integer({ minimum: 0, description });
/** The span of time [from, until) a count of spots is about. */
const Span = { from: Timestamp, until: Timestamp };

/** Shapes served by the query API and answered by the command API. */

export const ReservationStatus = Type.Union(
  RESERVATION_STATUSES.map((status) => Type.Literal(status)),
  {
    description:
      "RESERVED (booked), CHECKED_IN (the car is in), OVERSTAYING (checked in, past endsAt), COMPLETED (checked out), NO_SHOW (a window that ended without a check-in), CANCELED. The status the clock gives at the moment of the answer.",
  },
);
export type ReservationStatus = Static<typeof ReservationStatus>;
export const CouponStatus = Type.Union(
  [Type.Literal("ISSUED"), Type.Literal("REVOKED"), Type.Literal("REDEEMED")],
  {
    description:
      "ISSUED (the booking made its customer a recipient; spendable once its own stay earned it: `spendable`), REVOKED (the reservation was canceled, a no-show, or its stay too short), REDEEMED (spent on the booking `redeemedFor`; ISSUED again if that booking is canceled before it starts).",
  },
);

/** Why a lot's figure may be absent (issue 68: time travel answers from the lot's state). */
const FROM_HISTORY =
  "Always present now; as of a moment (`asOf`) absent when the period holding it was opened by a version that did not keep it in the lot's state.";

export const ParkingLotView = Type.Object(
  {
    parkingLotId: ParkingLotId,
    name: LotName,
    capacity: Capacity,
    availableSpots: spots(
      "Spots free at this moment: the capacity less the reservations holding a spot now; 0 while the lot is closed. Computed when asked, so it changes as windows start and end, with no event.",
    ),
    activeReservations: Type.Integer({
      minimum: 0,
      description:
        "Reservations holding a spot at this moment: open-ended ones not canceled or checked out, and windows covering now (not canceled, not checked out before now).",
    }),
    totalReservations: Type.Integer({ minimum: 0, description: "Reservations ever made in this lot." }),
    canceledReservations: Type.Optional(
      Type.Integer({
        minimum: 0,
        description: `Reservations of this lot ever canceled (by a customer, an operator or a closure). ${FROM_HISTORY}`,
      }),
    ),
    closedUntil: Type.Optional({
      ...Timestamp,
      description: "Present while a closure is in effect: when it ends (no spot is free until then).",
    }),
    hourlyRate: Type.Optional({
      ...HourlyRate,
      description: `${HourlyRate.description} The rate of bookings made now (one made before keeps its price).`,
    }),
    maxActivePerCustomer: Type.Optional(MaxActivePerCustomer),
    paymentTerms: Type.Optional({
      ...PaymentTerms,
      description:
        "What the lot asks to be paid for bookings made now: currency, deposit, cancellation policy, no-show fee. Absent: the lot never set its own (KRW, no deposit, no fees).",
    }),
    closures: Type.Optional(
      Type.Array(
        Type.Object({
          closureId: Type.String(),
          from: Timestamp,
          until: Timestamp,
          reason: Type.Optional({
            ...Reason,
            description: "The operator's words: shown to operators only (the public view shows the range).",
          }),
          carsInLot: Type.Optional(
            Type.Array(ReservationId, {
              description:
                "Operators: the reservations whose cars were in the lot when the closure began (they are not canceled: they check out).",
            }),
          ),
        }),
        {
          description:
            "Closures in force or ahead, oldest first (ended ones are left out). Open-ended bookings still not checked in when one begins are canceled then.",
        },
      ),
    ),
    location: Type.Optional({ ...Location, description: "Where the lot is (WGS 84). Absent: not set yet." }),
    address: Type.Optional(Address),
    timeZone: {
      ...TimeZone,
      description: `${TimeZone.description} The lot's clock: UTC for a lot that never set one.`,
    },
    registeredAt: Type.Optional({ ...Timestamp, description: FROM_HISTORY }),
    updatedAt: Type.Optional({
      ...Timestamp,
      description: "When a fact last changed it (not as of a moment).",
    }),
  },
  { $id: "ParkingLotView" },
);
export type ParkingLotView = Static<typeof ParkingLotView>;

/** Free spots over time, computed when asked from the reservations' windows (GET /parking-lots/{id}). */
export const SpotsOverTime = Type.Object({
  ...Span,
  availableSpots: spots(
    "Capacity minus the most spots held at any instant of [from, until); 0 while closed.",
  ),
});

/** One lot as GET /parking-lots/{id} answers it: the counters, and the spots free now and in the next hours. */
export const ParkingLotDetail = Type.Object(
  {
    ...ParkingLotView.properties,
    freeNow: spots("Spots free at this moment (windows and closures counted)."),
    nextHours: Type.Array(SpotsOverTime, {
      description:
        "Free spots in each clock hour from the current one on; the current hour counted from now (minutes already past hold nothing anyone can book), so it agrees with freeNow.",
    }),
    asOf: Type.Optional(AsOfStamp),
  },
  { $id: "ParkingLotDetail" },
);
export type ParkingLotDetail = Static<typeof ParkingLotDetail>;

/** One step of a lot's timeline: the spots held at its busiest instant, and why. */
export const TimelineSlot = Type.Object({
  ...Span,
  held: spots(
    "The most spots held at one instant of [from, until): windows, open-ended bookings and cars in the lot (overstaying ones included), as a booking counts them.",
  ),
  overstaying: spots(
    "Of those, cars in the lot past their window's end by `until` (each holds its spot until it checks out).",
  ),
  closed: Type.Boolean({ description: "A closure overlaps the step: no spot is free in it." }),
});

/** GET /parking-lots/{id}/timeline: the spots held per step over a range (the next day by default). */
export const TimelineView = Type.Object(
  {
    parkingLotId: ParkingLotId,
    capacity: Capacity,
    now: {
      ...Timestamp,
      description: "The service's clock when it answered (the page draws its now line here).",
    },
    from: Timestamp,
    until: Timestamp,
    stepMinutes: Type.Integer({
      minimum: 5,
      maximum: 60,
      description: "Minutes per step (the `step` query parameter).",
    }),
    slots: Type.Array(TimelineSlot, {
      description: "From `from` on, one per step, the last one cut at `until`.",
    }),
    asOf: Type.Optional(AsOfStamp),
  },
  { $id: "TimelineView" },
);
export type TimelineView = Static<typeof TimelineView>;

/** GET /parking-lots/{id}/availability: what a window would find. */
export const AvailabilityView = Type.Object(
  {
    parkingLotId: ParkingLotId,
    ...Span,
    availableSpots: spots(
      "Capacity minus the most spots held at any instant of the window; 0 if a closure overlaps it.",
    ),
    amount: Type.Union([Amount, Type.Null()], {
      description:
        "What the window costs at the lot's hourly rate (ceil(duration × rate / 1 h)); null for a lot without a rate (the client names its amount).",
    }),
  },
  { $id: "AvailabilityView" },
);
export type AvailabilityView = Static<typeof AvailabilityView>;

/**
 * Issue 71: whether an ISSUED coupon can be spent now, and from when (the coupon decider's
 * `couponSpendability`): a coupon is issued at booking, pending until its own stay earns it.
 */
const couponSpendable = {
  spendable: Type.Boolean({
    description:
      "Whether a booking may spend it now: ISSUED and earned by its own stay (checked in for the lot's minimum stay, or checked out keeping it). false while pending (ISSUED, its stay not earned yet), and for REVOKED or REDEEMED.",
  }),
  spendableFrom: Type.Optional({
    ...Timestamp,
    description:
      "ISSUED and earned: from when it is spendable (its check-in plus the lot's minimum stay, or its check-out; may be ahead while the car is in). Absent while its stay has not earned it yet.",
  }),
};

export const ReservationCoupon = Type.Object({
  couponId: CouponId,
  status: CouponStatus,
  issuedAt: Timestamp,
  revokedAt: Type.Optional(Timestamp),
  /** While REDEEMED: the booking it was spent on. */
  redeemedFor: Type.Optional(ReservationId),
  ...couponSpendable,
});

/** Issue 69: the coupon a booking spent, and what it took off the price. */
export const SpentCoupon = Type.Object(
  {
    couponId: CouponId,
    reservationId: { ...ReservationId, description: "The reservation whose coupon it was." },
    discount: { ...Amount, description: "What it took off the price (`amount` is the price after it)." },
  },
  { additionalProperties: false, description: "The coupon this booking spent, if it spent one." },
);

/** What a row of a lot's table as of a moment leaves out (issue 68: it is the lot's state then). */
const FROM_FACTS =
  "Always present but in a lot's table as of a moment (`GET /reservations?parkingLotId=&asOf=`), which lists the reservations as the lot's state held them; `GET /reservations/{id}?asOf=` has it.";

export const ReservationView = Type.Object(
  {
    reservationId: ReservationId,
    parkingLotId: ParkingLotId,
    customerId: CustomerId,
    carNumber: CarNumber,
    amount: Amount,
    status: ReservationStatus,
    reservedAt: Type.Optional({ ...Timestamp, description: `When it was booked. ${FROM_FACTS}` }),
    startsAt: Type.Optional(Timestamp),
    endsAt: Type.Optional(Timestamp),
    checkedInAt: Type.Optional(Timestamp),
    checkedOutAt: Type.Optional(Timestamp),
    canceledAt: Type.Optional(Timestamp),
    cancelReason: Type.Optional(Reason),
    mustLeaveBy: Type.Optional({
      ...Timestamp,
      description:
        "An open-ended booking not checked in, on a lot with a closure ahead: when that closure begins, which cancels the booking if the car has not checked in by then.",
    }),
    hourlyRate: Type.Optional({
      ...HourlyRate,
      description:
        "An open-ended stay on a lot with a rate: the rate it is priced at on check-out, from check-in.",
    }),
    overstayCharge: Type.Optional({
      ...Amount,
      description:
        "Checked out past endsAt: the time past it at the lot's rate (pro rata to the millisecond, rounded up to the minor unit).",
    }),
    payment: Type.Optional(PaymentView),
    overstay: Type.Optional(
      Type.Object(
        {
          minutes: Type.Integer({
            minimum: 0,
            description: "Whole minutes past `endsAt`, as of the answer.",
          }),
          // Not an amount any fact records: past MAX_AMOUNT the check-out is refused (stay-price-too-high).
          chargeSoFar: Type.Integer({
            minimum: 0,
            description:
              "What a check-out now would charge for them (the decider's price of an overstay; 0 on a lot without a rate). A check-out whose whole price (booked amount plus this) passes 100,000,000 is refused with `stay-price-too-high`.",
          }),
        },
        { description: "OVERSTAYING only: how long past its window the car is, and the charge so far." },
      ),
    ),
    coupon: Type.Optional(ReservationCoupon),
    spentCoupon: Type.Optional(SpentCoupon),
    couponDue: Type.Optional(
      Type.Boolean({
        description:
          "Whether a coupon is to come for this reservation: true once its booking (or a stay that earned it) asked for one, so a reservation without `coupon` yet gets it shortly; false once a cancel, a no-show or a stay the lot's rule found too short took it away, so none will come (`coupon`, if one was issued, says REVOKED). Absent on a reservation nothing asked a coupon of.",
      }),
    ),
    position: Type.Optional({ ...PositionString, description: `Its booking's log position. ${FROM_FACTS}` }),
    asOf: Type.Optional(AsOfStamp),
  },
  { $id: "ReservationView" },
);
export type ReservationView = Static<typeof ReservationView>;

export const CouponView = Type.Object(
  {
    couponId: CouponId,
    reservationId: ReservationId,
    parkingLotId: ParkingLotId,
    customerId: CustomerId,
    status: CouponStatus,
    issuedAt: Timestamp,
    revokedAt: Type.Optional(Timestamp),
    /** While REDEEMED: the booking it was spent on, and when. */
    redeemedFor: Type.Optional(ReservationId),
    redeemedAt: Type.Optional(Timestamp),
    ...couponSpendable,
  },
  { $id: "CouponView" },
);
export type CouponView = Static<typeof CouponView>;

export const ProjectionStatus = Type.Object({
  name: Type.String(),
  state: Type.Union([Type.Literal("running"), Type.Literal("stopped"), Type.Literal("failed")]),
  position: Type.Union([PositionString, Type.Null()], {
    description: "Last position applied; null before the first event.",
  }),
  headPosition: Type.Union([PositionString, Type.Null()]),
  lag: Type.Union([Type.Integer(), Type.Null()], {
    description:
      "Head position minus applied position (events on the embedded store, log bytes on EventStoreDB); null when the event store cannot be reached.",
  }),
  error: Type.Optional(Type.String()),
  lease: Type.Optional(
    Type.Object(
      {
        holder: Type.Union([Type.String(), Type.Null()], {
          description: "The projector process (host/pid/id) that holds or last held it; null once released.",
        }),
        state: Type.Union([Type.Literal("held"), Type.Literal("expired"), Type.Literal("free")]),
        expiresAt: Type.Union([Type.String({ format: "date-time" }), Type.Null()]),
      },
      {
        description:
          "Which projector process works on this processor (the others stand by and take over when the lease expires or is released).",
      },
    ),
  ),
});

export const ControlCenterTotals = Type.Object({
  parkingLots: Type.Integer({ minimum: 0 }),
  capacity: Type.Integer({ minimum: 0 }),
  availableSpots: spots("Spots free at this moment, across every lot: the sum of the lots' availableSpots."),
  activeReservations: Type.Integer({
    minimum: 0,
    description:
      "Reservations holding a spot at this moment, across every lot: the sum of the lots' activeReservations.",
  }),
  totalReservations: Type.Integer({ minimum: 0, description: "Reservations ever made, in every lot." }),
  canceledReservations: Type.Integer({ minimum: 0, description: "Reservations ever canceled." }),
  couponsIssued: Type.Integer({ minimum: 0 }),
  couponsRevoked: Type.Integer({ minimum: 0 }),
});
export type ControlCenterTotals = Static<typeof ControlCenterTotals>;

export const ActivityMinute = Type.Object({
  minute: Type.String({
    pattern: "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}$",
    description: "UTC minute, e.g. 2026-11-22T11:05.",
  }),
  reserved: Type.Integer({ minimum: 0 }),
  canceled: Type.Integer({ minimum: 0 }),
});
export type ActivityMinute = Static<typeof ActivityMinute>;

export const ControlCenterView = Type.Object(
  {
    totals: ControlCenterTotals,
    activity: Type.Array(ActivityMinute, {
      description:
        "Reservations and cancellations per minute over the last hour, oldest first; minutes without any are left out.",
    }),
    parkingLots: Type.Array(
      Type.Object({
        ...ParkingLotView.properties,
        presence: Type.Object(
          {
            inLot: Type.Integer({ minimum: 0, description: "Checked in, in the lot now." }),
            expected: Type.Integer({
              minimum: 0,
              description:
                "Reserved windows starting within the hour (or started up to an hour ago), not checked in.",
            }),
            overstaying: spots("Checked in and past their endsAt: each holds its spot until it checks out."),
            noShows: Type.Integer({
              minimum: 0,
              description: "Windows that ended in the last 24 hours without a check-in (NO_SHOW).",
            }),
          },
          {
            description:
              "Who is in the lot, who is coming, who stays too long: as of the moment asked. Each count reads at most 10,000 reservations across the lots of the view (a bound on the work; past it, a lower bound).",
          },
        ),
        money: Type.Optional(
          moneyDay(
            "The lot's money today (its local day in the lot's time zone): revenue, refunds and net per currency, failed payments and failed settlement steps. Present only when a payment fact was recorded for the lot today (payments on).",
          ),
        ),
        openReviews: Type.Optional(
          Type.Integer({
            minimum: 1,
            description:
              "Plate reads of the lot's gates waiting for an attendant (GET /parking-lots/{id}/gate-reviews); absent when none. At most 10,000 are counted across the lots of the view.",
          }),
        ),
        atRisk: Type.Array(
          Type.Object({
            reservationId: ReservationId,
            carNumber: CarNumber,
            heldFrom: {
              ...Timestamp,
              description: "When it holds its spot from (now, for one holding it already).",
            },
            startsAt: Type.Optional(Timestamp),
            endsAt: Type.Optional(Timestamp),
          }),
          {
            maxItems: 50,
            description:
              "Reservations still to arrive, over the next 24 hours, that hold a spot at an instant when more spots are held than the lot has: only overstaying cars (which hold their spots until they check out) can cause that, and accepted reservations are never canceled for it. Soonest first, at most 50.",
          },
        ),
      }),
      { description: "The first lots by id; continue with GET /parking-lots?cursor=parkingLotsNextCursor." },
    ),
    parkingLotsNextCursor: Type.Union([Type.String(), Type.Null()], {
      description: "Null when every lot is listed.",
    }),
    money: Type.Optional(
      moneyDay(
        "Today's money (each lot's local day) summed over the lots of this page that have any, per currency (a scoped operator's page holds only their lots). Absent when none of them has. `day` is the local day they share, or the UTC day when their zones' days differ.",
      ),
    ),
    projections: Type.Array(ProjectionStatus),
    asOf: Type.Optional(AsOfStamp),
  },
  { $id: "ControlCenterView" },
);
export type ControlCenterView = Static<typeof ControlCenterView>;
export type ProjectionStatus = Static<typeof ProjectionStatus>;

export const Page = <T extends ReturnType<typeof Type.Object>>(item: T, $id?: string) =>
  Type.Object(
    {
      items: Type.Array(item),
      nextCursor: Type.Union([Type.String(), Type.Null()], {
        description: "Pass as `cursor` to get the next page; null on the last page.",
      }),
    },
    $id ? { $id } : {},
  );

/** A lot as GET /parking-lots lists it: with a search (issue 49), how far it is and the window's terms. */
export const ParkingLotListItem = Type.Object(
  {
    ...ParkingLotView.properties,
    distanceMeters: Type.Optional(
      Type.Integer({ minimum: 0, description: "A search: meters from `near` (great-circle, rounded)." }),
    ),
    price: Type.Optional({
      ...AvailabilityView.properties.amount,
      description:
        "A search: what the window costs at the lot (its availability quote); null for a lot without a rate (the client names its amount).",
    }),
    windowAvailableSpots: Type.Optional(
      spots("A search: the spots free for the whole window (its availability quote; at least 1)."),
    ),
  },
  { $id: "ParkingLotListItem" },
);
export type ParkingLotListItem = Static<typeof ParkingLotListItem>;

/** GET /parking-lots: a page of lots. */
export const ParkingLotPage = Page(ParkingLotListItem, "ParkingLotPage");

/** GET /customers/{customerId}/coupons: a page of coupons. */
export const CouponPage = Page(CouponView, "CouponPage");

/** GET /reservations: a page, and with `asOf` which moment of the lot's log it reflects. */
export const ReservationPage = Type.Object(
  {
    ...Page(ReservationView).properties,
    asOf: Type.Optional(AsOfStamp),
  },
  { $id: "ReservationPage" },
);

// The problem+json body every refusal answers with (its own file: it is no read model).
export { Problem } from "./problem.js";
