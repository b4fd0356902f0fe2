import type { TSchema } from "@sinclair/typebox";
import { Type } from "@sinclair/typebox";
import {
  CancelReservationBody,
  ChangeCapacityBody,
  CloseParkingLotBody,
  IdempotencyKey,
  RegisterParkingLotBody,
  ReserveParkingBody,
} from "../schemas/commands.js";
import { CustomerId, ParkingLotId, ReservationId } from "../schemas/common.js";
import { EventDataSchemas } from "../schemas/events.js";
import { CouponsQuery, ParkingLotsQuery, ReservationsQuery, SingleQuery } from "../schemas/queries.js";
import {
  CapacityChangedResponse,
  ClosureAccepted,
  ControlCenterView,
  CouponView,
  Page,
  ParkingLotRegisteredResponse,
  ParkingLotView,
  Problem,
  ReservationAccepted,
  ReservationCanceledResponse,
  ReservationStepResponse,
  ReservationView,
} from "../schemas/read-models.js";
import { SignInConfig } from "../schemas/sign-in.js";

/**
 * The OpenAPI 3.1 document, generated from the very schemas that validate requests (OpenAPI 3.1
 * uses JSON Schema as is), so the docs cannot drift from what the service accepts.
 */

/** Plain JSON Schema: TypeBox's symbols dropped, `$id`s removed (they are component names here). */
const plain = (schema: TSchema): Record<string, unknown> =>
  JSON.parse(JSON.stringify(schema, (key, value) => (key === "$id" ? undefined : value)));

const json = (schema: TSchema) => ({ "application/json": { schema: plain(schema) } });
const problem = (description: string) => ({
  description,
  content: { "application/problem+json": { schema: { $ref: "#/components/schemas/Problem" } } },
});
const ok = (description: string, schema: TSchema) => ({ description, content: json(schema) });

function queryParameters(schema: TSchema) {
  const object = plain(schema) as {
    properties: Record<string, Record<string, unknown>>;
    required?: string[];
  };
  return Object.entries(object.properties).map(([name, s]) => ({
    name,
    in: "query",
    required: object.required?.includes(name) ?? false,
    ...(s.description ? { description: s.description } : {}),
    schema: s,
  }));
}

const pathParameter = (name: string, schema: TSchema) => ({
  name,
  in: "path",
  required: true,
  schema: plain(schema),
});

