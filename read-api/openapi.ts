import type { TSchema } from "@sinclair/typebox";
import type { AccessLookup } from "../platform/auth/access.js";
import { CORRELATION_ID_PATTERN } from "../platform/http/middleware.js";
import { PROBLEM_TYPES, type ProblemName, problemType } from "../platform/http/problem.js";
import { isRateLimited } from "../platform/http/rate-limits.js";
import { ControlCenterAsOfQuery, SingleAsOfQuery } from "../schemas/as-of-queries.js";
import {
  CancelReservationBody,
  ChangeCapacityBody,
  CloseParkingLotBody,
  IdempotencyKey,
  OperatorCancelReservationBody,
  OperatorReserveParkingBody,
  RegisterParkingLotBody,
  ReserveParkingBody,
} from "../schemas/commands.js";
import { CustomerId, ParkingLotId, ReservationId } from "../schemas/common.js";
import { HistoryPage, LotHistoryQuery, ReservationHistoryQuery } from "../schemas/history.js";
import {
  AvailabilityQuery,
  ControlCenterQuery,
  CouponsQuery,
  ParkingLotsQuery,
  ReservationsQuery,
  SingleQuery,
  TimelineQuery,
} from "../schemas/queries.js";
import {
  AvailabilityView,
  CapacityChangedResponse,
  ClosureAccepted,
  ControlCenterView,
  CouponView,
  Page,
  ParkingLotDetail,
  ParkingLotRegisteredResponse,
  ParkingLotView,
  Problem,
  ReservationAccepted,
  ReservationCanceledResponse,
  ReservationStepResponse,
  ReservationView,
  TimelineView,
} from "../schemas/read-models.js";
import { RevokeSessionsBody, SessionsRevoked, SignInConfig, StartSessionBody } from "../platform/auth/sign-in-schemas.js";
import {
  EDGE_LIMITS,
  edgeLimitsText,
  requestBody,
  rulesOf,
  rulesText,
  TRANSPORT_RESPONSES,
} from "./openapi-requests.js";

/**
 * The OpenAPI 3.1 document, generated from the very schemas that validate requests (OpenAPI 3.1
 * uses JSON Schema as is), so the docs cannot drift from what the service accepts.
 *
 * Who may call each operation is not a column: it is read from the access tables that enforce it
 * (app/access.ts), passed to openApiDocument() as a lookup, so the document's `security`, its
 * `x-roles` and its 401/403 answers cannot drift from what the service does.
 *
 * Every operation the service serves is one row of OPERATIONS. From that table come the document,
 * the 405 answers (with `Allow`) and OPTIONS of every documented path (app/http-app.ts), and a test
 * (app/openapi-routes.int.test.ts) fails when express serves a route that has no row, or a row has
 * no route. Every response the e2e suites receive is validated against the served document
 * (test-support/contract.ts). To add an operation: add a row here in the same change as the route.
 */

export type Side = "commands" | "queries" | "app";
type Method = "get" | "post" | "put" | "patch" | "delete";
type Json = Record<string, unknown>;

export interface Operation {
  readonly method: Method;
  /** OpenAPI path template: `/parking-lots/{parkingLotId}`. */
  readonly path: string;
  readonly operationId: string;
  /** Which role serves it: commands (ROLE=command|all), queries (ROLE=query|all), app (every role). */
  readonly side: Side;
  readonly tag: "commands" | "queries" | "control-center" | "operations" | "documentation";
  readonly summary: string;
  readonly description?: string;
  readonly parameters?: readonly Json[];
  /** The query string, validated by this schema (unknown parameters are refused with 400). */
  readonly query?: TSchema;
  readonly body?: {
    readonly schema: TSchema;
    readonly required: boolean;
    readonly example?: Json;
    /**
     * A stricter schema for a role, when the roles' bodies differ (an operator must name the
     * customer or give a reason): the route validates with it, the document shows it in
     * `x-role-schemas` and says so in the request body's description.
     */
    readonly byRole?: { readonly customer?: TSchema; readonly operator?: TSchema };
  };
  /**
   * The operation's rules that JSON Schema cannot say (the clock, the lot's state, the log), each
   * starting with the field a 400 names: written in its description (read-api/openapi-requests.ts).
   */
  readonly rules?: readonly string[];
  /** Success (and other non-problem) responses by status. */
  readonly responses: Readonly<Record<string, Json>>;
  /** Statuses also answered with an HTML page (a browser's sign-in screen), besides problem+json. */
  readonly htmlStatuses?: readonly number[];
  /**
   * Problems of this operation's own route (its handler, the decider's rejections it maps, the
   * stores it reads), beyond those problemsOf() derives from where it sits in the middleware chain.
   */
  readonly problems?: readonly ProblemName[];
}

/** Plain JSON Schema: TypeBox's symbols dropped, `$id`s removed (they are component names here). */
const plain = (schema: TSchema): Json =>
  JSON.parse(JSON.stringify(schema, (key, value) => (key === "$id" ? undefined : value)));

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const header = (name: string) => ({ $ref: `#/components/headers/${name}` });
const CORRELATION = { "X-Correlation-Id": header("X-Correlation-Id") };

const jsonResponse = (description: string, schemaName: string, headers: Json = {}, example?: unknown) => ({
  description,
  headers: { ...CORRELATION, ...headers },
  content: { "application/json": { schema: ref(schemaName), ...(example ? { example } : {}) } },
});

const pathParameter = (name: string, schema: TSchema, example: string) => ({
  name,
  in: "path",
  required: true,
  description: schema.description,
  schema: plain(schema),
  example,
});

