import { ensureBuilt, PARTS } from "../tools/build.js";

/**
 * Builds the control-center page (as `npm run build` does) unless dist/web is newer than its
 * sources, so page tests run on a fresh clone where only `npm ci` ran.
 */
export async function ensureWebBuilt(): Promise<void> {
  await ensureBuilt(PARTS.page);
}
