/**
 * The parking-lot aggregate as a decider: pure functions, no I/O, one file per command family
 * (booking.ts; reservation-steps.ts: cancel, check-in/out; closures.ts: closures and capacity;
 * terms.ts: rate and per-customer limit;
 * time-driven.ts: the facts time brings) on the shared state (state.ts), rules (rules.ts) and
 * evolve (evolve.ts); decide.ts dispatches a command to them. This module is the aggregate's one
 * entry point for the rest of the service: it only re-exports (the files here import one another
 * directly, never through it).
 */

export * from "./decide.js";
export { evolve } from "./evolve.js";
export * from "./state.js";
