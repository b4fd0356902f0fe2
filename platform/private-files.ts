import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from "node:fs";
import { dirname } from "node:path";

/**
 * The embedded stores hold customer ids and plates: their SQLite files are readable by the
 * service's user only (0600) and their directory is closed to others (0700), whatever the umask.
 *
 * SQLite creates a database's `-wal` and `-shm` files lazily (on the first write, the first
 * reader) with the mode of the database file itself, so the database file is created 0600 before
 * SQLite opens it; files left 0644 by an earlier version are tightened at every start.
 */
export const PRIVATE_FILE_MODE = 0o600;
export const PRIVATE_DIR_MODE = 0o700;

/** The companion files SQLite keeps beside a database in WAL mode. */
export const sqliteFilesOf = (file: string): string[] => [
  file,
  `${file}-wal`,
  `${file}-shm`,
  `${file}-journal`,
];

/** Before SQLite opens `file`: its directory (created if missing) 0700, the file itself created 0600. */
export function preparePrivateSqliteFile(file: string): void {
  const dir = dirname(file);
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  // mkdir's mode is filtered by the umask, and an existing directory keeps its own: set it.
  chmodOwn(dir, PRIVATE_DIR_MODE);
  // "a": created if missing (its mode also filtered by the umask), never truncated.
  if (!existsSync(file)) closeSync(openSync(file, "a", PRIVATE_FILE_MODE));
  restrictSqliteFiles(file);
}

/** Every SQLite file of `file` that exists now, 0600 (after opening, once WAL mode made -wal/-shm). */
export function restrictSqliteFiles(file: string): void {
  for (const each of sqliteFilesOf(file)) if (existsSync(each)) chmodOwn(each, PRIVATE_FILE_MODE);
}

/**
 * chmod, tolerating a path this user does not own (a DATA_DIR such as a mounted volume's root
 * owned by root): the files inside are still ours and still restricted.
 */
function chmodOwn(path: string, mode: number): void {
  try {
    chmodSync(path, mode);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== "EPERM" && code !== "ENOENT") throw error;
  }
}
