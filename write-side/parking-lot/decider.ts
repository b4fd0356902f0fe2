/**
 * The parking-lot aggregate as a decider, pure: one file per command family (booking.ts; reservation-
 * steps.ts: cancel, check-in/out; closures.ts: closures, capacity; terms.ts; time-driven.ts), decide.ts
 * dispatching. The rest of the service's one entry point; the files here import one another directly.
 */

export * from "./decide.js";
export { evolve } from "./evolve.js";
export * from "./state.js";
