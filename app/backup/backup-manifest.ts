import { createHash } from "node:crypto";
import { createReadStream, readdirSync, statSync } from "node:fs";
import { join, relative, sep } from "node:path";

/**
 * What a backup of DATA_DIR holds, written first in the archive: every file with its size and
 * SHA-256, and the log's head position in it. Restore checks the archive against it before
 * writing anything.
 *
 * What DATA_DIR holds, and so what a backup carries:
 * - the SQLite databases (`*.sqlite`): the read models (with the browser sessions, the lot
 *   snapshots and the processors' checkpoints), the event log, and any store added beside them
 *   (a key store): each copied by SQLite's online backup API;
 * - every other file under it (`auth/`: the development issuer's signing keys, the idempotency
 *   secret; a future key store kept as files), copied as they are.
 * SQLite's companion files (`-wal`, `-shm`, `-journal`) are never copied: the online copy of a
 * database is whole without them.
 */
export const BACKUP_FORMAT = "parking-reservations-backup";
export const BACKUP_VERSION = 1;
export const MANIFEST_NAME = "manifest.json";

/** The log and the read models, by their file names under DATA_DIR (app/services.ts opens them). */
export const EVENT_STORE_FILE = "events.sqlite";
export const DOCUMENT_STORE_FILE = "read-models.sqlite";

export interface BackupFileEntry {
  /** Relative to DATA_DIR, with forward slashes. */
  readonly path: string;
  readonly bytes: number;
  readonly sha256: string;
}

export interface BackupManifest {
  readonly format: typeof BACKUP_FORMAT;
  readonly version: number;
  readonly createdAt: string;
  /** The last position of the log in the backup (null: an empty log). */
  readonly headPosition: string | null;
  readonly files: readonly BackupFileEntry[];
}

const SQLITE_COMPANION = /-(wal|shm|journal)$/;
/** Left behind by an interrupted restore or backup: never part of the data. */
export const STAGING_PREFIX = ".backup-staging-";

export const isSqliteDatabase = (path: string) => path.endsWith(".sqlite");

/**
 * The order the databases are copied in: the read models first, then the log, then any other
 * store. Each copy is a snapshot of its own moment, so the order is what makes the set agree:
 * the read models' checkpoints are never ahead of the log they will catch up from, and a store
 * written with the log (a key store) is copied after it, so that every event in the backup finds
 * what it needs there.
 */
export function copyRank(path: string): number {
  if (path === DOCUMENT_STORE_FILE) return 0;
  if (path === EVENT_STORE_FILE) return 1;
  return isSqliteDatabase(path) ? 2 : 3;
}

/** Every file under `dir` that a backup carries (relative paths), in copy order. */
export function filesToBackUp(dir: string): string[] {
  const found: string[] = [];
  const walk = (at: string) => {
    for (const entry of readdirSync(at, { withFileTypes: true })) {
      const full = join(at, entry.name);
      if (entry.name.startsWith(STAGING_PREFIX) || entry.name === "lost+found") continue;
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile() && !SQLITE_COMPANION.test(entry.name)) {
        found.push(relative(dir, full).split(sep).join("/"));
      }
    }
  };
  walk(dir);
  return found.sort((a, b) => copyRank(a) - copyRank(b) || a.localeCompare(b));
}

/** The size and SHA-256 of a file. */
export async function fileEntry(dir: string, path: string): Promise<BackupFileEntry> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(join(dir, path))) hash.update(chunk as Buffer);
  return { path, bytes: statSync(join(dir, path)).size, sha256: hash.digest("hex") };
}

/** A safe relative path: no absolute path, no `..`, nothing SQLite keeps beside a database. */
const SAFE_PATH = /^(?!\/)(?!.*(^|\/)\.\.?(\/|$))[A-Za-z0-9._\-/]{1,255}$/;

/** The manifest read from an archive, or why it cannot be one. */
export function parseManifest(text: string): BackupManifest {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new BackupError("its manifest is not JSON");
  }
  const m = value as Partial<BackupManifest> | null;
  if (m?.format !== BACKUP_FORMAT) throw new BackupError("it is not a backup of this service");
  if (m.version !== BACKUP_VERSION) {
    throw new BackupError(`it is format version ${String(m.version)}; this code reads ${BACKUP_VERSION}`);
  }
  const files = Array.isArray(m.files) ? m.files : [];
  for (const f of files) {
    if (
      typeof f?.path !== "string" ||
      !SAFE_PATH.test(f.path) ||
      SQLITE_COMPANION.test(f.path) ||
      f.path === MANIFEST_NAME ||
      !Number.isSafeInteger(f.bytes) ||
      !/^[0-9a-f]{64}$/.test(String(f.sha256))
    ) {
      throw new BackupError(`its manifest lists a file it may not: ${JSON.stringify(f?.path)}`);
    }
  }
  if (new Set(files.map((f) => f.path)).size !== files.length) {
    throw new BackupError("its manifest lists a file twice");
  }
  if (!files.some((f) => f.path === EVENT_STORE_FILE)) throw new BackupError("it holds no event log");
  return m as BackupManifest;
}

/** A backup that cannot be taken or restored, said to the operator as it is. */
export class BackupError extends Error {
  override name = "BackupError";
}
