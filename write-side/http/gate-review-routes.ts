import { randomUUID } from "node:crypto";
import { correlationId } from "../../platform/http/middleware.js";
import { bodyOf, type HandlerOf, pathParam } from "../../platform/http/operation-routes.js";
import { ProblemError } from "../../platform/http/problem.js";
import { traceparentOf } from "../../platform/http/tracing.js";
import { ResolveGateReviewBody } from "../../schemas/gates.js";
import type { GateEvents } from "../gate-events.js";
import { callerOf } from "./access.js";
import type { COMMAND_OPERATIONS } from "./operations.js";
import { rejectionProblem, requestOffset } from "./rejection-problems.js";

/**
 * Issue 49: an attendant settles a gate read sent to review (write-side/gate-events.ts resolves
 * it): the lot's refusal of the check-in or check-out is its problem, a review settled before 409.
 */
export const resolveGateReview =
  (
    now: () => string,
    gates: GateEvents | undefined,
  ): HandlerOf<typeof COMMAND_OPERATIONS, "resolveGateReview"> =>
  async (req, res) => {
    const parkingLotId = pathParam(req, "parkingLotId");
    const eventId = pathParam(req, "eventId");
    const body = bodyOf(req, ResolveGateReviewBody);
    if (body.action === "open" && body.reservationId === undefined)
      throw new ProblemError("validation", "reservationId is required to open: the booking the car is.", {
        errors: [{ field: "body.reservationId", message: "is required with action open" }],
      });
    if (!gates) throw new ProblemError("store-unavailable", "This process cannot resolve gate reviews.");
    const traceparent = traceparentOf(req);
    const outcome = await gates.resolve(parkingLotId, eventId, body, {
      correlationId: correlationId(req),
      commandId: randomUUID(),
      actor: callerOf(req).actor,
      ...(traceparent ? { traceparent } : {}),
      now: now(),
    });
    if ("unknown" in outcome)
      throw new ProblemError("gate-review-not-found", `Lot ${parkingLotId} has no gate review ${eventId}.`, {
        parkingLotId,
        eventId,
      });
    if ("alreadyResolved" in outcome)
      throw new ProblemError("gate-review-resolved", `Gate review ${eventId} is already resolved.`, {
        parkingLotId,
        eventId,
      });
    if ("rejection" in outcome) throw rejectionProblem(outcome.rejection, requestOffset(req.body));
    res.status(200).json(outcome.resolved);
  };
