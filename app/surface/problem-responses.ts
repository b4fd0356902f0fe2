import type { AccessLookup } from "../../platform/auth/access.js";
import { CORRELATION, header, type Json, type Operation, ref } from "../../platform/http/operation.js";
import { type ProblemName, problemType } from "../../platform/http/problem.js";
import { isRateLimited } from "../../platform/http/rate-limits.js";
import { PROBLEM_TYPES } from "../problem-types.js";

/**
 * The problems each operation can answer and their responses in the OpenAPI document: its own
 * (the table's `problems`) and those of the middleware every request passes through.
 */

const problemInfo = (name: ProblemName) => PROBLEM_TYPES[name];

/** Who may call an operation, from the access tables: anyone, or a bearer token with one of these roles. */
export type Allowed = ReturnType<AccessLookup>;

/** The access tables' answer for an operation (its path template with a sample value per parameter). */
export const allowedFor = (operation: Operation, access: AccessLookup): Allowed =>
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
 *   session cookie from another origin is `forbidden`; a token or session of a customer who was
 *   erased is `customer-erased` (app/erased-customers.ts);
 * - a method the path does not have: `method-not-allowed`;
 * - an ill-formed X-Correlation-Id, on every operation: `validation`;
 * - the access tables: `unauthorized` without a token and `forbidden` for another role, unless
 *   anyone may call it (whatever the request: an `allowWhen` that asks for roles counts);
 * - the body parser, before the command and query routes, for every method that may carry a body
 *   (GET bodies are not read): `malformed-json`, `payload-too-large`, `unsupported-media-type`;
 * - input validation (a path parameter that does not decode is refused by the router too):
 *   `validation`;
 * - read-your-writes (`minPosition`): `position-not-reached` after the wait, `overloaded` with
 *   too many waiting, `validation` for a position beyond the log;
 * - every command: `overloaded` (commands in flight), `concurrency-conflict`, `store-unavailable`,
 *   `storage-unavailable` (the disk under the embedded stores is full or read-only);
 * - an expensive read (`expensive`): `overloaded` past its endpoint's work gate;
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
  // A condition of the request that asks for roles (`asOf`: a signed-in person) refuses the others
  // (a `gate` credential) too.
  if (operation.allowWhen?.some((w) => w.allow !== "anonymous")) add("unauthorized", "forbidden");
  // An erased customer's token or session, on every route (checked right after authentication).
  add("customer-erased");
  const routed = operation.side !== "app";
  if (operation.body || (routed && operation.method !== "get")) add(...BODY_PROBLEMS);
  if ((routed && operation.query) || (operation.parameters ?? []).some((p) => p.in === "path"))
    add("validation");
  if (operation.query && "minPosition" in ((operation.query as Json).properties as Json))
    add("position-not-reached", "overloaded", "validation");
  if (operation.side === "commands")
    add("overloaded", "concurrency-conflict", "store-unavailable", "storage-unavailable");
  // An expensive read past its endpoint's work gate (HEAVY_READ_*).
  if (operation.expensive) add("overloaded");
  add("internal");
  return [...names];
}

const HEADERS_BY_STATUS: Record<number, Json> = {
  401: { "WWW-Authenticate": header("WWW-Authenticate"), "Set-Cookie": header("Session-Ended") },
  405: { Allow: header("Allow") },
  429: { "Retry-After": header("Retry-After") },
  503: { "Retry-After": header("Retry-After") },
};

export const rolesText = (roles: readonly string[]) => roles.map((role) => `\`${role}\``).join(" or ");

export function problemResponses(operation: Operation, allowed: Allowed): Record<string, Json> {
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
