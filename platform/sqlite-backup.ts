import { restrictSqliteFiles } from "./private-files.js";
import { Database } from "./sqlite.js";
import { enterWalMode } from "./sqlite-wal.js";

/** How far one database's copy has come, in SQLite pages. */
export interface SqliteBackupProgress {
  readonly totalPages: number;
  readonly copiedPages: number;
}

/** Pages copied per step (4 KiB pages: 4 MiB), between which the event loop turns. */
const PAGES_PER_STEP = 1024;

/**
 * A consistent copy of the SQLite database `source` in `dest` (a new file), taken with SQLite's
 * online backup API while other connections and processes keep writing to it.
 *
 * The copy is made inside one read transaction held from before the first page to after the last:
 * in WAL mode a reader pins one snapshot of the database and never blocks the writers, so every
 * step copies pages of that same snapshot (the backup API restarts from the first page when the
 * source changes under it between steps; with the snapshot pinned it never sees a change and
 * cannot be starved by a busy writer). The copy is that snapshot, whole: a commit is in it or not.
 */
export async function backupSqlite(
  source: string,
  dest: string,
  onProgress: (progress: SqliteBackupProgress) => void = () => {},
): Promise<void> {
  const db = new Database(source, { fileMustExist: true, timeout: 5000 });
  try {
    enterWalMode(db, 5000);
    db.exec("BEGIN DEFERRED");
    // The first read starts the read transaction (and pins the WAL snapshot it sees).
    db.prepare("SELECT count(*) FROM sqlite_schema").get();
    await db.backup(dest, {
      progress: ({ totalPages, remainingPages }) => {
        onProgress({ totalPages, copiedPages: totalPages - remainingPages });
        return PAGES_PER_STEP;
      },
    });
    db.exec("COMMIT");
  } finally {
    db.close();
  }
  restrictSqliteFiles(dest);
}
