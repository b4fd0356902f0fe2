import { SignInConfig } from "../platform/auth/sign-in-schemas.js";
import {
  CORRELATION,
  header,
  jsonResponse,
  type Operation,
  orText,
  pathParameter,
  textResponse,
} from "../platform/http/operation.js";
import { ANY_ROLE, BOOKING_ROLES, LOT_STAFF, OPERATOR } from "../schemas/actor.js";
import {
  ControlCenterAsOfQuery,
  ReservationsAsOfQuery,
  SingleAsOfQuery,
  TimelineAsOfQuery,
} from "../schemas/as-of-queries.js";
import { CustomerId, ParkingLotId, ReservationId } from "../schemas/common.js";
import { LOT_ID, RESERVATION_ID } from "../schemas/examples.js";
import { GateReviewPage } from "../schemas/gates.js";
import { HistoryPage, LotHistoryQuery, ReservationHistoryQuery } from "../schemas/history.js";
import { LotMoneyView } from "../schemas/payment-views.js";
import {
  AvailabilityQuery,
  CouponsQuery,
  GateReviewsQuery,
  LotMoneyQuery,
  ParkingLotsQuery,
} from "../schemas/queries.js";
import {
  AvailabilityView,
  ControlCenterView,
  CouponPage,
  ParkingLotDetail,
  ParkingLotPage,
  ReservationPage,
  ReservationView,
  TimelineView,
} from "../schemas/read-models.js";
import { callerOf } from "../write-side/http/access.js";
import { assertMayReadCustomer } from "./access.js";
import { wantsHtml } from "./page-routes.js";
import { asksAsOf } from "./time-travel/as-of.js";

/** What the query rows share: served by the query role, documented with the queries. */
const QUERY = { side: "queries", tag: "queries" } as const;
const lotPath = pathParameter("parkingLotId", ParkingLotId, LOT_ID);

/**
 * The query API and the control-center page, one row per operation, each served by one named
 * handler of query-routes.ts; the access check and the OpenAPI document are generated from them.
 */
