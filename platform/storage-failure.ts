import { closeSync, openSync, rmSync, statfsSync } from "node:fs";
import { join } from "node:path";

/**
 * What a failed write says of the disk under a store: full, or read-only. The stores' adapters
 * ask it at their edge and raise their own "storage" error (a kind of "unavailable": retryable,
 * nothing written), so that the service answers `storage-unavailable`, the processors back off
 * instead of stopping, and the operator is told why.
 */
export type StorageFailure = "full" | "read-only";

const READ_ONLY_CODES = new Set(["EROFS", "EACCES", "EPERM"]);

/**
 * What the directory itself says now: read-only (creating a file in it fails with EROFS; a file
 * system that turned read-only after an error, such as ext4's emergency read-only, may still pass
 * access(2)'s check) or no space left.
 */
function directoryState(directory: string): StorageFailure | undefined {
  const probe = join(directory, `.storage-check-${process.pid}`);
  try {
    closeSync(openSync(probe, "w", 0o600));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EROFS") return "read-only";
    if (code === "ENOSPC" || code === "EDQUOT") return "full";
  } finally {
    rmSync(probe, { force: true });
  }
  try {
    if (statfsSync(directory).bavail === 0) return "full";
  } catch {
    // nothing more to learn
  }
  return undefined;
}

/**
 * The storage failure behind `error` (a SQLite or file-system error) for a store kept in
 * `directory`, or undefined when it is something else. SQLite says SQLITE_FULL and SQLITE_READONLY
 * itself; a write refused under an open file (a file system that went read-only, a full disk met
 * while syncing) comes back as an I/O error, and the directory is then asked what it is.
 */
export function storageFailureOf(error: unknown, directory: string): StorageFailure | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== "string") return undefined;
  if (code === "SQLITE_FULL" || code === "ENOSPC" || code === "EDQUOT") return "full";
  if (code.startsWith("SQLITE_READONLY") || code === "EROFS") return "read-only";
  if (code.startsWith("SQLITE_IOERR") || code.startsWith("SQLITE_CANTOPEN") || READ_ONLY_CODES.has(code)) {
    return directoryState(directory);
  }
  return undefined;
}

/** How a storage failure is said to an operator. */
export const storageFailureText = (failure: StorageFailure, directory: string): string =>
  failure === "full" ? `no space left in ${directory}` : `${directory} is read-only`;
