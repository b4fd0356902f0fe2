/**
 * V8's compiled code kept on disk between starts (Node.js ≥ 22.1, `module.enableCompileCache`;
 * absent on Node 20, where this does nothing): a start reuses the code of the bundle's modules
 * instead of compiling them again, the largest share of a start left after bundling (issue 50).
 * Nothing depends on it: Node says so when it cannot keep the cache and runs as without it, and
 * NODE_DISABLE_COMPILE_CACHE=1 turns it off. The directory is NODE_COMPILE_CACHE when set, else
 * Node's default under the system's temporary directory.
 * https://nodejs.org/api/module.html#moduleenablecompilecachecachedir
 */
import nodeModule from "node:module";

interface CompileCacheApi {
  enableCompileCache?: () => { directory?: string };
  flushCompileCache?: () => void;
}

const api = nodeModule as unknown as CompileCacheApi;

/** Turns the cache on for this thread and, through NODE_COMPILE_CACHE, for the threads it starts. */
export function enableCompileCache(): void {
  const { directory } = api.enableCompileCache?.() ?? {};
  // Worker threads take process.env as it is when they start: they use the same directory.
  if (directory !== undefined) process.env.NODE_COMPILE_CACHE = directory;
}

/** Writes what was compiled so far (Node writes it at exit otherwise; a killed process would not). */
export function flushCompileCache(): void {
  api.flushCompileCache?.();
}
