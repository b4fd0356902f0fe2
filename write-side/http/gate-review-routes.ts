import { invalidField, ProblemError } from "../../platform/http/problem.js";
import type { GateEvents } from "../gate-events.js";
import { commandContext } from "./access.js";
import type { Route } from "./lot-term-routes.js";
import { rejectionProblem, requestOffset } from "./rejection-problems.js";

/**
 * An attendant settles a gate read sent to review (gate-events.ts): the lot's refusal of the step
 * is its problem, a review settled before 409. A drive-up's plate goes to the lot's command only.
 */
export const resolveGateReview =
  (now: () => string, gates: GateEvents | undefined): Route<"resolveGateReview"> =>
  async (req, res, _next, { path: { parkingLotId, eventId }, body }) => {
    if (body.action === "open" && body.reservationId === undefined)
      throw invalidField(
        "body.reservationId",
        "is required with action open",
        "reservationId is required to open: the booking the car is.",
      );
    if (body.action === "drive-up" && body.plate === undefined)
      throw invalidField(
        "body.plate",
        "is required with action drive-up",
        "plate is required to admit a drive-up: the plate you read on the camera image.",
      );
    if (!gates) throw new ProblemError("store-unavailable", "This process cannot resolve gate reviews.");
    const outcome = await gates.resolve(parkingLotId, eventId, body, { ...commandContext(req), now: now() });
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
    if ("driveUpOnExit" in outcome)
      throw invalidField(
        "body.action",
        "drive-up resolves an entry's review only",
        `Gate review ${eventId} is of an exit: a drive-up is only let in. Open the car's stay, or deny.`,
      );
    if ("rejection" in outcome && outcome.rejection.code === "AmountRequired")
      throw invalidField(
        "body.action",
        "drive-up needs the lot's hourly rate",
        `Parking lot ${parkingLotId} has no hourly rate to price a drive-up stay: open a booking, or deny.`,
      );
    if ("rejection" in outcome) throw rejectionProblem(outcome.rejection, requestOffset(req.body));
    res.status(200).json(outcome.resolved);
  };
