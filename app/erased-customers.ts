import type { RequestHandler } from "express";
import { match } from "path-to-regexp";
import { type Principal, principalOf } from "../platform/auth/principal.js";
import type { DataKeys } from "../platform/data-keys/port.js";
import type { LoggedPath } from "../platform/http/access-log.js";
import { expressPath, type Operation, parameterSchema } from "../platform/http/operation.js";
import { ProblemError } from "../platform/http/problem.js";
import { actorOf } from "../schemas/actor.js";
import { CustomerId } from "../schemas/common.js";

/**
 * Erasure ends the subject (issue 46): once a customer is erased, no token or session of theirs is
 * accepted, on any route, and no log line names them.
 *
 * The check runs once per request, right after authentication and the choice of the one role the
 * request acts with (app/http-app.ts), for a caller who acts as a customer (`actorOf`: on this
 * route, so a member of staff who also parks is refused where they act as the erased customer);
 * acting as staff they are never checked, whatever their `sub`, since their role, not a customer
 * id, decides what they may do. It asks the key store,
 * which keeps every erased customer as a tombstone under their keyed pseudonym: an HMAC and one
 * primary-key read of the store every process of the service opens (3.7 µs on the 2-core CI
 * machine, 2026-11-26), so an erasure made by any process (another replica, the processors
 * thread's retention reactor) refuses the subject's very next request everywhere; nothing is
 * cached that could let a token through after its subject was erased.
 */
export function refuseErasedCustomers(keys: Pick<DataKeys, "isErased" | "confirmed">): RequestHandler {
  const refusal = erasedCustomerRefusal(keys);
  return (req, _res, next) => {
    const principal = principalOf(req);
    if (!principal) return next();
    // A signed-in caller may be served personal values: only with what this process knows of
    // erasures confirmed (on PostgreSQL, within the last second: platform/data-keys/postgres-data-keys.ts).
    const pending = keys.confirmed?.();
    if (pending === undefined) return next(refusal(principal));
    pending.then(
      () => next(refusal(principal)),
      () =>
        next(new ProblemError("store-unavailable", "The key store cannot be reached: try again shortly.")),
    );
  };
}

/**
 * The refusal of a caller who acts as an erased customer (undefined for anyone else): what the
 * middleware answers, and what a sign-in checks before it records a session for them.
 */
export function erasedCustomerRefusal(
  keys: Pick<DataKeys, "isErased">,
): (
  principal: Pick<Principal, "sub" | "roles"> & { readonly via?: Principal["via"] },
) => ProblemError | undefined {
  return (principal) => {
    if (actorOf(principal).role !== "customer" || !keys.isErased(principal.sub)) return undefined;
    return new ProblemError(
      "customer-erased",
      principal.via === "session"
        ? "This session's customer was erased: their sessions and tokens are no longer accepted."
        : "This customer was erased: their tokens and sessions are no longer accepted.",
    );
  };
}

/**
 * How a request's path is written in the log: every customer id a path carries (the segments the
 * operation table declares with the CustomerId schema, and anything under them: a 404 or 405 below
 * `/customers/{id}` too) replaced by `~` and the customer's keyed pseudonym, the one their erasure
 * fact records as `subject` (stream `customer-<pseudonym>`). Derived from the table, so a new
 * route with a customer id in its path is covered the day it is added. (Query strings are never
 * logged: platform/http/access-log.ts.)
 */
export function pseudonymizedPaths(
  operations: readonly Operation[],
  pseudonym: (customerId: string) => string,
): LoggedPath {
  const prefixes = new Set<string>();
  for (const operation of operations) {
    for (const parameter of operation.parameters ?? []) {
      if (parameter.in !== "path" || parameterSchema(parameter) !== CustomerId) continue;
      const end = operation.path.indexOf(`{${String(parameter.name)}}`);
      if (end >= 0) prefixes.add(operation.path.slice(0, end + String(parameter.name).length + 2));
    }
  }
  // The customer id is the last segment of each prefix; Express matches paths case-insensitively.
  const matchers = [...prefixes].map((prefix) => match(expressPath(prefix), { end: false, decode: false }));
  return (path) => {
    for (const matches of matchers) {
      const found = matches(path);
      if (!found) continue;
      const raw = Object.values(found.params).at(-1);
      if (typeof raw !== "string") continue;
      // The last segment of what matched (which may end in a slash).
      const start = found.path.lastIndexOf(raw);
      if (start < 0) continue;
      return `${path.slice(0, start)}~${pseudonym(decoded(raw))}${path.slice(start + raw.length)}`;
    }
    return path;
  };
}

/** A path segment as the route reads it (percent-decoded); a malformed one as it came. */
function decoded(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