/** Named component schemas: generated from the schemas that validate and answer. */
const COMPONENT_SCHEMAS: Record<string, TSchema> = {
  Problem,
  RegisterParkingLotBody,
  ReserveParkingBody,
  OperatorReserveParkingBody,
  CancelReservationBody,
  OperatorCancelReservationBody,
  CloseParkingLotBody,
  ChangeCapacityBody,
  ReservationStepResponse,
  ClosureAccepted,
  CapacityChangedResponse,
  ParkingLotRegisteredResponse,
  ReservationAccepted,
  ReservationCanceledResponse,
  ParkingLotDetail,
  AvailabilityView,
  TimelineView,
  ParkingLotPage: Page(ParkingLotView),
  ReservationView,
  ReservationPage: Page(ReservationView),
  CouponPage: Page(CouponView),
  ControlCenterView,
  SignInConfig,
  HistoryPage,
  StartSessionBody,
  RevokeSessionsBody,
  SessionsRevoked,
};

const LOT_ID = "gangnam-1";
const RESERVATION_ID = "0197a7c4-6f2b-7c3e-9a41-5d2e8b1f0c77";
const CUSTOMER_ID = "CUST1";

const idempotencyKeyHeader = {
  name: "Idempotency-Key",
  in: "header",
  required: false,
  description: `${IdempotencyKey.description} Scope: one parking lot and one customer (the reservation id is an HMAC of the lot, the customer and the key under a server secret): another customer's identical key is another booking and never sees this one. Kept as long as the reservation exists (keys never expire). A retry with the same key and the same body answers 200 with the original reservation and \`Idempotent-Replayed: true\`; the same key with a different car, amount or window answers 422. Without a key every request books a new reservation.`,
  schema: plain(IdempotencyKey),
  example: "reserve-2f1c9a7e",
};

