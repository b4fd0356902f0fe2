import type { NextFunction, Request, RequestHandler, Response } from "express";
import { match } from "path-to-regexp";
import type { AccessLookup } from "../platform/auth/access.js";
import { principalOf } from "../platform/auth/principal.js";
import { expressPath, type Operation } from "../platform/http/operation.js";
import { lotNotAmongYours } from "../read-api/not-found.js";
import { reachOf } from "../schemas/actor.js";
import { reaches } from "../schemas/lot-reach.js";

/**
 * Staff scoped to lots (schemas/lot-reach.ts) reach only their lots: every operation whose path
 * names a lot (`{parkingLotId}`, derived from the table, so a new one is covered) answers a member
 * of staff whose grant does not cover it 404 (the type of a lot that does not exist; the words say
 * only that it is not among theirs: read-api/not-found.ts), before any route
 * runs and before anything is appended. An operation anyone may call (a lot's public view, its
 * availability) is answered as to the public (read-api/access.ts's lotFor hides the operators'
 * fields from staff of other lots).
 */
export function lotScopeControl(operations: readonly Operation[], access: AccessLookup): RequestHandler {
  const lotRoutes = operations
    .filter((operation) => operation.path.includes("{parkingLotId}"))
    .map((operation) => ({
      method: operation.method.toUpperCase(),
      matches: match<{ parkingLotId: string }>(expressPath(operation.path), { decode: false }),
    }));
  return (req: Request, _res: Response, next: NextFunction) => {
    const principal = principalOf(req);
    const reach = principal ? reachOf(principal) : undefined;
    if (!reach || reach.every) return next();
    const method = req.method === "HEAD" ? "GET" : req.method;
    for (const route of lotRoutes) {
      if (route.method !== method) continue;
      const matched = route.matches(req.path);
      if (!matched) continue;
      const parkingLotId = safeDecode(matched.params.parkingLotId);
      if (reaches(reach, parkingLotId) || access(req.method, req.path, req) === "anonymous") return next();
      return next(lotNotAmongYours(parkingLotId));
    }
    next();
  };
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
