import type { Request } from "express";
import { principalOf, requirePrincipal } from "../platform/auth/principal.js";
import { ProblemError } from "../platform/http/problem.js";
import { type Actor, actorOf } from "../schemas/actor.js";
import type { Viewer } from "./page-routes.js";

/**
 * What a customer may see of whose data: the only place the read side looks at the caller beyond
 * the roles each operation allows (operations.ts), which are checked before any route runs.
 */
export const readerOf = (req: Request): Actor => actorOf(requirePrincipal(req));

/** Who is looking at the control-center page: an operator sees it; anyone else the sign-in screen. */
export function viewerOf(req: Request): Viewer {
  const principal = principalOf(req);
  if (!principal) return "anonymous";
  return actorOf(principal).role === "operator" ? "operator" : "signed-in";
}

/**
 * The customer filter of a reservations listing: an operator's as asked (or none); a customer's is
 * always themselves (asking for another customer is 403).
 */
export function reservationsFilter(reader: Actor, customerId: string | undefined): string | undefined {
  if (reader.role === "operator") return customerId;
  if (customerId !== undefined && customerId !== reader.sub) {
    throw new ProblemError("forbidden", "A customer may only list their own reservations.");
  }
  return reader.sub;
}

/** Whether the reader may see a reservation; someone else's is answered as not found. */
export const maySee = (reader: Actor, owner: { readonly customerId: string }): boolean =>
  reader.role === "operator" || owner.customerId === reader.sub;

/** Coupons of a customer: operators any customer's, a customer only their own. */
export function assertMayReadCustomer(reader: Actor, customerId: string): void {
  if (reader.role !== "operator" && customerId !== reader.sub) {
    throw new ProblemError("forbidden", "A customer may only read their own coupons.");
  }
}

/**
 * A lot as this caller may see it: an operator sees the closures' reasons and the cars in the lot
 * when each began; anyone else sees when the lot is closed, not the operators' words.
 */
export function lotFor<T extends { closures?: readonly Record<string, unknown>[] }>(req: Request, lot: T): T {
  if (!lot.closures || viewerOf(req) === "operator") return lot;
  return {
    ...lot,
    closures: lot.closures.map(({ reason: _r, carsInLot: _c, ...closure }) => closure),
  };
}