export const OPERATIONS: readonly Operation[] = [
  {
    method: "post",
    path: "/parking-lots",
    operationId: "registerParkingLot",
    side: "commands",
    tag: "commands",
    summary: "Register a parking lot",
    description:
      "Registering the same id with the same name and capacity again changes nothing (200); another name or capacity is refused (409).",
    body: {
      schema: RegisterParkingLotBody,
      required: true,
      example: { parkingLotId: LOT_ID, name: "강남역 공영주차장", capacity: 120 },
    },
    problems: ["parking-lot-id-taken"],
    responses: {
      "201": jsonResponse(
        "Registered; Location names the lot.",
        "ParkingLotRegisteredResponse",
        { Location: header("Location") },
        { parkingLotId: LOT_ID, name: "강남역 공영주차장", capacity: 120, position: "42" },
      ),
      "200": jsonResponse(
        "The same registration was already done; nothing changed.",
        "ParkingLotRegisteredResponse",
        { Location: header("Location") },
      ),
    },
  },
  {
    method: "get",
    path: "/parking-lots",
    operationId: "listParkingLots",
    side: "queries",
    tag: "queries",
    summary: "List parking lots, by id",
    query: ParkingLotsQuery,
    problems: ["store-unavailable"],
    responses: { "200": jsonResponse("A page of lots, by id.", "ParkingLotPage") },
  },
  {
    method: "get",
    path: "/parking-lots/{parkingLotId}",
    operationId: "getParkingLot",
    side: "queries",
    tag: "queries",
    summary: "One parking lot: its counts, the spots free now and in each of the next six hours",
    description:
      "With `asOf` (signed-in callers: an anonymous one gets 401), the lot as it was then, folded from the log, with `asOf` saying which position and instant it reflects.",
    parameters: [pathParameter("parkingLotId", ParkingLotId, LOT_ID)],
    query: SingleAsOfQuery,
    problems: ["parking-lot-not-found", "forbidden", "store-unavailable"],
    responses: { "200": jsonResponse("The lot.", "ParkingLotDetail") },
  },
  {
    method: "get",
    path: "/parking-lots/{parkingLotId}/availability",
    operationId: "getAvailability",
    side: "queries",
    tag: "queries",
    summary: "What a window would find: free spots and its price",
    description:
      "Refuses exactly the windows a booking would refuse, with the same problem types: the bounds below (400 naming `query.from` or `query.until`), and a window a closure overlaps (409 `parking-lot-closed`, naming the closure's range).",
    parameters: [pathParameter("parkingLotId", ParkingLotId, LOT_ID)],
    query: AvailabilityQuery,
    rules: [
      "`from`: at most 5 minutes before now (the server's clock) and at most 90 days ahead, as a booking's `startsAt`.",
      "`until`: after `from`, at least 15 minutes after it and at most 24 hours after it, and at least 15 minutes after now, as a booking's `endsAt`.",
    ],
    problems: ["parking-lot-not-found", "parking-lot-closed", "store-unavailable"],
    responses: { "200": jsonResponse("The window's free spots and price.", "AvailabilityView") },
  },
  {
    method: "get",
    path: "/parking-lots/{parkingLotId}/history",
    operationId: "getParkingLotHistory",
    side: "queries",
    tag: "queries",
    summary: "The lot's audit trail: every fact in log order, who did it and why (operator)",
    description:
      "Read from the event log itself (each event and its metadata; nothing is kept beside it): each fact with when it was stamped, its type, who acted (`sub` and `role`, or the system process), the reason, the correlation and causation ids, and a sentence. `from`/`until` bound the facts by their stamp; pages go forward in log order, continued with `cursor` = `nextCursor` (a log position).",
    parameters: [pathParameter("parkingLotId", ParkingLotId, LOT_ID)],
    query: LotHistoryQuery,
    rules: ["`until`: after `from` when both are given."],
    problems: ["parking-lot-not-found", "store-unavailable"],
    responses: { "200": jsonResponse("A page of the lot's facts, oldest first.", "HistoryPage") },
  },
  {
    method: "get",
    path: "/parking-lots/{parkingLotId}/timeline",
    operationId: "getTimeline",
    side: "queries",
    tag: "queries",
    summary: "A lot's day: spots held per step (15 minutes by default) over the next 24 hours",
    description:
      "Per step of [from, until): the most spots held at one instant (windows, open-ended bookings, cars in the lot, overstaying ones until they check out: the count a booking is decided with), how many of those are cars past their window, and whether a closure overlaps the step. `from` defaults to now, `until` to a day after `from`; at most two days (400 naming `query.until` beyond).",
    parameters: [pathParameter("parkingLotId", ParkingLotId, LOT_ID)],
    query: TimelineQuery,
    rules: ["`until`: after `from` (now when `from` is left out), and at most two days after it."],
    problems: ["parking-lot-not-found", "store-unavailable"],
    responses: { "200": jsonResponse("The lot's timeline.", "TimelineView") },
  },
  {
    method: "post",
    path: "/parking-lots/{parkingLotId}/reservations",
    operationId: "reserveParking",
    side: "commands",
    tag: "commands",
    summary: "Reserve a spot",
    parameters: [pathParameter("parkingLotId", ParkingLotId, LOT_ID), idempotencyKeyHeader],
    body: {
      schema: ReserveParkingBody,
      required: true,
      example: { customerId: CUSTOMER_ID, carNumber: "10더8612", amount: 5000 },
      byRole: { customer: ReserveParkingBody, operator: OperatorReserveParkingBody },
    },
    rules: [
      "`startsAt`: at most 5 minutes before now (the server's clock) and at most 90 days ahead.",
      "`endsAt`: after `startsAt`, at least 15 minutes after it and at most 24 hours after it, and at least 15 minutes after now.",
      "`amount`: required on a lot without an hourly rate; on a lot with one, left out of an open-ended booking (it is priced at check-out), and for a window left out or equal to the quote (another amount is 409 `price-changed`).",
      "`customerId`: required when an operator books (OperatorReserveParkingBody); a customer leaves it out or sends their own (another is 403).",
    ],
    problems: [
      "parking-lot-not-found",
      "parking-lot-full",
      "parking-lot-closed",
      "too-many-active-reservations",
      "price-changed",
      "idempotency-key-reused",
    ],
    responses: {
      "201": jsonResponse(
        "Reserved; Location names the reservation.",
        "ReservationAccepted",
        { Location: header("Location") },
        {
          reservationId: RESERVATION_ID,
          parkingLotId: LOT_ID,
          customerId: CUSTOMER_ID,
          carNumber: "10더8612",
          amount: 5000,
          status: "RESERVED",
          position: "43",
        },
      ),
      "200": jsonResponse(
        "A retry with the same Idempotency-Key: the original reservation, nothing new booked.",
        "ReservationAccepted",
        { Location: header("Location"), "Idempotent-Replayed": header("Idempotent-Replayed") },
      ),
    },
  },
  {
    method: "delete",
    path: "/parking-lots/{parkingLotId}/reservations/{reservationId}",
    operationId: "cancelReservation",
    side: "commands",
    tag: "commands",
    summary: "Cancel a reservation (canceling twice changes nothing)",
    parameters: [
      pathParameter("parkingLotId", ParkingLotId, LOT_ID),
      pathParameter("reservationId", ReservationId, RESERVATION_ID),
    ],
    body: {
      schema: CancelReservationBody,
      required: false,
      example: { reason: "일정 변경" },
      byRole: { customer: CancelReservationBody, operator: OperatorCancelReservationBody },
    },
    rules: [
      "`reason`: required when an operator cancels (OperatorCancelReservationBody: the body is then required); optional for the reservation's customer.",
    ],
    problems: [
      "parking-lot-not-found",
      "reservation-not-found",
      "reservation-not-active",
      "reservation-checked-in",
    ],
    responses: { "200": jsonResponse("Canceled.", "ReservationCanceledResponse") },
  },
  {
    method: "post",
    path: "/parking-lots/{parkingLotId}/reservations/{reservationId}/check-in",
    operationId: "checkIn",
    side: "commands",
    tag: "commands",
    summary: "Check in (the customer who owns it, or an operator)",
    parameters: [
      pathParameter("parkingLotId", ParkingLotId, LOT_ID),
      pathParameter("reservationId", ReservationId, RESERVATION_ID),
    ],
    problems: [
      "parking-lot-not-found",
      "reservation-not-found",
      "reservation-not-active",
      "check-in-too-early",
    ],
    responses: { "200": jsonResponse("Done (doing it twice changes nothing).", "ReservationStepResponse") },
  },
  {
    method: "post",
    path: "/parking-lots/{parkingLotId}/reservations/{reservationId}/check-out",
    operationId: "checkOut",
    side: "commands",
    tag: "commands",
    summary: "Check out: frees the spot from now on",
    parameters: [
      pathParameter("parkingLotId", ParkingLotId, LOT_ID),
      pathParameter("reservationId", ReservationId, RESERVATION_ID),
    ],
    problems: ["parking-lot-not-found", "reservation-not-found", "reservation-not-active", "not-checked-in"],
    responses: { "200": jsonResponse("Done (doing it twice changes nothing).", "ReservationStepResponse") },
  },
  {
    method: "post",
    path: "/parking-lots/{parkingLotId}/closures",
    operationId: "closeParkingLot",
    side: "commands",
    tag: "commands",
    summary:
      "Close the lot over [from, until) (operator): refuses bookings overlapping it, cancels the windows it overlaps now and, when it begins, the open-ended bookings not checked in",
    parameters: [pathParameter("parkingLotId", ParkingLotId, LOT_ID)],
    body: {
      schema: CloseParkingLotBody,
      required: true,
      example: { from: "2026-11-23T13:00:00+09:00", until: "2026-11-23T15:00:00+09:00", reason: "repaving" },
    },
    rules: [
      "`until`: after `from`, not in the past (the server's clock), and at most 31 days after `from`.",
      "`from`: at most 90 days ahead.",
    ],
    problems: ["parking-lot-not-found", "too-many-closures"],
    responses: {
      "201": jsonResponse(
        "Closed; the canceled reservations are listed. Location names the lot, whose `closures` lists this one by `closureId` (read it with `minPosition` = `position` to see it at once).",
        "ClosureAccepted",
        { Location: header("Location") },
      ),
    },
  },
  {
    method: "put",
    path: "/parking-lots/{parkingLotId}/capacity",
    operationId: "changeCapacity",
    side: "commands",
    tag: "commands",
    summary: "Change the lot's capacity (operator); a reduction that would overbook names the instant",
    parameters: [pathParameter("parkingLotId", ParkingLotId, LOT_ID)],
    body: { schema: ChangeCapacityBody, required: true, example: { capacity: 10 } },
    problems: ["parking-lot-not-found", "capacity-too-low"],
    responses: { "200": jsonResponse("Changed.", "CapacityChangedResponse") },
  },
  {
    method: "get",
    path: "/reservations",
    operationId: "listReservations",
    side: "queries",
    tag: "queries",
    summary: "List reservations by lot, customer, car and/or status, newest first",
    query: ReservationsQuery,
    problems: ["store-unavailable"],
    responses: { "200": jsonResponse("A page of reservations.", "ReservationPage") },
  },
  {
    method: "get",
    path: "/reservations/{reservationId}",
    operationId: "getReservation",
    side: "queries",
    tag: "queries",
    summary: "One reservation with its status and coupon",
    description:
      "With `asOf`, the reservation as it was then (404 if it was not booked yet), folded from the log, with `asOf` saying which position and instant it reflects.",
    parameters: [pathParameter("reservationId", ReservationId, RESERVATION_ID)],
    query: SingleAsOfQuery,
    problems: ["reservation-not-found", "store-unavailable"],
    responses: { "200": jsonResponse("The reservation.", "ReservationView") },
  },
  {
    method: "get",
    path: "/reservations/{reservationId}/history",
    operationId: "getReservationHistory",
    side: "queries",
    tag: "queries",
    summary: "A reservation's audit trail: booked, checked in, out or canceled, its coupon; who and why",
    description:
      "The facts of the lot's stream that name this reservation (from its booking to the fact that ended it) and those of its coupon's stream, in log order, read from the event log. A customer may read only their own (another's answers 404).",
    parameters: [pathParameter("reservationId", ReservationId, RESERVATION_ID)],
    query: ReservationHistoryQuery,
    problems: ["reservation-not-found", "store-unavailable"],
    responses: { "200": jsonResponse("A page of the reservation's facts, oldest first.", "HistoryPage") },
  },
  {
    method: "get",
    path: "/customers/{customerId}/coupons",
    operationId: "listCustomerCoupons",
    side: "queries",
    tag: "queries",
    summary: "A customer's coupons, newest first",
    parameters: [pathParameter("customerId", CustomerId, CUSTOMER_ID)],
    query: CouponsQuery,
    problems: ["store-unavailable"],
    responses: { "200": jsonResponse("A page of coupons.", "CouponPage") },
  },
  {
    method: "get",
    path: "/control-center",
    operationId: "getControlCenter",
    side: "queries",
    tag: "control-center",
    summary:
      "Totals, a page of lots (same cursor as GET /parking-lots), and each processor's position and lag",
    description:
      "Content negotiation: a browser (Accept preferring text/html) gets the live control-center web page (or the sign-in screen with 401/403); API clients get the JSON. With `asOf`, the JSON as it was then, folded from the log, with `asOf` saying which position and instant it reflects.",
    query: ControlCenterAsOfQuery,
    htmlStatuses: [401, 403],
    problems: ["service-unavailable", "store-unavailable"],
    responses: {
      "200": {
        description: "The control center: JSON, or the web page for a browser.",
        headers: CORRELATION,
        content: {
          "application/json": { schema: ref("ControlCenterView") },
          "text/html": { schema: { type: "string" } },
        },
      },
    },
  },
  {
    method: "get",
    path: "/control-center/sign-in-config",
    operationId: "getSignInConfig",
    side: "queries",
    tag: "control-center",
    summary: "How the control-center page signs an operator in (one-time link, or OIDC with PKCE)",
    responses: { "200": jsonResponse("The sign-in configuration.", "SignInConfig") },
  },
  {
    method: "get",
    path: "/control-center/events",
    operationId: "streamControlCenterEvents",
    side: "queries",
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
      "200": {
        description: "An event stream.",
        headers: { ...CORRELATION, "X-Accel-Buffering": header("X-Accel-Buffering") },
        content: { "text/event-stream": { schema: { type: "string" } } },
      },
    },
  },
  {
    method: "get",
    path: "/",
    operationId: "getLandingPage",
    side: "queries",
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
    tag: "documentation",
    summary: "The page's icon (SVG), for any browser: no sign-in needed",
    responses: {
      "200": {
        description: "The icon.",
        headers: CORRELATION,
        content: { "image/svg+xml": { schema: { type: "string" } } },
      },
    },
  },
  {
    method: "get",
    path: "/healthz",
    operationId: "getLiveness",
    side: "app",
    tag: "operations",
    summary: "Liveness: the process answers",
    responses: {
      "200": {
        description: "Alive.",
        headers: CORRELATION,
        content: {
          "application/json": {
            schema: {
              type: "object",
              required: ["status"],
              properties: { status: { const: "ok" } },
            },
            example: { status: "ok" },
          },
        },
      },
    },
  },
  {
    method: "get",
    path: "/readyz",
    operationId: "getReadiness",
    side: "app",
    tag: "operations",
    summary: "Readiness: not shutting down, stores answer, processors within READY_MAX_LAG",
    responses: {
      "200": readinessResponse("Ready for traffic.", "ready"),
      "503": readinessResponse("Not ready; `checks` says why.", "not ready"),
    },
  },
  {
    method: "get",
    path: "/metrics",
    operationId: "getMetrics",
    side: "app",
    tag: "operations",
    summary: "Prometheus metrics (text exposition format); operators only",
    responses: {
      "200": {
        description: "Metrics in the Prometheus text exposition format.",
        headers: CORRELATION,
        content: {
          "text/plain": {
            schema: { type: "string" },
            example: 'parking_commands_total{command="ReserveParking",outcome="accepted"} 12\n',
          },
        },
      },
    },
  },
  {
    method: "get",
    path: "/.well-known/jwks.json",
    operationId: "getDevIssuerKeys",
    side: "app",
    tag: "operations",
    summary: "The embedded development issuer's public signing keys (only when AUTH_ISSUER is unset)",
    problems: ["not-found"],
    responses: {
      "200": {
        description: "A JSON Web Key Set (RFC 7517): public keys only.",
        headers: CORRELATION,
        content: {
          "application/json": {
            schema: {
              type: "object",
              required: ["keys"],
              properties: {
                keys: {
                  type: "array",
                  items: {
                    type: "object",
                    required: ["kty", "kid"],
                    properties: {
                      kty: { type: "string", example: "EC" },
                      kid: { type: "string" },
                      alg: { type: "string", example: "ES256" },
                      use: { type: "string", example: "sig" },
                      crv: { type: "string" },
                      x: { type: "string" },
                      y: { type: "string" },
                    },
                  },
                },
              },
            },
          },
        },
      },
    },
  },
  {
    method: "get",
    path: "/.well-known/openid-configuration",
    operationId: "getDevIssuerDiscovery",
    side: "app",
    tag: "operations",
    summary: "The embedded development issuer's OpenID Connect discovery document",
    problems: ["not-found"],
    responses: {
      "200": {
        description: "The issuer and where its keys are (OpenID Connect Discovery 1.0).",
        headers: CORRELATION,
        content: {
          "application/json": {
            schema: {
              type: "object",
              required: ["issuer", "jwks_uri"],
              properties: {
                issuer: { type: "string", example: "urn:parking-reservations:dev-issuer" },
                jwks_uri: { type: "string", format: "uri" },
                id_token_signing_alg_values_supported: { type: "array", items: { type: "string" } },
                claims_supported: { type: "array", items: { type: "string" } },
              },
            },
          },
        },
      },
    },
  },
  {
    method: "get",
    path: "/sign-in",
    operationId: "signIn",
    side: "app",
    tag: "operations",
    summary:
      "Browser sign-in with a one-time link from `npm run -s token -- --sign-in-url` (sets the session cookie)",
    parameters: [{ name: "token", in: "query", required: true, schema: { type: "string", maxLength: 8192 } }],
    problems: ["sign-in-failed", "not-found"],
    // A browser whose link is used or expired gets a page saying so, and the command for a new one.
    htmlStatuses: [401],
    responses: {
      "200": {
        description: "Signed in: HttpOnly session cookie set; the page moves on to /control-center at once.",
        headers: { ...CORRELATION, "Set-Cookie": header("Set-Cookie") },
        content: { "text/html": { schema: { type: "string" } } },
      },
    },
  },
  {
    method: "post",
    path: "/sign-in/session",
    operationId: "startSession",
    side: "app",
    tag: "operations",
    summary: "Trade an access token for the browser session cookie (the page, after signing in with PKCE)",
    description:
      "The access token comes as the bearer token; the provider's refresh token, if it gave one, in the body. The service records a session (the refresh token stays in that record and renews the access token before it expires; without one the session ends with the access token) and sets the cookie holding the session's random id.",
    body: { schema: StartSessionBody, required: false, example: { refreshToken: "…" } },
    problems: ["sign-in-failed"],
    responses: {
      "204": {
        description:
          "Signed in: an HttpOnly, SameSite=Strict cookie holds the session's id (at most 12 hours). Same-origin requests only (403 otherwise).",
        headers: { ...CORRELATION, "Set-Cookie": header("Set-Cookie") },
      },
    },
  },
  {
    method: "post",
    path: "/sessions/revoke",
    operationId: "revokeSessions",
    side: "app",
    tag: "operations",
    summary: "End every browser session of a subject at once (operator)",
    description:
      "Deletes the session records of that `sub` on every replica (they share the document store): the next request of each of its browsers gets 401 and signs in again. Bearer tokens are not sessions and are not touched: they expire (AUTH_MAX_TOKEN_LIFETIME_SECONDS) or are revoked at the provider.",
    body: { schema: RevokeSessionsBody, required: true, example: { sub: "ops-1" } },
    responses: { "200": jsonResponse("The sessions ended.", "SessionsRevoked") },
  },
  {
    method: "post",
    path: "/sign-out",
    operationId: "signOut",
    side: "app",
    tag: "operations",
    summary: "Sign out of the browser session (clears the cookie)",
    problems: ["not-found"],
    responses: {
      "200": {
        description: "Signed out (cookie cleared); the page moves on to /control-center.",
        headers: { ...CORRELATION, "Set-Cookie": header("Set-Cookie") },
        content: { "text/html": { schema: { type: "string" } } },
      },
    },
  },
  {
    method: "get",
    path: "/openapi.json",
    operationId: "getOpenApiDocument",
    side: "app",
    tag: "documentation",
    summary: "This OpenAPI document",
    responses: {
      "200": {
        description: "The OpenAPI 3.1 document.",
        headers: CORRELATION,
        content: { "application/json": { schema: { type: "object" } } },
      },
    },
  },
  {
    method: "get",
    path: "/problems/{name}",
    operationId: "getProblemType",
    side: "app",
    tag: "documentation",
    summary: "What a problem `type` means and what to do about it",
    parameters: [
      {
        name: "name",
        in: "path",
        required: true,
        description: "The last segment of a problem's `type`.",
        schema: { type: "string", enum: Object.keys(PROBLEM_TYPES) },
        example: "parking-lot-full",
      },
    ],
    problems: ["not-found"],
    responses: {
      "200": {
        description: "The problem type's title, status and advice.",
        headers: CORRELATION,
        content: {
          "application/json": {
            schema: {
              type: "object",
              required: ["type", "title", "status"],
              properties: {
                type: { type: "string" },
                title: { type: "string" },
                status: { type: "integer" },
                help: { type: "string" },
              },
            },
          },
        },
      },
    },
  },
];

