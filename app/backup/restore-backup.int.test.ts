import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create as createTar } from "tar";
import { afterAll, describe, expect, it } from "vitest";
import { BACKUP_FORMAT, BACKUP_VERSION, MANIFEST_NAME } from "./backup-manifest.js";
import { restoreBackup } from "./restore-backup.js";

/*
 * A hostile or broken archive is refused before anything is written: the archive is checked against
 * its manifest entry by entry (app/backup-restore.e2e.test.ts covers backups the CLI took).
 */

const work = mkdtempSync(join(tmpdir(), "parking-restore-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const sha = (content: string) => createHash("sha256").update(content).digest("hex");

async function archive(
  name: string,
  files: Record<string, string>,
  links: Record<string, string>,
  listed: object[],
) {
  const dir = mkdtempSync(join(work, "src-"));
  for (const [path, content] of Object.entries(files)) writeFileSync(join(dir, path), content);
  for (const [path, target] of Object.entries(links)) symlinkSync(target, join(dir, path));
  const manifest = {
    format: BACKUP_FORMAT,
    version: BACKUP_VERSION,
    createdAt: "",
    headPosition: "1",
    files: listed,
  };
  writeFileSync(join(dir, MANIFEST_NAME), JSON.stringify(manifest));
  const file = join(work, name);
  await createTar({ gzip: true, cwd: dir, file, portable: true }, [
    MANIFEST_NAME,
    ...Object.keys(files),
    ...Object.keys(links),
  ]);
  return file;
}

describe("restoring a backup that is not one this service took", () => {
  const log = "events";
  const entry = { path: "events.sqlite", bytes: log.length, sha256: sha(log) };

  it("refuses a link, even one the manifest lists, and writes nothing", async () => {
    const file = await archive("link.tar.gz", { "events.sqlite": log }, { secret: "/etc/passwd" }, [
      entry,
      { path: "secret", bytes: 0, sha256: sha("") },
    ]);
    const target = join(work, "restored-link");
    await expect(restoreBackup(file, target)).rejects.toThrow(/secret is a SymbolicLink, not a file/);
    expect(existsSync(target)).toBe(false);
  });

  it("refuses a manifest that names a path outside DATA_DIR", async () => {
    const file = await archive("escape.tar.gz", { "events.sqlite": log }, {}, [
      entry,
      { path: "../escape", bytes: 0, sha256: sha("") },
    ]);
    await expect(restoreBackup(file, join(work, "restored-escape"))).rejects.toThrow(
      /lists a file it may not/,
    );
  });

  it("refuses a file the manifest does not list, and one whose checksum differs", async () => {
    const extra = await archive("extra.tar.gz", { "events.sqlite": log, "other.sqlite": "x" }, {}, [entry]);
    await expect(restoreBackup(extra, join(work, "restored-extra"))).rejects.toThrow(
      /other.sqlite is not in the manifest/,
    );
    const changed = await archive("changed.tar.gz", { "events.sqlite": "evenTs" }, {}, [entry]);
    await expect(restoreBackup(changed, join(work, "restored-changed"))).rejects.toThrow(
      /does not match its checksum/,
    );
    expect(readdirSync(work).filter((name) => name.startsWith("restored-"))).toEqual([]);
  });
});
