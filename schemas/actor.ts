import { type Static, Type } from "@sinclair/typebox";
import { EVERY_LOT, type LotReach, reachOfGrants } from "./lot-reach.js";

/**
 * Who acted: recorded in every event's metadata (never the token itself). A customer's `sub` is
 * their customer id; operators act on anyone's behalf; `system` is a reactor such as the coupon
 * policy.
 */
export const ACCESS_ROLES = ["customer", "operator", "attendant", "admin", "gate"] as const;
export type AccessRole = (typeof ACCESS_ROLES)[number];

/**
 * Staff: `admin` on every lot; `operator` runs the lots of their grant (schemas/lot-reach.ts);
 * `attendant` checks cars in and out at the lots of theirs, and reads their reservations; `gate`
 * is a gate integration's credential (issue 49): granted lots like an attendant, it acts as staff
 * of them but is allowed only the operations that name it (the gate reads), nothing of ANY_ROLE.
 */
export const STAFF_ROLES: readonly AccessRole[] = ["operator", "attendant", "admin", "gate"];
/** The people of a lot's staff (a gate credential is none): who matches a gate read by hand. */
export const LOT_STAFF: readonly AccessRole[] = ["operator", "attendant", "admin"];
/** Running lots: an operator on their lots, an admin on any. */
export const OPERATOR: readonly AccessRole[] = ["operator", "admin"];
/** Booking and canceling: customers for themselves, operators and admins on a customer's behalf. */
export const BOOKING_ROLES: readonly AccessRole[] = ["customer", "operator", "admin"];
/** Every signed-in person (a `gate` credential is no person: it calls only the gate operation). */
export const ANY_ROLE: readonly AccessRole[] = ["customer", "operator", "attendant", "admin"];

export const Actor = Type.Object(
  {
    sub: Type.String({ minLength: 1, maxLength: 255 }),
    role: Type.Union([Type.Literal("customer"), Type.Literal("operator"), Type.Literal("system")]),
  },
  { additionalProperties: false, $id: "Actor" },
);
export type Actor = Static<typeof Actor>;

/**
 * The one role a request acts with (issue 66). A token may carry several roles (an attendant who
 * also parks, a service account with a realm-default `customer`); a route never acts with their
 * union: it acts with the first of ROLE_PRECEDENCE the token carries among the roles the route
 * allows (any of them on a public route). Staff come before `customer`, so on a route both may call
 * (checking in, the reservations reads) an attendant who also parks acts as the attendant, and on
 * a customer-only route of theirs (booking for oneself) as the customer. The request's principal
 * then carries that role alone (app/acting-role.ts): the actor, the lots reached and whose data
 * are all decided by it.
 */
export const ROLE_PRECEDENCE: readonly AccessRole[] = ["admin", "operator", "attendant", "gate", "customer"];

export function actingRole(
  roles: readonly string[],
  allow: "anonymous" | readonly string[],
): AccessRole | undefined {
  return ROLE_PRECEDENCE.find(
    (role) => roles.includes(role) && (allow === "anonymous" || allow.includes(role)),
  );
}

/** The role a principal acts with: its one role once the route chose it (or the first by precedence). */
const roleOf = (principal: { readonly roles: readonly string[] }): AccessRole | undefined =>
  actingRole(principal.roles, "anonymous");

/**
 * The actor of an authenticated caller: acting as staff (operator, attendant, admin, gate) they act
 * as `operator` (their lots are checked before any route runs: app/lot-scope.ts), anyone else as a
 * customer.
 */
export function actorOf(principal: { readonly sub: string; readonly roles: readonly string[] }): Actor {
  const role = roleOf(principal);
  return { sub: principal.sub, role: role && STAFF_ROLES.includes(role) ? "operator" : "customer" };
}

/** The lots a caller reaches: every lot for an admin, their grant for other staff, none for a customer. */
export function reachOf(principal: {
  readonly roles: readonly string[];
  readonly grants?: readonly string[];
}): LotReach | undefined {
  const role = roleOf(principal);
  if (role === "admin") return EVERY_LOT;
  if (role === undefined || !STAFF_ROLES.includes(role)) return undefined;
  return reachOfGrants(principal.grants ?? []);
}

/** Whether the caller acts as one of a lot's people (not a gate credential, not a customer). */
export const actsAsLotStaff = (principal: { readonly roles: readonly string[] }): boolean => {
  const role = roleOf(principal);
  return role !== undefined && LOT_STAFF.includes(role);
};

export const systemActor = (name: string): Actor => ({ sub: name, role: "system" });