function readinessResponse(description: string, status: string) {
  return {
    description,
    headers: CORRELATION,
    content: {
      "application/json": {
        schema: {
          type: "object",
          required: ["status", "checks"],
          properties: {
            status: { enum: ["ready", "not ready"] },
            checks: {
              type: "object",
              additionalProperties: {
                type: "object",
                required: ["ok"],
                properties: { ok: { type: "boolean" }, detail: { type: "string" } },
              },
            },
          },
        },
        example: {
          status,
          checks: {
            lifecycle: { ok: true },
            eventStore: { ok: true },
            documentStore: { ok: true },
            "projection:parking-lots":
              status === "ready" ? { ok: true } : { ok: false, detail: "lag 1500 > 1000" },
          },
        },
      },
    },
  };
}

const problemInfo = (name: ProblemName) => PROBLEM_TYPES[name];

/** Who may call an operation, from the access tables: anyone, or a bearer token with one of these roles. */
type Allowed = ReturnType<AccessLookup>;

/** The access tables' answer for an operation (its path template with a sample value per parameter). */
const allowedFor = (operation: Operation, access: AccessLookup): Allowed =>
  access(operation.method, operation.path.replace(/\{\w+\}/g, "x"));

const BODY_PROBLEMS: readonly ProblemName[] = [
  "malformed-json",
  "payload-too-large",
  "unsupported-media-type",
  "validation",
];

