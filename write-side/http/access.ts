import { randomUUID } from "node:crypto";
import type { Request } from "express";
import { requirePrincipal } from "../../platform/auth/principal.js";
import { correlationId } from "../../platform/http/middleware.js";
import { ProblemError } from "../../platform/http/problem.js";
import { traceparentOf } from "../../platform/http/tracing.js";
import { type Actor, actorOf, reachOf } from "../../schemas/actor.js";
import { CustomerId } from "../../schemas/common.js";
import { type LotReach, reaches } from "../../schemas/lot-reach.js";
import { validate } from "../../schemas/validation.js";
import type { CommandContext } from "../decider-runner.js";

/**
 * Who calls, for what a customer may do to or see of whose data (here, and read-api/access.ts for
 * the read side) beyond the roles each operation allows, which are checked before any route runs.
 */
export interface Caller {
  readonly actor: Actor;
  /** The lots a member of staff reaches (undefined: a customer). */
  readonly reach?: LotReach;
}

export const callerOf = (req: Request): Caller => {
  const principal = requirePrincipal(req);
  const reach = reachOf(principal);
  return { actor: actorOf(principal), ...(reach ? { reach } : {}) };
};

/**
 * A request's command context: its correlation, a fresh command id, who sends it (the caller, or a
 * system actor) and its trace context, carried into the events it causes.
 */
export const commandContext = (req: Request, actor: Actor = callerOf(req).actor): CommandContext => {
  const traceparent = traceparentOf(req);
  return {
    correlationId: correlationId(req),
    commandId: randomUUID(),
    actor,
    ...(traceparent ? { traceparent } : {}),
  };
};

/**
 * Who may register which lot: an admin any; an operator a lot their grant covers (an id, or under
 * one of their prefixes), so they must name it. Every other lot route is checked against the
 * caller's lots before it runs (app/lot-scope.ts); this one's lot is in the body.
 */
export function assertMayRegister(caller: Caller, parkingLotId: string | undefined): void {
  if (!caller.reach || caller.reach.every) return;
  if (parkingLotId === undefined) {
    throw new ProblemError(
      "forbidden",
      "An operator scoped to lots must name the new lot's parkingLotId, one their grant covers.",
    );
  }
  if (!reaches(caller.reach, parkingLotId)) {
    throw new ProblemError(
      "forbidden",
      `Lot ${parkingLotId} is outside the lots this operator's grant covers; an admin, or an operator whose grant covers it, may register it.`,
    );
  }
}

/**
 * The customer a reservation is for: a customer books for themselves (the token's subject; a body
 * customerId naming someone else is 403); an operator books on a customer's behalf, whom their
 * body's schema requires them to name (the row's byRole).
 */
export function customerFor(caller: Caller, bodyCustomerId: string | undefined): string {
  if (caller.actor.role === "operator" && bodyCustomerId !== undefined) return bodyCustomerId;
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
 * 404 like a missing one); an operator any, with the reason their body's schema requires.
 */
export function cancelScope(
  caller: Caller,
  reason: string | undefined,
): { readonly requestedBy?: string; readonly reason: string } {
  if (caller.actor.role === "operator" && reason !== undefined) return { reason };
  return { requestedBy: caller.actor.sub, reason: reason ?? "canceled by customer" };
}

/**
 * Who may erase whose personal data: a customer only themself; staff (the row allows operators
 * and admins) only when they reach every lot, since an erasure reaches every lot the customer used.
 */
export function assertMayErase(caller: Caller, customerId: string): void {
  if (caller.actor.role === "customer" && customerId !== caller.actor.sub)
    throw new ProblemError(
      "forbidden",
      "A customer may only erase their own data: name yourself in the path.",
    );
  if (caller.actor.role !== "customer" && !caller.reach?.every)
    throw new ProblemError(
      "forbidden",
      "Erasing a customer reaches every lot: an admin, or an operator whose grant covers every lot (`*`), may do it.",
    );
}
