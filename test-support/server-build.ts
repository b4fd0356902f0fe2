import { ensureBuilt, PARTS } from "../tools/build.js";

/**
 * Vitest global setup of the tiers that start the service as a process: builds the server as
 * `npm start` runs it (tsc into dist/, incremental) unless dist is newer than its sources, once per
 * run. The children then start from JavaScript, as users' processes do, instead of compiling
 * TypeScript at every start under tsx (about 2 s a start on this machine).
 */
export default async function buildServer(): Promise<void> {
  await ensureBuilt(PARTS.server);
}
