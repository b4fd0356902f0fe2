/**
 * The parking-lot aggregate as a decider, pure, one file per command family: the rest of the
 * service's one entry point (the files here import one another directly).
 */

export * from "./decide.js";
export { evolve } from "./evolve.js";
export * from "./state.js";