export const QUERY_OPERATIONS = [
  {
    method: "get",
    path: "/parking-lots",
    operationId: "listParkingLots",
    // Every list and search is behind the expensive reads' gate and its work budget: a search near
    // a point quotes up to its walk's lots.
    expensive: true,
    ...QUERY,
    allow: "anonymous",
    summary: "List parking lots, by id; or find the lots near a point with a spot free for a window",
    description:
      "Without `near`, every lot by id. With `near`, `radiusMeters`, `from` and `until` (find a spot), the lots within the radius that have a spot free for the whole window (each lot's availability quote, as GET /parking-lots/{parkingLotId}/availability answers it), nearest first (`sort=distance`, the default) or cheapest window first (`sort=price`: the 1,000 nearest lots within the radius ranked by the price of their rate, lots without a rate last), each with `distanceMeters`, the window's `price` and `windowAvailableSpots`. A lot that is closed or full for the window, or farther than the radius, or that never set its place, is left out. A search page holds at most 100 lots and quotes at most 5 candidates per lot asked for (at least 50): a page that comes back short with a `nextCursor` found only full lots so far, and the next page goes on from there.",
    query: ParkingLotsQuery,
    rules: [
      "`near`: `latitude,longitude` with latitude in -90..90 and longitude in -180..180; a search sends `near`, `radiusMeters`, `from` and `until` together.",
      "`radiusMeters`: only in a search, with `near` (and `near` needs it).",
      "`sort`: only in a search, with `near`.",
      "`from`: only in a search, with `near` (and `near` needs it); at most 5 minutes before now and at most 90 days ahead, as a booking's `startsAt`.",
      "`until`: only in a search, with `near` (and `near` needs it); after `from`, at least 15 minutes after it and at most 24 hours after it, and at least 15 minutes after now, as a booking's `endsAt`.",
      "`cursor`: in a search, a `nextCursor` a search answered.",
    ],
    problems: ["store-unavailable"],
    responses: {
      "200": jsonResponse("A page of lots, by id or (a search) nearest or cheapest first.", ParkingLotPage),
    },
  },
  {
    method: "get",
    path: "/parking-lots/{parkingLotId}",
    operationId: "getParkingLot",
    expensive: asksAsOf,
    ...QUERY,
    allow: "anonymous",
    // As of a moment, for signed-in callers (it costs a fold of the log; it holds nothing personal,
    // so a customer may check what they were told); as it is now, for anyone.
    allowWhen: [{ when: asksAsOf, allow: ANY_ROLE }],
    summary: "One parking lot: its counts, the spots free now and in each of the next six hours",
    description:
      "With `asOf` (signed-in callers: an anonymous one gets 401), the lot as it was then, folded from the log, with `asOf` saying which position and instant it reflects.",
    parameters: [lotPath],
    query: SingleAsOfQuery,
    problems: ["parking-lot-not-found", "forbidden", "store-unavailable"],
    responses: { "200": jsonResponse("The lot.", ParkingLotDetail) },
  },
  {
    method: "get",
    path: "/parking-lots/{parkingLotId}/availability",
    operationId: "getAvailability",
    expensive: true,
    ...QUERY,
    allow: "anonymous",
    summary: "What a window would find: free spots and its price",
    description:
      "Refuses exactly the windows a booking would refuse, with the same problem types: the bounds below (400 naming `query.from` or `query.until`), and a window a closure overlaps (409 `parking-lot-closed`, naming the closure's range).",
    parameters: [lotPath],
    query: AvailabilityQuery,
    rules: [
      "`from`: at most 5 minutes before now (the server's clock) and at most 90 days ahead, as a booking's `startsAt`.",
      "`until`: after `from`, at least 15 minutes after it and at most 24 hours after it, and at least 15 minutes after now, as a booking's `endsAt`.",
    ],
    problems: ["parking-lot-not-found", "parking-lot-closed", "store-unavailable"],
    responses: { "200": jsonResponse("The window's free spots and price.", AvailabilityView) },
  },
  {
    method: "get",
    path: "/parking-lots/{parkingLotId}/history",
    operationId: "getParkingLotHistory",
    expensive: true,
    ...QUERY,
    allow: OPERATOR,
    summary: "The lot's audit trail: every fact in log order, who did it and why (operator)",
    description:
      "Read from the event log itself (each event and its metadata; nothing is kept beside it): each fact with when it was stamped, its type, who acted (`sub` and `role`, or the system process), the reason, the correlation and causation ids, and a sentence. `from`/`until` bound the facts by their stamp; pages go forward in log order, continued with `cursor` = `nextCursor` (a log position).",
    parameters: [lotPath],
    query: LotHistoryQuery,
    rules: ["`until`: after `from` when both are given."],
    problems: ["parking-lot-not-found", "store-unavailable"],
    responses: { "200": jsonResponse("A page of the lot's facts, oldest first.", HistoryPage) },
  },
  {
    method: "get",
    path: "/parking-lots/{parkingLotId}/timeline",
    operationId: "getTimeline",
    expensive: true,
    ...QUERY,
    allow: "anonymous",
    // As of a moment of the past: signed-in callers, as for the lot itself.
    allowWhen: [{ when: asksAsOf, allow: ANY_ROLE }],
    summary: "A lot's day: spots held per step (15 minutes by default) over the next 24 hours",
    description:
      "Per step of [from, until): the most spots held at one instant (windows, open-ended bookings, cars in the lot, overstaying ones until they check out: the count a booking is decided with), how many of those are cars past their window, and whether a closure overlaps the step. `from` defaults to now, `until` to a day after `from`; at most two days (400 naming `query.until` beyond). With `asOf` (signed-in callers), the timeline as it was then, its now that moment, folded from the lot's log.",
    parameters: [lotPath],
    query: TimelineAsOfQuery,
    rules: ["`until`: after `from` (now when `from` is left out), and at most two days after it."],
    problems: ["parking-lot-not-found", "store-unavailable"],
    responses: { "200": jsonResponse("The lot's timeline.", TimelineView) },
  },
  {
    method: "get",
    path: "/parking-lots/{parkingLotId}/money",
    operationId: "getLotMoney",
    ...QUERY,
    allow: OPERATOR,
    summary:
      "A lot's takings per day: what it charged, by the card processor or on site, refunds, net (operator)",
    description:
      "Per local day of the lot of [from, to] (default the lot's today) on which money moved, in each currency: revenue, what the lot charged (captured by the card processor, plus overstays charged off-session; and what check-outs left to collect at the gate: with payments off, the default, everything the lot priced, and every drive-up), split by who collected it (`collectedByProcessor`, `collectedOnSite`) and by what it was for (`bookings`, `overstays`, `driveUps`), refunds (on the day of the refund) and net, from the amounts the facts recorded; and the payments that did not arrive: declined or expired authorizations (`failedPayments`) and settlement steps the provider failed (`failedSteps`). At most 92 days (400 naming `query.to` beyond); `totals` sums the days. A day is the lot's: from midnight to midnight in its time zone (UTC for a lot without one), so 23 or 25 hours on a daylight-saving change; each fact counts on the local day of its own time.",
    parameters: [lotPath],
    query: LotMoneyQuery,
    rules: [
      "`from`: not after the lot's today when `to` is left out.",
      "`to`: not before `from`, and at most 92 days from it (both included).",
    ],
    problems: ["parking-lot-not-found", "store-unavailable"],
    responses: {
      "200": orText(
        jsonResponse(
          "The lot's money per day; as CSV (`Accept: text/csv` or `format=csv`): a header row, then a row per day and currency (`day,currency,revenue,collectedByProcessor,collectedOnSite,bookings,overstays,driveUps,refunds,net,failedPayments,failedSteps`), a day with failures only naming no currency, and a last row `total` summing them.",
          LotMoneyView,
        ),
        "text/csv",
      ),
    },
  },
  {
    method: "get",
    path: "/parking-lots/{parkingLotId}/gate-reviews",
    operationId: "listGateReviews",
    expensive: true,
    ...QUERY,
    allow: LOT_STAFF,
    summary: "A lot's open gate reviews: plate reads an attendant matches by hand",
    description:
      "The reads of the lot's gates answered `review` (`LowConfidence`, `SeveralBookings` with `candidates`, `NoStay`) and not yet resolved (`POST …/gate-reviews/{eventId}/resolve`), newest first. For the lot's staff: attendants, operators, admins (outside their lots 404; a `gate` credential 403). No plate: the read keeps none; the candidates' plates are on their reservations.",
    parameters: [lotPath],
    query: GateReviewsQuery,
    problems: ["parking-lot-not-found", "store-unavailable"],
    responses: { "200": jsonResponse("A page of open reviews, newest first.", GateReviewPage) },
  },
  {
    method: "get",
    path: "/reservations",
    operationId: "listReservations",
    // A list or a plate search; as of a moment, a fold of the lot's log.
    expensive: true,
    ...QUERY,
    allow: ANY_ROLE,
    summary: "List reservations by lot, customer, car and/or status, newest first",
    description:
      "A customer sees their own; an admin every lot's; an operator or attendant scoped to lots only theirs (a `parkingLotId` outside them is 404 `parking-lot-not-found`, saying it is not among theirs; a grant that covers no lot gets an empty page). A cursor walks only the caller's lots. With `asOf` and `parkingLotId`, the lot's reservations as they were then (statuses as of that moment), folded from its log.",
    rules: [
      "`carNumber`: at least 2 characters besides spaces and hyphens, which plates are compared without (`9-` is one).",
      "`parkingLotId`: required of staff whose grant covers more than 200 lots (too many to list together: they ask for one lot at a time).",
    ],
    query: ReservationsAsOfQuery,
    problems: ["store-unavailable", "parking-lot-not-found"],
    responses: { "200": jsonResponse("A page of reservations.", ReservationPage) },
  },
  {
    method: "get",
    path: "/reservations/{reservationId}",
    operationId: "getReservation",
    expensive: asksAsOf,
    ...QUERY,
    allow: ANY_ROLE,
    summary: "One reservation with its status and coupon",
    description:
      "With `asOf`, the reservation as it was then (404 if it was not booked yet), folded from the log, with `asOf` saying which position and instant it reflects.",
    parameters: [pathParameter("reservationId", ReservationId, RESERVATION_ID)],
    query: SingleAsOfQuery,
    problems: ["reservation-not-found", "store-unavailable"],
    responses: { "200": jsonResponse("The reservation.", ReservationView) },
  },
  {
    method: "get",
    path: "/reservations/{reservationId}/history",
    operationId: "getReservationHistory",
    expensive: true,
    ...QUERY,
    allow: ANY_ROLE,
    summary: "A reservation's audit trail: booked, checked in, out or canceled, its coupon; who and why",
    description:
      "The facts of the lot's stream that name this reservation (from its booking to the fact that ended it) and those of its coupon's stream, in log order, read from the event log. A customer may read only their own (another's answers 404).",
    parameters: [pathParameter("reservationId", ReservationId, RESERVATION_ID)],
    query: ReservationHistoryQuery,
    problems: ["reservation-not-found", "store-unavailable"],
    responses: { "200": jsonResponse("A page of the reservation's facts, oldest first.", HistoryPage) },
  },
  {
    method: "get",
    path: "/customers/{customerId}/coupons",
    operationId: "listCustomerCoupons",
    expensive: true,
    ...QUERY,
    allow: BOOKING_ROLES,
    summary: "A customer's coupons, newest first",
    description:
      "A customer reads their own; an admin (or staff granted every lot) any customer's; an operator scoped to lots any customer's coupons of their lots only (a grant that covers no lot gets an empty page).",
    // No example: Try it out must not read another customer's coupons by default (a customer gets 403).
    parameters: [pathParameter("customerId", CustomerId)],
    // A customer reads only their own coupons (403 before anything else of the request is looked at).
    authorize: (req, { customerId }) => assertMayReadCustomer(callerOf(req).actor, customerId ?? ""),
    rules: [
      "`parkingLotId`: required of staff whose grant covers more than 200 lots (too many to list together: they ask for one lot at a time).",
    ],
    query: CouponsQuery,
    problems: ["store-unavailable", "parking-lot-not-found"],
    responses: { "200": jsonResponse("A page of coupons.", CouponPage) },
  },
  {
    method: "get",
    path: "/control-center",
    operationId: "getControlCenter",
    expensive: (req) => !wantsHtml(req),
    side: "queries",
    allow: OPERATOR,
    // The HTML shell holds no data (the page signs in itself); the JSON is the operators'.
    allowWhen: [{ when: wantsHtml, allow: "anonymous" }],
    pageWhen: wantsHtml,
    vary: ["Accept", "Cookie"],
    tag: "control-center",
    summary:
      "Totals, a page of lots (same cursor as GET /parking-lots), and each processor's position and lag",
    description:
      "Content negotiation: a browser (Accept preferring text/html) gets the live control-center web page (or the sign-in screen with 401/403); API clients get the JSON. With `asOf`, the JSON as it was then, folded from the log, with `asOf` saying which position and instant it reflects.",
    query: ControlCenterAsOfQuery,
    htmlStatuses: [401, 403],
    problems: ["service-unavailable", "store-unavailable"],
    responses: {
      "200": orText(
        jsonResponse("The control center: JSON, or the web page for a browser.", ControlCenterView),
        "text/html",
      ),
    },
  },
  {
    method: "get",
    path: "/control-center/sign-in-config",
    operationId: "getSignInConfig",
    side: "queries",
    allow: "anonymous",
    tag: "control-center",
    summary: "How the control-center page signs an operator in (one-time link, or OIDC with PKCE)",
    responses: { "200": jsonResponse("The sign-in configuration.", SignInConfig) },
  },
  {
    method: "get",
    path: "/control-center/events",
    operationId: "streamControlCenterEvents",
    side: "queries",
    allow: OPERATOR,
    tag: "control-center",
    summary: "Live control-center updates (Server-Sent Events)",
    description:
      'One `control-center` event (the whole ControlCenterView as JSON, the same shape as GET /control-center) whenever the read models changed, at most one per LIVE_UPDATE_INTERVAL_MS however many events arrive, and whenever the figures of the moment changed with no event (a window started or ended, a closure began or ended; looked at every second); `: heartbeat` comments while idle. Each event\'s `id` names the state it carries: reconnecting with `Last-Event-ID` sends nothing until the state differs. Ended by the server on shutdown (clients reconnect). Capped per process (LIVE_MAX_STREAMS: past it 503 `service-unavailable`, `limit: "per-process"`) and per caller (LIVE_MAX_STREAMS_PER_PRINCIPAL streams of one token subject at once in one process: past it 429 `too-many-streams`, `limit: "per-principal"`), both with Retry-After.',
    parameters: [
      {
        name: "Last-Event-ID",
        in: "header",
        required: false,
        description: "The id of the last event received; sent by EventSource when it reconnects.",
        schema: { type: "string", maxLength: 64 },
      },
    ],
    problems: ["service-unavailable", "shutting-down", "too-many-streams"],
    responses: {
      "200": textResponse("An event stream.", "text/event-stream", {
        "X-Accel-Buffering": header("X-Accel-Buffering"),
      }),
    },
  },
  {
    method: "get",
    path: "/",
    operationId: "getLandingPage",
    side: "queries",
    allow: "anonymous",
    vary: ["Accept"],
    tag: "documentation",
    summary: "Landing page (HTML for a browser) or links to the control center, docs and health (JSON)",
    problems: ["service-unavailable"],
    responses: {
      "200": {
        description: "The landing page or its links.",
        headers: CORRELATION,
        content: {
          "text/html": { schema: { type: "string" } },
          "application/json": {
            schema: {
              type: "object",
              required: ["links"],
              properties: { links: { type: "object", additionalProperties: { type: "string" } } },
            },
          },
        },
      },
    },
  },
  {
    method: "get",
    path: "/favicon.ico",
    operationId: "getFavicon",
    side: "queries",
    allow: "anonymous",
    tag: "documentation",
    summary: "The page's icon (SVG), for any browser: no sign-in needed",
    responses: {
      "200": textResponse("The icon.", "image/svg+xml"),
    },
  },
] as const satisfies readonly Operation[];

export type QueryOperationId = (typeof QUERY_OPERATIONS)[number]["operationId"];
