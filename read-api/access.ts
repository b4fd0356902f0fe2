import type { Request } from "express";
import { principalOf } from "../platform/auth/principal.js";
import type { OperationHandler } from "../platform/http/operation-routes.js";
import { invalidField, ProblemError } from "../platform/http/problem.js";
import { type Actor, actsAsLotStaff, OPERATOR, reachOf } from "../schemas/actor.js";
import { type LotReach, lotConditions, reaches } from "../schemas/lot-reach.js";
import { type Caller, callerOf } from "../write-side/http/access.js";
import { lotNotAmongYours } from "./not-found.js";
import type { Viewer } from "./page-routes.js";

/**
 * `handler` only for staff who reach every lot (an admin, an operator granted `*`): what it does
 * reaches past any one lot's grant (`what` says what, in the 403 the others get).
 */
export const everyLotOnly =
  <Answer>(handler: OperationHandler<Answer>, what: string): OperationHandler<Answer> =>
  (req, res, next) => {
    if (!callerOf(req).reach?.every)
      throw new ProblemError("forbidden", `${what}: only an admin (or an operator granted every lot) may.`);
    return handler(req, res, next);
  };

/**
 * Who is looking at the control-center page: an operator or admin sees it; anyone else (an
 * attendant too: the control center is not theirs) the sign-in screen.
 */
export function viewerOf(req: Request): Viewer {
  const principal = principalOf(req);
  if (!principal) return "anonymous";
  return OPERATOR.some((role) => principal.roles.includes(role)) ? "operator" : "signed-in";
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

/**
 * Whether the reader may see a reservation: a customer their own, staff those of their lots;
 * another's is answered as not found.
 */
export const maySee = (
  reader: Caller,
  owner: { readonly customerId: string; readonly parkingLotId?: string },
): boolean =>
  reader.reach !== undefined
    ? reader.reach.every || (owner.parkingLotId !== undefined && reaches(reader.reach, owner.parkingLotId))
    : owner.customerId === reader.actor.sub;

/**
 * The lots a listing is confined to, resolved once per request: not confined, these lots (at least
 * one), or `none` (a grant covering no lot that exists), answered an empty page before any query,
 * so no view ever meets an empty list of lots.
 */
export type LotScope =
  | { readonly kind: "unconfined" }
  | { readonly kind: "lots"; readonly lotIds: readonly [string, ...string[]] }
  | { readonly kind: "none" };

/**
 * The most lots a scoped listing reads (one bounded read each). A grant covering more is asked to
 * name one lot (`parkingLotId`): a listing over its first 200 only would answer an incomplete page
 * with no sign of it.
 */
export const MAX_SCOPED_LOTS = 200;

/** The listing scope of `reach`. Asking for a lot outside the reach is 404 (lotNotAmongYours). */
export async function lotScopeOf(
  lots: { lotIdsWithin(within: LotReach, limit: number): Promise<string[]> },
  reach: LotReach | undefined,
  parkingLotId?: string,
): Promise<LotScope> {
  if (reach === undefined || reach.every) return { kind: "unconfined" };
  if (parkingLotId !== undefined) {
    if (!reaches(reach, parkingLotId)) throw lotNotAmongYours(parkingLotId);
    return { kind: "unconfined" };
  }
  // A grant of no id and no prefix covers nothing, whatever the lots: no read to ask.
  if (lotConditions(reach).length === 0) return { kind: "none" };
  const [first, ...rest] = await lots.lotIdsWithin(reach, MAX_SCOPED_LOTS + 1);
  if (rest.length >= MAX_SCOPED_LOTS)
    throw invalidField(
      "query.parkingLotId",
      `is required: your grant covers more than ${MAX_SCOPED_LOTS} lots, too many to list together; ask for one of them at a time`,
      "The request query is invalid.",
    );
  return first === undefined ? { kind: "none" } : { kind: "lots", lotIds: [first, ...rest] };
}

/** A listing's answer to a caller whose reach covers no lot (LotScope `none`). */
export const noItems = <T>(): { items: T[]; nextCursor: null } => ({ items: [], nextCursor: null });

/** Coupons of a customer: staff any customer's (confined to their lots by lotScopeOf), a customer their own. */
export function assertMayReadCustomer(reader: Actor, customerId: string): void {
  if (reader.role !== "operator" && customerId !== reader.sub) {
    throw new ProblemError("forbidden", "A customer may only read their own coupons.");
  }
}

/**
 * A lot as this caller may see it: its people (acting as its attendant, operator or admin) see the
 * closures' reasons and the cars in the lot when each began; anyone else, a gate credential of the
 * lot too, sees when the lot is closed, not the operators' words.
 */
export function lotFor<T extends { parkingLotId: string; closures?: readonly Record<string, unknown>[] }>(
  req: Request,
  lot: T,
): T {
  const principal = principalOf(req);
  const reach = principal && actsAsLotStaff(principal) ? reachOf(principal) : undefined;
  if (!lot.closures || (reach && reaches(reach, lot.parkingLotId))) return lot;
  return {
    ...lot,
    closures: lot.closures.map(({ reason: _r, carsInLot: _c, ...closure }) => closure),
  };
}