/**
 * Every problem an operation can answer: its route's own (`problems`), plus those of the
 * middleware every request passes through (app/http-app.ts), in that order:
 * - rate limits (per address, then per caller) on counted paths: `rate-limited`;
 * - authentication, on every route, public ones included: a bad token is `unauthorized`, a token or
 *   session cookie that cannot be checked because the issuer's keys are out of reach is
 *   `identity-provider-unavailable`, and a request that changes something authenticated by the
 *   session cookie from another origin is `forbidden`;
 * - a method the path does not have: `method-not-allowed`;
 * - an ill-formed X-Correlation-Id, on every operation: `validation`;
 * - the access tables: `unauthorized` without a token and `forbidden` for another role, unless
 *   anyone may call it;
 * - the body parser, before the command and query routes, for every method that may carry a body
 *   (GET bodies are not read): `malformed-json`, `payload-too-large`, `unsupported-media-type`;
 * - input validation (a path parameter that does not decode is refused by the router too):
 *   `validation`;
 * - read-your-writes (`minPosition`): `position-not-reached` after the wait, `overloaded` with
 *   too many waiting, `validation` for a position beyond the log;
 * - every command: `overloaded` (commands in flight), `concurrency-conflict`, `store-unavailable`;
 * - anything unforeseen: `internal`.
 */
