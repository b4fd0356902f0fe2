import type { RequestHandler } from "express";
import type { Metrics } from "../metrics.js";
import { ProblemError } from "./problem.js";

/**
 * Bounds the work in flight on a path. Past the bound a request is answered 503 with
 * Retry-After at once, rather than queueing until every request times out.
 */
export function inflightLimit(max: number, metrics?: Metrics): RequestHandler {
  let inFlight = 0;
  return (_req, res, next) => {
    if (inFlight >= max) {
      metrics?.overloadRejections.inc();
      next(
        new ProblemError("overloaded", `More than ${max} commands are in flight.`, { retryAfterSeconds: 1 }),
      );
      return;
    }
    inFlight++;
    metrics?.commandsInFlight.set(inFlight);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      inFlight--;
      metrics?.commandsInFlight.set(inFlight);
    };
    // Plain listeners, not once()'s wrappers: release runs its work once whichever comes first.
    res.on("finish", release);
    res.on("close", release);
    next();
  };
}
