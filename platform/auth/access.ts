import type { NextFunction, Request, RequestHandler, Response } from "express";
import { match } from "path-to-regexp";
import type { LoggedPath } from "../http/access-log.js";
import { ProblemError } from "../http/problem.js";
import type { Logger } from "../logger.js";
import { anonymousRefusal, principalOf, setPrincipal } from "./principal.js";

/**
 * Authorization as data: who may call which route. Each side of the service keeps its table beside
 * its routes; the composition root applies them all in one middleware, before any route runs.
 */
export type AccessMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "*";

export interface AccessRule {
  readonly method: AccessMethod;
  /** An Express-style path such as `/parking-lots/:parkingLotId`; `*rest` matches any tail. */
  readonly path: string;
  /** "anonymous": anyone; otherwise any of these roles. */
  readonly allow: "anonymous" | readonly string[];
  /** The rule applies only to requests it holds for (e.g. a browser asking for the HTML page). */
  readonly when?: (req: Request) => boolean;
}

/** Who may call `method path` (for a request, when given: rules with `when` apply only then). */
export type AccessLookup = (method: string, path: string, req?: Request) => "anonymous" | readonly string[];

/** Who may call `method path` under the tables (the first matching rule, else `fallback`). */
export function accessLookup(rules: readonly AccessRule[], fallback: readonly string[]): AccessLookup {
  const compiled = rules.map((rule) => ({ ...rule, matches: match(rule.path, { decode: false }) }));
  return (requestMethod, path, req) => {
    const method = requestMethod.toUpperCase() === "HEAD" ? "GET" : requestMethod.toUpperCase();
    const rule = compiled.find(
      (r) =>
        (r.method === "*" || r.method === method) &&
        r.matches(path) &&
        (r.when === undefined || (req !== undefined && r.when(req))),
    );
    return rule ? rule.allow : fallback;
  };
}

/**
 * A request acts with exactly one role, never the union of its token's: `choose` (the app's
 * precedence) picks it from the token's roles and those the route allows, and from here on the
 * request's principal carries that role alone, so that nothing after this step (the access check,
 * the lot scope, the actor, whose data) can see the others. A token with none of the route's roles
 * is left as it came, for accessControl to refuse with the roles it carries.
 */
export function actWithOneRole(
  allowed: AccessLookup,
  choose: (roles: readonly string[], allow: "anonymous" | readonly string[]) => string | undefined,
): RequestHandler {
  return (req: Request, _res: Response, next: NextFunction) => {
    const principal = principalOf(req);
    if (principal) {
      const role = choose(principal.roles, allowed(req.method, req.path, req));
      if (role !== undefined) setPrincipal(req, { ...principal, roles: [role] });
    }
    next();
  };
}

/**
 * Applies the access tables: the first rule matching method and path decides. A protected route
 * answers 401 (with a Bearer challenge) to an anonymous caller and 403 to a caller without any of
 * the roles. A route in no table needs `fallback` (deny by default: new routes are never public
 * by accident).
 */
export function accessControl(
  rules: readonly AccessRule[],
  fallback: readonly string[],
  logger?: Pick<Logger, "warn">,
  loggedPath: LoggedPath = (path) => path,
): RequestHandler {
  const allowed = accessLookup(rules, fallback);
  let logged = false;
  return (req: Request, _res: Response, next: NextFunction) => {
    const allow = allowed(req.method, req.path, req);
    if (allow === "anonymous") return next();
    const principal = principalOf(req);
    if (!principal) return next(anonymousRefusal(req));
    if (!principal.roles.some((role) => allow.includes(role))) {
      // The first refusal of a token without any role says, once, where the roles were looked for:
      // a claim path that is wrong for this provider shows in the log, not only in a user's 403.
      if (!logged && principal.via === "bearer" && principal.emptyRolesClaims?.length && logger) {
        logged = true;
        logger.warn(
          {
            emptyRolesClaims: principal.emptyRolesClaims,
            roles: principal.roles,
            path: loggedPath(req.path),
          },
          "a token was refused for want of a role; these configured roles claims (AUTH_ROLES_CLAIMS) were absent or empty in it",
        );
      }
      return next(new ProblemError("forbidden", forbiddenDetail(req, allow, principal.roles)));
    }
    next();
  };
}

/** A 403's words: the roles needed, and those the token carried (never the token). */
function forbiddenDetail(req: Request, allow: readonly string[], carried: readonly string[]): string {
  const shown = carried.slice(0, 10).map((role) => JSON.stringify(role.slice(0, 60)));
  const roles =
    carried.length === 0
      ? "no role (see AUTH_ROLES_CLAIMS and AUTH_ROLE_MAP)"
      : `the roles ${shown.join(", ")}${carried.length > shown.length ? ", …" : ""}`;
  return `${req.method} ${req.path} needs the role ${allow.join(" or ")}; the token carries ${roles}.`;
}
