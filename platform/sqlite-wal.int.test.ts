import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../test-support/process.js";
import { enterWalMode } from "./sqlite-wal.js";

/**
 * Services started together on a fresh data directory open the same new SQLite files at the same
 * moment. Switching a new file to WAL then deadlocks two connections, and SQLite answers
 * SQLITE_BUSY at once, busy_timeout or not: before enterWalMode, about one opening in five failed
 * with "database is locked" in the race below, and a projector role that met it did not start.
 */
const FILES = 40;
const PROCESSES = 3;

/** A process that opens `FILES` fresh files of one store, each at the same instant as its peers. */
function opener(kind: "events" | "documents", dir: string, startAt: number): Promise<string> {
  const module =
    kind === "events"
      ? join(PROJECT_ROOT, "event-store/embedded/sqlite-event-store.ts")
      : join(PROJECT_ROOT, "document-store/embedded/sqlite-document-store.ts");
  const store = kind === "events" ? "SqliteEventStore" : "SqliteDocumentStore";
  const source = `
    const { ${store}: Store } = await import(${JSON.stringify(module)});
    const failures = [];
    for (let i = 0; i < ${FILES}; i++) {
      const at = ${startAt} + i * 60;
      while (Date.now() < at) {}
      try {
        await Store.open({ file: ${JSON.stringify(dir)} + "/f" + i + ".sqlite" }).close();
      } catch (error) {
        failures.push(String(error.message));
      }
    }
    console.log(JSON.stringify(failures));`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", source], {
      cwd: PROJECT_ROOT,
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
    child.once("error", reject);
    child.once("exit", (code) =>
      code === 0 ? resolve(out) : reject(new Error(`opener exited ${code}: ${out}`)),
    );
  });
}

describe("opening a new SQLite file from several processes at once", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  for (const kind of ["events", "documents"] as const) {
    it(`every process opens every file (${kind} store, ${PROCESSES} processes, ${FILES} files)`, async () => {
      const dir = mkdtempSync(join(tmpdir(), "parking-wal-race-"));
      dirs.push(dir);
      // Time enough for each child to start tsx and import the store before the first instant.
      const startAt = Date.now() + 4_000;
      const outputs = await Promise.all(Array.from({ length: PROCESSES }, () => opener(kind, dir, startAt)));
      const failures = outputs.flatMap(
        (out) => JSON.parse(out.trim().split("\n").at(-1) ?? "[]") as string[],
      );
      expect(failures).toEqual([]);
    }, 60_000);
  }
});

describe("enterWalMode", () => {
  const busy = () => Object.assign(new Error("database is locked"), { code: "SQLITE_BUSY" });

  it("tries again while SQLite answers BUSY, then returns", () => {
    let calls = 0;
    enterWalMode(
      {
        pragma: () => {
          calls++;
          if (calls < 3) throw busy();
        },
      },
      5_000,
    );
    expect(calls).toBe(3);
  });

  it("throws BUSY once the timeout has passed, and any other error at once", () => {
    let calls = 0;
    expect(() =>
      enterWalMode(
        {
          pragma: () => {
            calls++;
            throw busy();
          },
        },
        50,
      ),
    ).toThrow("database is locked");
    expect(calls).toBeGreaterThan(1);
    const corrupt = Object.assign(new Error("file is not a database"), { code: "SQLITE_NOTADB" });
    let tries = 0;
    expect(() =>
      enterWalMode(
        {
          pragma: () => {
            tries++;
            throw corrupt;
          },
        },
        5_000,
      ),
    ).toThrow("file is not a database");
    expect(tries).toBe(1);
  });
});
