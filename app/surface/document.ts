import type { TSchema } from "@sinclair/typebox";
import type { AccessLookup } from "../../platform/auth/access.js";
import { header, type Json, type Operation, plain } from "../../platform/http/operation.js";
import { isRateLimited } from "../../platform/http/rate-limits.js";
import { PROBLEM_TYPES } from "../problem-types.js";
import { COMPONENTS } from "./components.js";
import { OPERATIONS } from "./operations.js";
import { type Allowed, allowedFor, problemResponses, rolesText } from "./problem-responses.js";
import {
  EDGE_LIMITS,
  edgeLimitsText,
  requestBody,
  rulesOf,
  rulesText,
  TRANSPORT_RESPONSES,
} from "./requests.js";
import { WEBHOOKS } from "./webhooks.js";

/**
 * The OpenAPI 3.1 document, assembled from the table of operations (app/surface/operations.ts),
 * whose schemas are the very ones that validate requests (OpenAPI 3.1 uses JSON Schema as is), so
 * the docs cannot drift from what the service accepts.
 *
 * Who may call each operation is read from the access lookup the table generates (app/access.ts),
 * passed to openApiDocument(), so the document's `security`, its `x-roles` and its 401/403
 * answers cannot drift from what the service does. Every response the e2e suites receive is
 * validated against the served document (test-support/contract.ts).
 */

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
    webhooks: WEBHOOKS,
    components: COMPONENTS,
  };
}
