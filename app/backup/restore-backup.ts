import { createHash, type Hash } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { extract as extractTar, list as listTar } from "tar";
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from "../../platform/private-files.js";
import {
  BackupError,
  type BackupManifest,
  fileEntry,
  MANIFEST_NAME,
  parseManifest,
  STAGING_PREFIX,
} from "./backup-manifest.js";

/** What a directory holds that makes it not empty (a file system's lost+found does not count). */
const contentsOf = (dir: string): string[] =>
  existsSync(dir) ? readdirSync(dir).filter((name) => name !== "lost+found") : [];

/**
 * Reads the whole archive without writing anything: the manifest first, then every file it lists,
 * each once, with its size and SHA-256, and nothing else. A truncated or corrupt archive (a bad
 * gzip stream, a short tar, a changed byte) fails here.
 */
export async function verifyBackup(file: string): Promise<BackupManifest> {
  if (!existsSync(file)) throw new BackupError(`${file} does not exist`);
  let manifestText: string | undefined;
  let first = true;
  const seen = new Map<string, { bytes: number; hash: Hash }>();
  const problems: string[] = [];
  try {
    await listTar({
      file,
      strict: true,
      onReadEntry: (entry) => {
        const path = entry.path;
        const isManifest = path === MANIFEST_NAME;
        if (first !== isManifest) problems.push(`${path} where the manifest should be first`);
        first = false;
        if (seen.has(path) || (isManifest && manifestText !== undefined)) problems.push(`${path} twice`);
        // Regular files only: a link or a device in a backup could point outside DATA_DIR.
        if (entry.type !== "File") problems.push(`${path} is a ${entry.type}, not a file`);
        const record = { bytes: 0, hash: createHash("sha256") };
        const chunks: Buffer[] = [];
        if (!isManifest) seen.set(path, record);
        entry.on("data", (chunk: Buffer) => {
          record.bytes += chunk.length;
          if (isManifest) chunks.push(chunk);
          else record.hash.update(chunk);
        });
        entry.on("end", () => {
          if (isManifest) manifestText = Buffer.concat(chunks).toString("utf8");
        });
      },
    });
  } catch (error) {
    throw new BackupError(`${file} is not a whole backup: ${(error as Error).message}`);
  }
  if (manifestText === undefined) throw new BackupError(`${file} is not a backup: it has no manifest`);
  const manifest = parseManifest(manifestText);
  const listed = new Set(manifest.files.map((f) => f.path));
  for (const path of seen.keys()) if (!listed.has(path)) problems.push(`${path} is not in the manifest`);
  for (const f of manifest.files) {
    const got = seen.get(f.path);
    if (!got) problems.push(`${f.path} is missing`);
    else if (got.bytes !== f.bytes || got.hash.digest("hex") !== f.sha256) {
      problems.push(`${f.path} does not match its checksum`);
    }
  }
  if (problems.length > 0) {
    throw new BackupError(`${file} is corrupt or truncated: ${problems.slice(0, 5).join("; ")}`);
  }
  return manifest;
}

/**
 * `npm run restore -- FILE`: the backup verified whole first, then extracted into a staging
 * directory inside DATA_DIR, checked again on disk, and moved into place (files 0600, directories
 * 0700). DATA_DIR must be empty (or not exist): a restore never mixes with another installation's
 * data. The service started on it answers as the original did at the backup's position, and its
 * read models catch up from their checkpoints to the restored log's head.
 */
export async function restoreBackup(file: string, dataDir: string): Promise<BackupManifest> {
  const to = resolve(dataDir);
  const present = contentsOf(to);
  if (present.length > 0) {
    throw new BackupError(
      `DATA_DIR ${to} is not empty (${present.slice(0, 5).join(", ")}${present.length > 5 ? ", …" : ""}): restore into an empty directory.`,
    );
  }
  const manifest = await verifyBackup(resolve(file));
  mkdirSync(to, { recursive: true, mode: PRIVATE_DIR_MODE });
  chmodSync(to, PRIVATE_DIR_MODE);
  const staging = mkdtempSync(join(to, STAGING_PREFIX));
  try {
    const listed = new Set(manifest.files.map((f) => f.path));
    await extractTar({
      file: resolve(file),
      cwd: staging,
      strict: true,
      filter: (path) => listed.has(path),
    });
    for (const f of manifest.files) {
      const got = await fileEntry(staging, f.path);
      if (got.sha256 !== f.sha256 || got.bytes !== f.bytes) {
        throw new BackupError(`${f.path} changed while it was being restored`);
      }
    }
    for (const f of manifest.files) {
      const target = join(to, f.path);
      mkdirSync(dirname(target), { recursive: true, mode: PRIVATE_DIR_MODE });
      chmodSync(dirname(target), PRIVATE_DIR_MODE);
      chmodSync(join(staging, f.path), PRIVATE_FILE_MODE);
      renameSync(join(staging, f.path), target);
    }
  } catch (error) {
    // Nothing half-restored is left behind to be mistaken for data.
    for (const name of contentsOf(to)) rmSync(join(to, name), { recursive: true, force: true });
    throw error;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  return manifest;
}
