import type { TSchema } from "@sinclair/typebox";
import { Type } from "@sinclair/typebox";
import type { AccessLookup } from "../platform/auth/access.js";
import {
  CancelReservationBody,
  IdempotencyKey,
  RegisterParkingLotBody,
  ReserveParkingBody,
} from "../schemas/commands.js";
import { CustomerId, ParkingLotId, ReservationId } from "../schemas/common.js";
import { EventDataSchemas } from "../schemas/events.js";
import { CouponsQuery, ParkingLotsQuery, ReservationsQuery, SingleQuery } from "../schemas/queries.js";
import {
  ControlCenterView,
  CouponView,
  Page,
  ParkingLotRegisteredResponse,
  ParkingLotView,
  Problem,
  ReservationAccepted,
  ReservationCanceledResponse,
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

type Operation = Record<string, unknown> & { responses: Record<string, unknown>; description?: string };

/**
 * Declares on each operation who may call it, from the same access tables that enforce it:
 * anonymous operations get `security: []`, the others the bearer scheme, their roles and 401/403.
 */
function withSecurity(
  paths: Record<string, Record<string, Operation>>,
  access: AccessLookup,
): Record<string, Record<string, Operation>> {
  return Object.fromEntries(
    Object.entries(paths).map(([path, operations]) => [
      path,
      Object.fromEntries(
        Object.entries(operations).map(([method, operation]) => {
          const allow = access(method, path.replace(/\{\w+\}/g, "x"));
          if (allow === "anonymous") return [method, { ...operation, security: [] }];
          const roles = `Requires a bearer token with the role ${allow.join(" or ")}.`;
          return [
            method,
            {
              ...operation,
              description: operation.description ? `${operation.description}\n\n${roles}` : roles,
              security: [{ bearerAuth: [] }],
              "x-roles": [...allow],
              responses: {
                ...operation.responses,
                "401": problem("No token, or a bad one: `WWW-Authenticate` says what is wrong."),
                "403": problem("The token's role (or subject) may not do this."),
              },
            },
          ];
        }),
      ),
    ]),
  );
}

export function openApiDocument(access: AccessLookup): Record<string, unknown> {
  const commonErrors = {
    "400": problem("Invalid input: `errors` lists each wrong field."),
    "503": problem("Overloaded or a store is unavailable: retry after Retry-After."),
  };
  const document = {
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
      {
        name: "identity",
        description:
          "The embedded development issuer (only when AUTH_ISSUER is unset): its keys, its discovery document, and browser sign-in with a link from `npm run token -- --sign-in-url`.",
      },
    ],
    security: [{ bearerAuth: [] }],
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
          description:
            "A customer books for themselves (customerId is the token's subject; leave it out). An operator books on a customer's behalf and must send customerId.",
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
            "409": problem("The lot is full."),
            "422": problem("The Idempotency-Key was used for a different reservation."),
            "403": problem("A customer named another customer in customerId."),
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
          description:
            "A customer cancels only their own reservations (someone else's answers 404); an operator cancels any and must give a `reason`.",
          responses: {
            "200": ok("Canceled.", ReservationCanceledResponse),
            "404": problem("No such lot or reservation (or it is another customer's)."),
            ...commonErrors,
          },
        },
      },
      "/reservations": {
        get: {
          tags: ["queries"],
          summary: "List reservations by lot, customer and/or status, newest first",
          description: "A customer sees only their own reservations (another customerId filter is 403).",
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
            "404": problem("No such reservation (or it is another customer's)."),
            ...commonErrors,
          },
        },
      },
      "/customers/{customerId}/coupons": {
        get: {
          tags: ["queries"],
          summary: "A customer's coupons, newest first",
          description: "A customer reads only their own coupons (another customer's is 403).",
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
      "/.well-known/jwks.json": {
        get: {
          tags: ["identity"],
          summary: "The development issuer's public signing keys (JWKS)",
          responses: { "200": { description: "A JSON Web Key Set." } },
        },
      },
      "/.well-known/openid-configuration": {
        get: {
          tags: ["identity"],
          summary: "The development issuer's OpenID Connect discovery document",
          responses: { "200": { description: "Issuer and jwks_uri." } },
        },
      },
      "/sign-in": {
        get: {
          tags: ["identity"],
          summary: "Browser sign-in with a one-time link (sets the session cookie)",
          parameters: [
            {
              name: "token",
              in: "query",
              required: true,
              description: "The sign-in token printed by `npm run token -- --sign-in-url` (5 minutes, once).",
              schema: { type: "string", maxLength: 8192 },
            },
          ],
          responses: {
            "303": { description: "Signed in: an HttpOnly session cookie is set; on to /control-center." },
            "401": problem("The link is expired, already used or not valid."),
          },
        },
      },
      "/sign-out": {
        post: {
          tags: ["identity"],
          summary: "Sign out of the browser session (clears the cookie)",
          responses: { "303": { description: "Signed out; on to /control-center." } },
        },
      },
    },
    components: {
      securitySchemes: {
        bearerAuth: {
          type: "http",
          scheme: "bearer",
          bearerFormat: "JWT",
          description:
            "An access token of the configured OpenID Connect issuer. With the embedded development issuer: `npm run token -- --role operator --sub ops-1` (or `--role customer --sub CUST1`).",
        },
      },
      schemas: {
        Problem: plain(Problem),
        ...Object.fromEntries(
          Object.entries(EventDataSchemas).map(([name, schema]) => [`${name}Event`, plain(schema)]),
        ),
        Empty: plain(Type.Object({})),
      },
    },
  };
  return { ...document, paths: withSecurity(document.paths, access) };
}