export function problemsOf(operation: Operation, allowed: Allowed): ProblemName[] {
  const names = new Set<ProblemName>(operation.problems ?? []);
  const add = (...more: readonly ProblemName[]) => {
    for (const name of more) names.add(name);
  };
  if (isRateLimited(operation.path)) add("rate-limited");
  add("unauthorized", "identity-provider-unavailable");
  if (operation.method !== "get") add("forbidden");
  add("method-not-allowed");
  // An ill-formed X-Correlation-Id, on any operation.
  add("validation");
  if (allowed !== "anonymous") add("unauthorized", "forbidden");
  const routed = operation.side !== "app";
  if (operation.body || (routed && operation.method !== "get")) add(...BODY_PROBLEMS);
  if ((routed && operation.query) || (operation.parameters ?? []).some((p) => p.in === "path"))
    add("validation");
  if (operation.query && "minPosition" in ((operation.query as Json).properties as Json))
    add("position-not-reached", "overloaded", "validation");
  if (operation.side === "commands") add("overloaded", "concurrency-conflict", "store-unavailable");
  add("internal");
  return [...names];
}

const HEADERS_BY_STATUS: Record<number, Json> = {
  401: { "WWW-Authenticate": header("WWW-Authenticate"), "Set-Cookie": header("Session-Ended") },
  405: { Allow: header("Allow") },
  429: { "Retry-After": header("Retry-After") },
  503: { "Retry-After": header("Retry-After") },
};

const rolesText = (roles: readonly string[]) => roles.map((role) => `\`${role}\``).join(" or ");

