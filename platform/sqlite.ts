import { createRequire } from "node:module";
import type BetterSqlite3 from "better-sqlite3";

/**
 * The embedded stores' SQLite driver, better-sqlite3, in the version this Node.js can run:
 * 13 (Node-API, prebuilt in its package) where it is installed, which npm does on Node 22 and
 * newer (`better-sqlite3-13`, an optional dependency: its engines say >= 22), else 12 (compiled at
 * install). 12 is kept for Node 20, on which 13 crashes; 13 is needed on Node 24, whose
 * garbage collector aborts the process when it finalizes a statement of 12 (nodejs/node#65446).
 * The API is the same, so the rest of the service sees one `Database`.
 */
const require = createRequire(import.meta.url);

function driver(): typeof BetterSqlite3 {
  try {
    return require("better-sqlite3-13") as typeof BetterSqlite3;
  } catch {
    return require("better-sqlite3") as typeof BetterSqlite3;
  }
}

/** better-sqlite3's default export (its types: `import type BetterSqlite3 from "better-sqlite3"`). */
export const Database: typeof BetterSqlite3 = driver();
