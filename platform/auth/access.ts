import type { NextFunction, Request, RequestHandler, Response } from "express";
import { match } from "path-to-regexp";
import { ProblemError } from "../http/problem.js";
import { anonymousRefusal, principalOf } from "./principal.js";

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
 * Applies the access tables: the first rule matching method and path decides. A protected route
 * answers 401 (with a Bearer challenge) to an anonymous caller and 403 to a caller without any of
 * the roles. A route in no table needs `fallback` (deny by default: new routes are never public
 * by accident).
 */
export function accessControl(rules: readonly AccessRule[], fallback: readonly string[]): RequestHandler {
  const allowed = accessLookup(rules, fallback);
  return (req: Request, _res: Response, next: NextFunction) => {
    const allow = allowed(req.method, req.path, req);
    if (allow === "anonymous") return next();
    const principal = principalOf(req);
    if (!principal) return next(anonymousRefusal(req));
    if (!principal.roles.some((role) => allow.includes(role))) {
      return next(
        new ProblemError("forbidden", `${req.method} ${req.path} needs the role ${allow.join(" or ")}.`),
      );
    }
    next();
  };
}