function problemResponses(operation: Operation, allowed: Allowed): Record<string, Json> {
  const byStatus = new Map<number, ProblemName[]>();
  for (const name of problemsOf(operation, allowed)) {
    const status = problemInfo(name).status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), name]);
  }
  return Object.fromEntries(
    [...byStatus.entries()].map(([status, names]) => [
      String(status),
      {
        description: [
          ...names.map((n) => `\`${problemType(n)}\`: ${problemInfo(n).title}.`),
          ...(status === 403 && allowed !== "anonymous" ? [`Needs the role ${rolesText(allowed)}.`] : []),
        ].join(" "),
        headers: { ...CORRELATION, ...(HEADERS_BY_STATUS[status] ?? {}) },
        content: {
          ...(operation.htmlStatuses?.includes(status)
            ? { "text/html": { schema: { type: "string" } } }
            : {}),
          "application/problem+json": {
            // The problem types this answer can have, as an enum: integrators (and generated
            // clients) see them, and the contract check holds the service to them.
            schema: {
              allOf: [
                ref("Problem"),
                {
                  type: "object",
                  properties: {
                    type: { enum: names.map((n) => problemType(n)) },
                    status: { const: status },
                  },
                },
              ],
            },
            examples: Object.fromEntries(
              names.map((n) => [
                n,
                {
                  summary: problemInfo(n).title,
                  value: {
                    type: problemType(n),
                    title: problemInfo(n).title,
                    status,
                    detail: problemInfo(n).help,
                    instance: operation.path.replace(/\{(\w+)\}/g, (_m, p: string) =>
                      exampleOf(operation, p),
                    ),
                    ...(n === "validation"
                      ? { errors: [{ field: "body.carNumber", message: "must match the plate format" }] }
                      : {}),
                  },
                },
              ]),
            ),
          },
        },
      },
    ]),
  );
}

function exampleOf(operation: Operation, parameter: string): string {
  const found = (operation.parameters ?? []).find((p) => p.name === parameter);
  return String(found?.example ?? parameter);
}

function queryParameters(schema: TSchema): Json[] {
  const object = plain(schema) as { properties: Record<string, Json>; required?: string[] };
  return Object.entries(object.properties).map(([name, s]) => ({
    name,
    in: "query",
    required: object.required?.includes(name) ?? false,
    ...(s.description ? { description: s.description } : {}),
    schema: s,
  }));
}

/** Every answer to a counted path says what is left of its quotas, not only the 429. */
const RATE_LIMIT_HEADERS = { RateLimit: header("RateLimit"), "RateLimit-Policy": header("RateLimit-Policy") };

function withRateLimitHeaders(responses: Record<string, Json>): Record<string, Json> {
  return Object.fromEntries(
    Object.entries(responses).map(([status, response]) => [
      status,
      { ...response, headers: { ...(response.headers as Json), ...RATE_LIMIT_HEADERS } },
    ]),
  );
}

/**
 * An operation's own responses with its problems': a status both have (readiness answers 503 with
 * its checks, and a problem for a token it cannot check) keeps both contents.
 */
function mergeResponses(own: Readonly<Record<string, Json>>, problems: Record<string, Json>) {
  const merged: Record<string, Json> = { ...own };
  for (const [status, problem] of Object.entries(problems)) {
    const mine = own[status];
    merged[status] = mine
      ? {
          description: `${mine.description} Or a problem: ${problem.description}`,
          headers: { ...(problem.headers as Json), ...(mine.headers as Json) },
          content: { ...(mine.content as Json), ...(problem.content as Json) },
        }
      : problem;
  }
  return merged;
}

/**
 * Who may call the operation, as the access tables say: anonymous operations have `security: []`;
 * the others one bearer requirement per role that may call them (alternatives: any one will do,
 * OpenAPI 3.1 allows role names in a bearer requirement), the same roles in `x-roles`, and a
 * sentence in the description.
 */
function security(allowed: Allowed): Json {
  if (allowed === "anonymous") return { security: [], accessNote: "Anyone may call it: no token needed." };
  return {
    security: allowed.map((role) => ({ bearerAuth: [role] })),
    "x-roles": [...allowed],
    accessNote: `Needs a bearer token with the role ${rolesText(allowed)}.`,
  };
}

function operationObject(operation: Operation, access: AccessLookup): Json {
  const allowed = allowedFor(operation, access);
  const responses = mergeResponses(operation.responses, problemResponses(operation, allowed));
  const { accessNote, ...declared } = security(allowed);
  const rules = rulesOf(operation);
  return {
    operationId: operation.operationId,
    tags: [operation.tag],
    summary: operation.summary,
    description: [
      operation.description,
      rules.length ? rulesText(rules) : undefined,
      `**Access**: ${accessNote}`,
      edgeLimitsText(),
    ]
      .filter(Boolean)
      .join("\n\n"),
    ...declared,
    parameters: [
      ...(operation.parameters ?? []),
      ...(operation.query ? queryParameters(operation.query) : []),
      { $ref: "#/components/parameters/CorrelationId" },
    ],
    ...(operation.body ? { requestBody: requestBody(operation.body) } : {}),
    // Node's own answers (408, 431) come before the service sees the request: no headers of its own.
    responses: {
      ...(isRateLimited(operation.path) ? withRateLimitHeaders(responses) : responses),
      ...TRANSPORT_RESPONSES,
    },
  };
}

/** OpenAPI path template to an express route path: `/lots/{id}` -> `/lots/:id`. */
export const expressPath = (template: string): string => template.replace(/\{(\w+)\}/g, ":$1");

/** The methods each documented path answers in a process that serves these sides. */
export function methodsByPath(sides: ReadonlySet<Side>): Map<string, string[]> {
  const paths = new Map<string, string[]>();
  for (const operation of OPERATIONS) {
    if (!sides.has(operation.side)) continue;
    paths.set(operation.path, [...(paths.get(operation.path) ?? []), operation.method.toUpperCase()]);
  }
  return paths;
}

const problemTable = () =>
  [
    "| type | status | meaning | what to do |",
    "| --- | --- | --- | --- |",
    ...Object.entries(PROBLEM_TYPES).map(([name, p]) => {
      return `| \`/problems/${name}\` | ${p.status} | ${p.title} | ${p.help} |`;
    }),
  ].join("\n");

