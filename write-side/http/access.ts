import type { Request } from "express";
import type { AccessRule } from "../../platform/auth/access.js";
import { requirePrincipal } from "../../platform/auth/principal.js";
import { ProblemError } from "../../platform/http/problem.js";
import { type Actor, ANY_ROLE, actorOf, OPERATOR } from "../../schemas/actor.js";
import { CustomerId } from "../../schemas/common.js";
import { validate } from "../../schemas/validation.js";

/**
 * Who may send which command. The table is applied before any command route runs; what a
 * customer may do to whose reservation is decided by `customerFor` / `cancelScope` below, the
 * only other place the write side looks at the caller.
 */
export const COMMAND_ACCESS: readonly AccessRule[] = [
  { method: "POST", path: "/parking-lots", allow: OPERATOR },
  { method: "POST", path: "/parking-lots/:parkingLotId/reservations", allow: ANY_ROLE },
  { method: "DELETE", path: "/parking-lots/:parkingLotId/reservations/:reservationId", allow: ANY_ROLE },
  {
    method: "POST",
    path: "/parking-lots/:parkingLotId/reservations/:reservationId/check-in",
    allow: ANY_ROLE,
  },
  {
    method: "POST",
    path: "/parking-lots/:parkingLotId/reservations/:reservationId/check-out",
    allow: ANY_ROLE,
  },
  { method: "POST", path: "/parking-lots/:parkingLotId/closures", allow: OPERATOR },
  { method: "PUT", path: "/parking-lots/:parkingLotId/capacity", allow: OPERATOR },
];

export interface Caller {
  readonly actor: Actor;
}

export const callerOf = (req: Request): Caller => ({ actor: actorOf(requirePrincipal(req)) });

/**
 * The customer a reservation is for: a customer books for themselves (the token's subject; a body
 * customerId naming someone else is 403); an operator books on a customer's behalf and must say
 * whom.
 */
export function customerFor(caller: Caller, bodyCustomerId: string | undefined): string {
  if (caller.actor.role === "operator") {
    if (bodyCustomerId === undefined) {
      throw new ProblemError("validation", "The request body is invalid.", {
        errors: [
          { field: "body.customerId", message: "is required when an operator books on a customer's behalf" },
        ],
      });
    }
    return bodyCustomerId;
  }
  if (bodyCustomerId !== undefined && bodyCustomerId !== caller.actor.sub) {
    throw new ProblemError("forbidden", "A customer may only book for themselves; leave customerId out.");
  }
  try {
    return validate(CustomerId, caller.actor.sub);
  } catch {
    throw new ProblemError("forbidden", "The token's subject is not usable as a customer id.");
  }
}

/**
 * What a cancellation may touch: a customer only their own reservations (someone else's answers
 * 404 like a missing one); an operator any, but must give a reason.
 */
export function cancelScope(
  caller: Caller,
  reason: string | undefined,
): { readonly requestedBy?: string; readonly reason: string } {
  if (caller.actor.role === "operator") {
    if (reason === undefined) {
      throw new ProblemError("validation", "The request body is invalid.", {
        errors: [{ field: "body.reason", message: "is required when an operator cancels a reservation" }],
      });
    }
    return { reason };
  }
  return { requestedBy: caller.actor.sub, reason: reason ?? "canceled by customer" };
}
