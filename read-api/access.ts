import type { Request } from "express";
import type { AccessRule } from "../platform/auth/access.js";
import { principalOf, requirePrincipal } from "../platform/auth/principal.js";
import { ProblemError } from "../platform/http/problem.js";
import { type Actor, ANY_ROLE, actorOf, OPERATOR } from "../schemas/actor.js";
import { type Viewer, wantsHtml } from "./page-routes.js";
import { asksAsOf } from "./time-travel/as-of.js";

/**
 * Who may ask which query. The table is applied before any query route runs; what a customer may
 * see of whose data is decided by the functions below, the only other place the read side looks
 * at the caller.
 */
export const QUERY_ACCESS: readonly AccessRule[] = [
  // The control-center page: its HTML shell and assets hold no data (the page signs in itself).
  { method: "GET", path: "/", allow: "anonymous" },
  { method: "GET", path: "/assets/*rest", allow: "anonymous" },
  { method: "GET", path: "/favicon.ico", allow: "anonymous" },
  { method: "GET", path: "/control-center", allow: "anonymous", when: wantsHtml },
  { method: "GET", path: "/control-center/sign-in-config", allow: "anonymous" },
  { method: "GET", path: "/control-center/events", allow: OPERATOR },
  { method: "GET", path: "/parking-lots", allow: "anonymous" },
  // A lot as it was at a moment of the past (issue 22): for signed-in callers (it costs a fold of
  // the log; it holds nothing personal, so a customer may check what they were told); as it is
  // now, for anyone.
  { method: "GET", path: "/parking-lots/:parkingLotId", allow: ANY_ROLE, when: asksAsOf },
  { method: "GET", path: "/parking-lots/:parkingLotId", allow: "anonymous" },
  { method: "GET", path: "/parking-lots/:parkingLotId/availability", allow: "anonymous" },
  { method: "GET", path: "/parking-lots/:parkingLotId/history", allow: OPERATOR },
  // Held spots per quarter hour: what availability answers window by window, for the lot's page.
  { method: "GET", path: "/parking-lots/:parkingLotId/timeline", allow: "anonymous" },
  { method: "GET", path: "/reservations", allow: ANY_ROLE },
  { method: "GET", path: "/reservations/:reservationId", allow: ANY_ROLE },
  { method: "GET", path: "/reservations/:reservationId/history", allow: ANY_ROLE },
  { method: "GET", path: "/customers/:customerId/coupons", allow: ANY_ROLE },
  { method: "GET", path: "/control-center", allow: OPERATOR },
];

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