/**
 * The document. `access` is the service's access lookup (app/access.ts `serviceAccess`): the
 * tables that enforce who may call what are the ones the document says.
 */
export function openApiDocument(access: AccessLookup): Json {
  const paths: Record<string, Json> = {};
  for (const operation of OPERATIONS) {
    paths[operation.path] = {
      ...(paths[operation.path] ?? {}),
      [operation.method]: operationObject(operation, access),
    };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "Parking reservations",
      version: "0.1.0",
      license: { name: "UNLICENSED (private)", identifier: "UNLICENSED" },
      description: [
        "Event-sourced parking-lot reservations. Commands answer with the global `position` of their events; pass it as `minPosition` to any query to read your own writes (503 `position-not-reached` with Retry-After if the view does not reach it in time).",
        "Every query refuses unknown query parameters with 400 `validation` naming the parameter. Pages are ordered and continued with `cursor` = the previous page's `nextCursor`.",
        "Every response carries `X-Correlation-Id` (yours if you sent one, else a new one; an ill-formed one is refused with 400); quote it when reporting a problem.",
        `Every request, before any route: ${EDGE_LIMITS.map((limit, i) => `(${i + 1}) ${limit}`).join("; ")}. Each operation's description also lists its own rules beyond its schemas.`,
        "Errors are RFC 9457 problem details (`application/problem+json`); `type` links to `/problems/{name}`. Their catalogue closes this document, under **documentation**, after the operations.",
      ].join("\n"),
    },
    servers: [
      {
        url: "/",
        description: "This service: the address this document was loaded from.",
      },
    ],
    tags: [
      { name: "commands", description: "Register lots, reserve and cancel (the write side)." },
      { name: "queries", description: "Read models of lots, reservations and coupons." },
      {
        name: "control-center",
        description: "The operators' control center: totals, live updates, sign-in.",
      },
      { name: "operations", description: "Health, readiness and metrics for orchestrators and monitoring." },
      {
        name: "documentation",
        description: ["This document, the landing page and the problem types:", "", problemTable()].join(
          "\n",
        ),
      },
    ],
    paths,
    components: {
      schemas: {
        ...Object.fromEntries(Object.entries(COMPONENT_SCHEMAS).map(([name, s]) => [name, plain(s)])),
      },
      parameters: {
        CorrelationId: {
          name: "X-Correlation-Id",
          in: "header",
          required: false,
          description:
            "Your id for this request, echoed in the response and the logs (else one is made). An ill-formed one is refused with 400 `validation` naming `header.X-Correlation-Id`.",
          schema: { type: "string", minLength: 1, maxLength: 64, pattern: CORRELATION_ID_PATTERN },
          example: "checkout-7f3a",
        },
      },
      headers: {
        "X-Correlation-Id": {
          description:
            "The request's correlation id (yours, or generated when you sent none); it is in the logs.",
          required: true,
          schema: { type: "string", minLength: 1, maxLength: 64, pattern: CORRELATION_ID_PATTERN },
        },
        Location: { description: "Where the resource is read.", required: true, schema: { type: "string" } },
        "Idempotent-Replayed": {
          description: "`true` when this answer replays an earlier request with the same Idempotency-Key.",
          schema: { type: "string", enum: ["true"] },
        },
        "Retry-After": {
          description: "Seconds to wait before retrying.",
          schema: { type: "string", pattern: "^[0-9]+$" },
        },
        Allow: {
          description: "The methods this path accepts.",
          required: true,
          schema: { type: "string" },
          example: "GET, POST",
        },
        "WWW-Authenticate": {
          description: "The Bearer challenge: why the token was not accepted.",
          schema: { type: "string" },
        },
        RateLimit: {
          description:
            'What is left of each quota this request counted against (draft-ietf-httpapi-ratelimit-headers-08): `"per-address"` always, and `"per-principal"` for a signed-in caller; `r` requests remaining, `t` seconds until the window resets. On every answer of a counted operation.',
          schema: { type: "string" },
          example: '"per-address"; r=2999; t=60, "per-principal"; r=1199; t=60',
        },
        "RateLimit-Policy": {
          description:
            "The quotas this request counted against (draft-ietf-httpapi-ratelimit-headers-08): `q` requests per window of `w` seconds, `pk` the partition (a hash of the address or the caller). On every answer of a counted operation.",
          schema: { type: "string" },
          example: '"per-address"; q=3000; w=60; pk=:ZTNiMGM0NDI5OGZj:',
        },
        "Set-Cookie": {
          description:
            "The browser session: `parking_session` holds a random session id (the session itself is a record on the server), HttpOnly, SameSite=Strict, Path=/, Secure over HTTPS (directly, through a trusted proxy, or whenever PUBLIC_URL is https). Emptied with Max-Age=0 on sign-out.",
          required: true,
          schema: { type: "string" },
        },
        "Session-Ended": {
          description:
            "Sent as `Set-Cookie` when the request's session has ended (signed out, expired, or not renewed by the identity provider): empties `parking_session` with Max-Age=0.",
          schema: { type: "string" },
        },
        "X-Accel-Buffering": {
          description: "`no`: buffering proxies (nginx) pass each event on as it comes.",
          schema: { type: "string", enum: ["no"] },
        },
      },
      securitySchemes: {
        bearerAuth: {
          type: "http",
          scheme: "bearer",
          bearerFormat: "JWT",
          description:
            "A JWT from the configured issuer (AUTH_ISSUER) or, in development, `npm run -s token -- --role operator`. Roles: customer, operator; an operation's `security` lists the roles that may call it (any one will do), as does its `x-roles`.",
        },
      },
    },
  };
}
