import {
  copyFileSync,
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { pipeline } from "node:stream/promises";
import { create as createTar } from "tar";
import { SqliteEventStore } from "../../event-store/embedded/sqlite-event-store.js";
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from "../../platform/private-files.js";
import { backupSqlite } from "../../platform/sqlite-backup.js";
import {
  BACKUP_FORMAT,
  BACKUP_VERSION,
  BackupError,
  type BackupManifest,
  EVENT_STORE_FILE,
  fileEntry,
  filesToBackUp,
  isSqliteDatabase,
  MANIFEST_NAME,
  STAGING_PREFIX,
} from "./backup-manifest.js";

/** How far a backup has come: the file being copied, in pages for a database. */
export interface BackupProgress {
  readonly path: string;
  readonly done: number;
  readonly total: number;
}

/** The log's head position in a copied event store (the position the backup restores to). */
async function headPositionOf(file: string): Promise<string | null> {
  const store = SqliteEventStore.open({ file });
  try {
    const head = await store.headPosition();
    return head === null ? null : String(head.commit);
  } finally {
    await store.close();
  }
}

/** Each file of DATA_DIR copied into `staging`: the databases online, the others as they are. */
async function copyInto(
  dataDir: string,
  staging: string,
  paths: readonly string[],
  onProgress: (progress: BackupProgress) => void,
): Promise<void> {
  for (const path of paths) {
    const to = join(staging, path);
    mkdirSync(dirname(to), { recursive: true, mode: PRIVATE_DIR_MODE });
    if (isSqliteDatabase(path)) {
      await backupSqlite(join(dataDir, path), to, ({ totalPages, copiedPages }) =>
        onProgress({ path, done: copiedPages, total: totalPages }),
      );
    } else {
      copyFileSync(join(dataDir, path), to);
    }
    onProgress({ path, done: 1, total: 1 });
  }
}

/**
 * `npm run backup -- --out FILE`: a consistent backup of the embedded stores and the files that
 * belong with them, taken while the service runs, written to `out` (a gzipped tar, mode 0600: it
 * holds the signing keys and personal data) only once it is whole. Returns its manifest.
 */
export async function takeBackup(
  dataDir: string,
  out: string,
  onProgress: (progress: BackupProgress) => void = () => {},
): Promise<BackupManifest> {
  const from = resolve(dataDir);
  if (!existsSync(join(from, EVENT_STORE_FILE))) {
    throw new BackupError(
      `DATA_DIR ${from} holds no stores (no ${EVENT_STORE_FILE}): point DATA_DIR at the service's data directory.`,
    );
  }
  const target = resolve(out);
  if (existsSync(target)) throw new BackupError(`${target} exists: name a new file with --out.`);
  mkdirSync(dirname(target), { recursive: true });
  const staging = mkdtempSync(join(dirname(target), STAGING_PREFIX));
  try {
    const paths = filesToBackUp(from);
    await copyInto(from, staging, paths, onProgress);
    const headPosition = await headPositionOf(join(staging, EVENT_STORE_FILE));
    const files = [];
    for (const path of paths) files.push(await fileEntry(staging, path));
    const manifest: BackupManifest = {
      format: BACKUP_FORMAT,
      version: BACKUP_VERSION,
      createdAt: new Date().toISOString(),
      headPosition,
      files,
    };
    writeFileSync(join(staging, MANIFEST_NAME), `${JSON.stringify(manifest, null, 2)}\n`, {
      mode: PRIVATE_FILE_MODE,
    });
    // Written beside its name, then renamed: a FILE that exists is a whole backup.
    const partial = join(dirname(target), `${STAGING_PREFIX}${basename(target)}.partial`);
    await pipeline(
      createTar({ gzip: true, cwd: staging, portable: true }, [MANIFEST_NAME, ...paths]),
      createWriteStream(partial, { mode: PRIVATE_FILE_MODE, flags: "wx" }),
    );
    renameSync(partial, target);
    return manifest;
  } finally {
    rmSync(staging, { recursive: true, force: true });
    rmSync(join(dirname(target), `${STAGING_PREFIX}${basename(target)}.partial`), { force: true });
  }
}
