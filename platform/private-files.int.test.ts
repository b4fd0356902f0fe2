import { randomUUID } from "node:crypto";
import { chmodSync, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SqliteDocumentStore } from "../document-store/embedded/sqlite-document-store.js";
import { SqliteEventStore } from "../event-store/embedded/sqlite-event-store.js";

/**
 * The embedded stores' files hold customer ids and plates: 0600 files in a 0700 directory, with
 * the most permissive umask there is (so nothing here depends on the umask), -wal and -shm
 * included, which SQLite creates lazily.
 */
const modeOf = (path: string) => statSync(path).mode & 0o777;

describe("the embedded stores' files are private", () => {
  let root: string;
  let umask: number;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), "parking-modes-"));
    umask = process.umask(0o000);
  });
  afterEach(() => {
    process.umask(umask);
    rmSync(root, { recursive: true, force: true });
  });

  it("creates events.sqlite and read-models.sqlite, their -wal and -shm 0600, the directory 0700", async () => {
    const dataDir = join(root, "data");
    const events = SqliteEventStore.open({ file: join(dataDir, "events.sqlite") });
    const documents = SqliteDocumentStore.open({ file: join(dataDir, "read-models.sqlite") });
    try {
      await events.appendToStream(
        "lot-1",
        [{ id: randomUUID(), type: "T", data: { plate: "10더8612" }, metadata: {} }],
        {
          expectedRevision: "no_stream",
        },
      );
      await documents.write([{ op: "replace", collection: "c", id: "1", document: { plate: "10더8612" } }]);
      for (const name of ["events.sqlite", "read-models.sqlite"]) {
        for (const suffix of ["", "-wal", "-shm"]) {
          const file = join(dataDir, `${name}${suffix}`);
          expect(existsSync(file), file).toBe(true);
          expect(modeOf(file).toString(8), file).toBe("600");
        }
      }
      expect(modeOf(dataDir).toString(8)).toBe("700");
    } finally {
      await events.close();
      await documents.close();
    }
  });

  it("tightens files and a directory an earlier version left readable by others", async () => {
    const dataDir = join(root, "old");
    const first = SqliteEventStore.open({ file: join(dataDir, "events.sqlite") });
    await first.close();
    chmodSync(dataDir, 0o755);
    chmodSync(join(dataDir, "events.sqlite"), 0o644);
    writeFileSync(join(dataDir, "events.sqlite-wal"), "", { mode: 0o644 });
    const again = SqliteEventStore.open({ file: join(dataDir, "events.sqlite") });
    try {
      expect(modeOf(dataDir).toString(8)).toBe("700");
      expect(modeOf(join(dataDir, "events.sqlite")).toString(8)).toBe("600");
      expect(modeOf(join(dataDir, "events.sqlite-wal")).toString(8)).toBe("600");
    } finally {
      await again.close();
    }
  });
});
