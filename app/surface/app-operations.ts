import { JWKS_PATH } from "../../platform/auth/dev-issuer.js";
import { SIGN_IN_PATH, sessionStartedHere } from "../../platform/auth/session.js";
import {
  RevokeSessionsBody,
  SessionsRevoked,
  SignInQuery,
  StartSessionBody,
} from "../../platform/auth/sign-in-schemas.js";
import {
  CORRELATION,
  header,
  jsonResponse,
  type Operation,
  textResponse,
} from "../../platform/http/operation.js";
import { ANY_ROLE, OPERATOR } from "../../schemas/actor.js";
import { PROBLEM_TYPES } from "../problem-types.js";

/**
 * The routes of the process itself, one row per operation: health, metrics, the development
 * issuer, the browser's sign-in and this documentation, each served by one named handler
 * (app-routes.ts): the process's own, and the authentication's (app/auth.ts, platform/auth/).
 */
/** The operations whose handlers the authentication supplies (app/auth.ts, platform/auth/). */
export type AuthenticationOperationId =
  | "getDevIssuerKeys"
  | "getDevIssuerDiscovery"
  | "signIn"
  | "startSession"
  | "revokeSessions"
  | "signOut";

export const APP_OPERATIONS = [
  {
    method: "get",
    path: "/healthz",
    operationId: "getLiveness",
    side: "app",
    allow: "anonymous",
    tag: "operations",
    summary: "Liveness: the process answers and its event loop has not stalled",
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
      "503": {
        description:
          "Not alive: the event loop was blocked past EVENT_LOOP_STALL_MS and came back; it stays so until the process is restarted.",
        headers: CORRELATION,
        content: {
          "application/json": {
            schema: {
              type: "object",
              required: ["status", "detail"],
              properties: { status: { const: "stalled" }, detail: { type: "string" } },
            },
            example: {
              status: "stalled",
              detail:
                "the event loop was blocked for 12034 ms at 2026-01-01T09:00:00.000Z, past EVENT_LOOP_STALL_MS (10000)",
            },
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
    allow: "anonymous",
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
    allow: OPERATOR,
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
    path: JWKS_PATH,
    operationId: "getDevIssuerKeys",
    side: "app",
    allow: "anonymous",
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
    allow: "anonymous",
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
    path: SIGN_IN_PATH,
    operationId: "signIn",
    side: "app",
    allow: "anonymous",
    tag: "operations",
    summary:
      "Browser sign-in with a one-time link from `npm run -s token -- --sign-in-url` (sets the session cookie)",
    query: SignInQuery,
    problems: ["sign-in-failed", "not-found"],
    // A browser whose link is used or expired gets a page saying so, and the command for a new one.
    htmlStatuses: [401],
    responses: {
      "200": cookiePage(
        "Signed in: HttpOnly session cookie set; the page moves on to /control-center at once.",
      ),
    },
  },
  {
    method: "post",
    path: "/sign-in/session",
    operationId: "startSession",
    side: "app",
    allow: ANY_ROLE,
    // This site's page only, with the access token as its bearer token (403 before the body).
    authorize: sessionStartedHere,
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
    allow: OPERATOR,
    tag: "operations",
    summary: "End every browser session of a subject at once (operator)",
    description:
      "Deletes the session records of that `sub` on every replica (they share the document store): the next request of each of its browsers gets 401 and signs in again. Bearer tokens are not sessions and are not touched: they expire (AUTH_MAX_TOKEN_LIFETIME_SECONDS) or are revoked at the provider.",
    body: { schema: RevokeSessionsBody, required: true, example: { sub: "ops-1" } },
    responses: { "200": jsonResponse("The sessions ended.", SessionsRevoked) },
  },
  {
    method: "post",
    path: "/sign-out",
    operationId: "signOut",
    side: "app",
    allow: "anonymous",
    tag: "operations",
    summary: "Sign out of the browser session (clears the cookie)",
    problems: ["not-found"],
    responses: {
      "200": cookiePage("Signed out (cookie cleared); the page moves on to /control-center."),
    },
  },
  {
    method: "get",
    path: "/openapi.json",
    operationId: "getOpenApiDocument",
    side: "app",
    allow: "anonymous",
    tag: "documentation",
    summary: "This OpenAPI document",
    responses: {
      "200": {
        description:
          "The OpenAPI 3.1 document, compressed as the caller accepts (br, gzip), with an ETag of its bytes.",
        headers: CORRELATION,
        content: { "application/json": { schema: { type: "object" } } },
      },
      "304": {
        description: "Not modified: the copy the caller names (If-None-Match) is this one.",
        headers: CORRELATION,
      },
    },
  },
  {
    method: "get",
    path: "/problems/{name}",
    operationId: "getProblemType",
    side: "app",
    allow: "anonymous",
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
] as const satisfies readonly Operation[];
/** The sign-in and sign-out pages: they set (or clear) the session cookie and move on at once. */
function cookiePage(description: string) {
  return textResponse(description, "text/html", { "Set-Cookie": header("Set-Cookie") });
}

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
