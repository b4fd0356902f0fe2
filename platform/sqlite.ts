import { createRequire } from "node:module";
import type BetterSqlite3 from "better-sqlite3";

/**
 * The embedded stores' SQLite driver, better-sqlite3, in the version this Node.js can run:
 * 13 (Node-API, prebuilt in its package) where it is installed, which npm does on Node 22 and
 * newer (`better-sqlite3-13`, an optional dependency: its engines say >= 22), else 12 (compiled at
 * install). 12 is kept for Node 20, on which 13 crashes; 13 is needed on Node 24, whose
 * garbage collector aborts the process when it finalizes a statement of 12 (nodejs/node#65446).
 * The API is the same, so the rest of the service sees one `Database`.
 *
 * The driver's native part is loaded here, at start (better-sqlite3 would load it at the first
 * `new Database`): a build for another Node.js version (node_modules installed under another
 * Node.js) stops the start with one line saying to run `npm ci`, not with a dlopen stack trace
 * halfway through opening the stores. Node's own message suggests `npm rebuild better-sqlite3`;
 * on Node 24 that rebuilds 12, which then aborts the process natively (the issue above), so the
 * advice here is `npm ci`, which installs 13 where this Node.js takes it.
 */
const require = createRequire(import.meta.url);

/** The driver's native module cannot run on this Node.js: the start stops with this one line. */
export class NativeModuleError extends Error {
  override name = "NativeModuleError";
}

const ANOTHER_NODE =
  /NODE_MODULE_VERSION|was compiled against a different Node\.js version|ERR_DLOPEN_FAILED|invalid ELF header|wrong ELF class/;

const isNativeMismatch = (error: unknown): boolean =>
  error instanceof Error &&
  ((error as NodeJS.ErrnoException).code === "ERR_DLOPEN_FAILED" || ANOTHER_NODE.test(error.message));

const isMissing = (error: unknown, name: string): boolean =>
  (error as NodeJS.ErrnoException | undefined)?.code === "MODULE_NOT_FOUND" &&
  String((error as Error).message).includes(`'${name}'`);

/** The one line said when the native module was built for another Node.js (its versions, where known). */
function anotherNode(name: string, error: Error, nodeVersion: string): NativeModuleError {
  const built = /NODE_MODULE_VERSION (\d+)\..*requires\s+NODE_MODULE_VERSION (\d+)/s.exec(error.message);
  const versions = built ? ` (built for NODE_MODULE_VERSION ${built[1]}, this one needs ${built[2]})` : "";
  return new NativeModuleError(
    `${name}'s native module was built for another Node.js version than this one, v${nodeVersion}${versions}: run \`npm ci\` with this Node.js to install the build it needs (not \`npm rebuild\`)`,
  );
}

/**
 * Picks the driver and loads its native module (an in-memory database opened and closed). `load`
 * is `require` (a test gives one that fails as a build for another Node.js does).
 */
export function loadDriver(
  load: (name: string) => unknown = require,
  nodeVersion: string = process.versions.node,
): typeof BetterSqlite3 {
  let name = "better-sqlite3-13";
  let driver: typeof BetterSqlite3;
  try {
    driver = load(name) as typeof BetterSqlite3;
  } catch (error) {
    if (isNativeMismatch(error)) throw anotherNode(name, error as Error, nodeVersion);
    if (!isMissing(error, name)) throw error;
    if (Number(nodeVersion.split(".")[0]) >= 24)
      throw new NativeModuleError(
        `better-sqlite3 13 (the optional dependency better-sqlite3-13) is not installed, and Node.js v${nodeVersion} aborts with better-sqlite3 12: run \`npm ci\` with this Node.js to install it`,
      );
    name = "better-sqlite3";
    driver = load(name) as typeof BetterSqlite3;
  }
  try {
    new driver(":memory:").close();
  } catch (error) {
    if (isNativeMismatch(error)) throw anotherNode(name, error as Error, nodeVersion);
    throw error;
  }
  return driver;
}

/** better-sqlite3's default export (its types: `import type BetterSqlite3 from "better-sqlite3"`). */
export const Database: typeof BetterSqlite3 = loadDriver();
