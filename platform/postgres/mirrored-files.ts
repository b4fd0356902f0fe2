import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative, sep } from "node:path";
import pg from "pg";
import { poolConfig } from "./hosts.js";
import { type MigrationStep, migrate } from "./migrations.js";
import { inTransaction } from "./transaction.js";

const MIGRATIONS: readonly MigrationStep[] = [
  {
    version: 1,
    sql: "CREATE TABLE IF NOT EXISTS mirrored_files (path text PRIMARY KEY, content bytea NOT NULL)",
  },
];

/** One start at a time mirrors (advisory lock key: any constant of this database). */
const MIRROR_LOCK = 7_000_070_003;

/**
 * Small files a process keeps under its data folder (keys, secrets), kept in the database instead,
 * so that a process started on an empty folder has the same ones: under one lock for all starts,
 * the database's files are written into `dir` (they win over a different local copy), `create`
 * makes what is still missing (first start), and every file of `folders` the database has not is
 * stored there. Two processes starting at once on empty folders thus end up with the first one's
 * files. Files created later (a rotation) reach the others at their next start.
 */
export async function mirrorFiles(
  url: string,
  dir: string,
  folders: readonly string[],
  create: () => Promise<void>,
): Promise<void> {
  const pool = new pg.Pool(poolConfig(url, { max: 1, connectionTimeoutMillis: 5000 }));
  pool.on("error", () => undefined);
  try {
    await migrate(pool, "mirrored-files", MIGRATIONS);
    await inTransaction(pool, async (client) => {
      await client.query("SELECT pg_advisory_xact_lock($1)", [MIRROR_LOCK]);
      const { rows } = await client.query<{ path: string; content: Buffer }>(
        "SELECT path, content FROM mirrored_files",
      );
      const stored = new Set(rows.map((r) => r.path));
      for (const row of rows) {
        // Only files under the folders mirrored, never outside `dir` whatever a row says.
        const inside =
          folders.some((f) => row.path.startsWith(`${f}/`)) && !row.path.split("/").includes("..");
        if (inside) writePrivately(join(dir, ...row.path.split("/")), row.content);
      }
      await create();
      for (const path of folders.flatMap((folder) => filesUnder(dir, folder))) {
        if (stored.has(path)) continue;
        await client.query("INSERT INTO mirrored_files (path, content) VALUES ($1, $2)", [
          path,
          readFileSync(join(dir, ...path.split("/"))),
        ]);
      }
    });
  } finally {
    await pool.end();
  }
}

/** The files under `dir/folder`, as paths relative to `dir` with "/" (temporary files left out). */
function filesUnder(dir: string, folder: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(join(dir, folder), { recursive: true, encoding: "utf8" });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
  return entries
    .map((entry) => join(dir, folder, entry))
    .filter((file) => !file.endsWith(".tmp") && isFile(file))
    .map((file) => relative(dir, file).split(sep).join("/"));
}

const isFile = (file: string): boolean => statSync(file, { throwIfNoEntry: false })?.isFile() === true;

/** Written whole (a reader sees the old file or the new one), mode 0600 in a 0700 folder. */
function writePrivately(file: string, content: Buffer): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const temporary = `${file}.${process.pid}.mirror.tmp`;
  writeFileSync(temporary, content, { mode: 0o600 });
  renameSync(temporary, file);
}