export function openApiDocument(): Record<string, unknown> {
  const commonErrors = {
    "400": problem("Invalid input: `errors` lists each wrong field."),
    "503": problem("Overloaded or a store is unavailable: retry after Retry-After."),
  };
  return {
    openapi: "3.1.0",
    info: {
      title: "Parking reservations",
      version: "0.1.0",
      description:
        "Event-sourced parking-lot reservations. Commands answer with the global `position` of their events; pass it as `minPosition` to a query to read your own writes.",
    },
    tags: [
      { name: "commands", description: "Register lots, reserve and cancel (the write side)." },
      { name: "queries", description: "The control center's read models." },
    ],
    paths: {
      "/parking-lots": {
        post: {
          tags: ["commands"],
          summary: "Register a parking lot",
          requestBody: { required: true, content: json(RegisterParkingLotBody) },
          responses: {
            "201": { ...ok("Registered; Location names the lot.", ParkingLotRegisteredResponse) },
            "200": ok("The same registration was already done.", ParkingLotRegisteredResponse),
            "409": problem("The id is taken by a lot with other details."),
            ...commonErrors,
          },
        },
        get: {
          tags: ["queries"],
          summary: "List parking lots",
          parameters: queryParameters(ParkingLotsQuery),
          responses: { "200": ok("A page of lots, by id.", Page(ParkingLotView)), ...commonErrors },
        },
      },
      "/parking-lots/{parkingLotId}": {
        get: {
          tags: ["queries"],
          summary: "One parking lot with its free spots and counts",
          parameters: [pathParameter("parkingLotId", ParkingLotId), ...queryParameters(SingleQuery)],
          responses: {
            "200": ok("The lot.", ParkingLotView),
            "404": problem("No such lot."),
            ...commonErrors,
          },
        },
      },
      "/parking-lots/{parkingLotId}/reservations": {
        post: {
          tags: ["commands"],
          summary: "Reserve a spot",
          parameters: [
            pathParameter("parkingLotId", ParkingLotId),
            {
              name: "Idempotency-Key",
              in: "header",
              required: false,
              schema: plain(IdempotencyKey),
              description: IdempotencyKey.description,
            },
            {
              name: "X-Correlation-Id",
              in: "header",
              required: false,
              schema: { type: "string", maxLength: 64 },
            },
          ],
          requestBody: { required: true, content: json(ReserveParkingBody) },
          responses: {
            "201": ok("Reserved; Location names the reservation.", ReservationAccepted),
            "200": ok(
              "A retry with the same Idempotency-Key: the original reservation, nothing new booked.",
              ReservationAccepted,
            ),
            "404": problem("No such lot."),
            "409": problem(
              "The lot is full at some instant of the window, closed, the price changed (`quote`), or the customer holds too many reservations.",
            ),
            "422": problem("The Idempotency-Key was used for a different reservation."),
            ...commonErrors,
          },
        },
      },
      "/parking-lots/{parkingLotId}/reservations/{reservationId}": {
        delete: {
          tags: ["commands"],
          summary: "Cancel a reservation (canceling twice changes nothing)",
          parameters: [
            pathParameter("parkingLotId", ParkingLotId),
            pathParameter("reservationId", ReservationId),
          ],
          requestBody: { required: false, content: json(CancelReservationBody) },
          responses: {
            "200": ok("Canceled.", ReservationCanceledResponse),
            "404": problem("No such lot or reservation."),
            ...commonErrors,
          },
        },
      },
      "/parking-lots/{parkingLotId}/reservations/{reservationId}/check-in": {
        post: {
          tags: ["commands"],
          summary: "Check in (the customer who owns it, or an operator)",
          parameters: [
            pathParameter("parkingLotId", ParkingLotId),
            pathParameter("reservationId", ReservationId),
          ],
          responses: {
            "200": ok("Done (doing it twice changes nothing).", ReservationStepResponse),
            "404": problem("No such lot or reservation (or not yours)."),
            "409": problem("The reservation is not in a state that allows it."),
            ...commonErrors,
          },
        },
      },
      "/parking-lots/{parkingLotId}/reservations/{reservationId}/check-out": {
        post: {
          tags: ["commands"],
          summary: "Check out: frees the spot from now on",
          parameters: [
            pathParameter("parkingLotId", ParkingLotId),
            pathParameter("reservationId", ReservationId),
          ],
          responses: {
            "200": ok("Done (doing it twice changes nothing).", ReservationStepResponse),
            "404": problem("No such lot or reservation (or not yours)."),
            "409": problem("The reservation is not in a state that allows it."),
            ...commonErrors,
          },
        },
      },
      "/parking-lots/{parkingLotId}/closures": {
        post: {
          tags: ["commands"],
          summary: "Close the lot over [from, until): cancels the reservations it overlaps (operator)",
          parameters: [pathParameter("parkingLotId", ParkingLotId)],
          requestBody: { required: true, content: json(CloseParkingLotBody) },
          responses: {
            "201": ok("Closed; the canceled reservations are listed.", ClosureAccepted),
            "404": problem("No such lot."),
            ...commonErrors,
          },
        },
      },
      "/parking-lots/{parkingLotId}/capacity": {
        put: {
          tags: ["commands"],
          summary: "Change the lot's capacity (operator)",
          parameters: [pathParameter("parkingLotId", ParkingLotId)],
          requestBody: { required: true, content: json(ChangeCapacityBody) },
          responses: {
            "200": ok("Changed.", CapacityChangedResponse),
            "404": problem("No such lot."),
            "409": problem("A reduction would overbook the instant `at`."),
            ...commonErrors,
          },
        },
      },
      "/reservations": {
        get: {
          tags: ["queries"],
          summary: "List reservations by lot, customer and/or status, newest first",
          parameters: queryParameters(ReservationsQuery),
          responses: { "200": ok("A page of reservations.", Page(ReservationView)), ...commonErrors },
        },
      },
      "/reservations/{reservationId}": {
        get: {
          tags: ["queries"],
          summary: "One reservation with its status and coupon",
          parameters: [pathParameter("reservationId", ReservationId), ...queryParameters(SingleQuery)],
          responses: {
            "200": ok("The reservation.", ReservationView),
            "404": problem("No such reservation."),
            ...commonErrors,
          },
        },
      },
      "/customers/{customerId}/coupons": {
        get: {
          tags: ["queries"],
          summary: "A customer's coupons, newest first",
          parameters: [pathParameter("customerId", CustomerId), ...queryParameters(CouponsQuery)],
          responses: { "200": ok("A page of coupons.", Page(CouponView)), ...commonErrors },
        },
      },
      "/control-center": {
        get: {
          tags: ["queries"],
          summary: "Totals across lots, every lot, and each projection's position and lag",
          description:
            "Content negotiation: a browser (Accept preferring text/html) gets the live control-center web page; API clients get the JSON.",
          responses: {
            "200": {
              description: "The control center: JSON, or the web page for a browser.",
              content: { ...json(ControlCenterView), "text/html": { schema: { type: "string" } } },
            },
          },
        },
      },
      "/control-center/sign-in-config": {
        get: {
          tags: ["queries"],
          summary: "How the control-center page signs an operator in (one-time link, or OIDC with PKCE)",
          responses: { "200": ok("The sign-in configuration.", SignInConfig) },
        },
      },
      "/control-center/events": {
        get: {
          tags: ["queries"],
          summary: "Live control-center updates (Server-Sent Events)",
          description:
            "One `control-center` event (the whole ControlCenterView as JSON, the same shape as GET /control-center) whenever the read models changed, at most one per LIVE_UPDATE_INTERVAL_MS however many events arrive; `: heartbeat` comments while idle. Each event's `id` names the state it carries: reconnecting with `Last-Event-ID` sends nothing until the state differs. Ended by the server on shutdown (clients reconnect).",
          parameters: [
            {
              name: "Last-Event-ID",
              in: "header",
              required: false,
              description: "The id of the last event received; sent by EventSource when it reconnects.",
              schema: { type: "string", maxLength: 64 },
            },
          ],
          responses: {
            "200": {
              description: "An event stream.",
              content: { "text/event-stream": { schema: { type: "string" } } },
            },
            "503": problem("Too many streams open on this instance, or it is shutting down."),
          },
        },
      },
      "/": {
        get: {
          summary: "Landing page (HTML for a browser) or links to the control center, docs and health (JSON)",
          responses: {
            "200": {
              description: "The landing page or its links.",
              content: {
                "text/html": { schema: { type: "string" } },
                "application/json": {
                  schema: {
                    type: "object",
                    properties: { links: { type: "object", additionalProperties: { type: "string" } } },
                  },
                },
              },
            },
          },
        },
      },
      "/healthz": { get: { summary: "Liveness", responses: { "200": { description: "Alive." } } } },
      "/readyz": {
        get: {
          summary: "Readiness",
          responses: {
            "200": { description: "Ready." },
            "503": { description: "Not ready; `checks` says why." },
          },
        },
      },
      "/metrics": {
        get: {
          summary: "Prometheus metrics",
          responses: { "200": { description: "Text exposition format." } },
        },
      },
    },
    components: {
      schemas: {
        Problem: plain(Problem),
        ...Object.fromEntries(
          Object.entries(EventDataSchemas).map(([name, schema]) => [`${name}Event`, plain(schema)]),
        ),
        Empty: plain(Type.Object({})),
      },
    },
  };
}
