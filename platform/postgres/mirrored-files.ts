import {
  type FSWatcher,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  watch,
  writeFileSync,
} from "node:fs";
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
 * files. Files created later (a rotation) travel while the processes run: MirroredFilesFollower.
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
      for (const row of rows) if (isInside(folders, row.path)) writeLocally(dir, row.path, row.content);
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

/** Only files under the folders mirrored, never outside `dir` whatever a row or a notification says. */
const isInside = (folders: readonly string[], path: string): boolean =>
  folders.some((f) => path.startsWith(`${f}/`)) && !path.split("/").includes("..");

const writeLocally = (dir: string, path: string, content: Buffer): void =>
  writePrivately(join(dir, ...path.split("/")), content);

/** The channel on which processes announce a file they stored (payload: its path). */
const CHANNEL = "mirrored_files";

/**
 * Keeps the mirrored files current while the process runs, so that a signing key rotated on one
 * replica's data folder reaches the others without a restart: a new file under one of `watched`
 * (folders of `dir`, watched by the file system's notifications) is stored in the database and
 * announced on CHANNEL by the transaction that stores it; a file announced by another process is
 * read from the database and written into `dir` (under `folders` only). Files are only added, as a
 * rotation adds a key; a listener that drops writes every file it missed on reconnecting.
 */
export class MirroredFilesFollower {
  private readonly known: Set<string>;
  private readonly watchers: FSWatcher[] = [];
  private listener: pg.Client | undefined;
  private queue: Promise<void> = Promise.resolve();
  private closed = false;

  private constructor(
    private readonly pool: pg.Pool,
    private readonly dir: string,
    private readonly folders: readonly string[],
    private readonly watched: readonly string[],
  ) {
    this.known = new Set(folders.flatMap((folder) => filesUnder(dir, folder)));
  }

  static async start(
    url: string,
    dir: string,
    folders: readonly string[],
    watched: readonly string[],
  ): Promise<MirroredFilesFollower> {
    const pool = new pg.Pool(poolConfig(url, { max: 1, connectionTimeoutMillis: 5000 }));
    pool.on("error", () => undefined);
    const follower = new MirroredFilesFollower(pool, dir, folders, watched);
    try {
      await follower.listen();
      for (const folder of watched) {
        const path = join(dir, ...folder.split("/"));
        mkdirSync(path, { recursive: true, mode: 0o700 });
        follower.watchers.push(
          watch(path, { persistent: false }, () => follower.serially(() => follower.publish())),
        );
      }
      follower.serially(() => follower.publish()); // a file made before the watch began
      return follower;
    } catch (error) {
      await follower.close();
      throw error;
    }
  }

  /** One at a time, in order; a failure is left for the next event (or the next start). */
  private serially(work: () => Promise<void>): void {
    this.queue = this.queue.then(() => (this.closed ? undefined : work())).catch(() => undefined);
  }

  /** LISTEN first, then read: nothing stored between the two is missed. */
  private async listen(): Promise<void> {
    const Client = (this.pool.options.Client ?? pg.Client) as typeof pg.Client;
    const client = new Client(this.pool.options);
    client.on("notification", (message) => {
      const path = message.payload;
      if (message.channel === CHANNEL && path) this.serially(() => this.pull(path));
    });
    const again = (): void => {
      if (this.closed || this.listener !== client) return;
      this.listener = undefined;
      const retry = (): void => {
        if (!this.closed) this.listen().catch(() => setTimeout(retry, 500).unref());
      };
      setTimeout(retry, 100).unref();
    };
    client.on("error", again);
    client.on("end", again);
    await client.connect();
    await client.query(`LISTEN ${CHANNEL}`);
    this.listener = client;
    this.serially(() => this.pull());
  }

  /** The database's file at `path` (every file it has, without), written here if new. */
  private async pull(path?: string): Promise<void> {
    const { rows } = await this.pool.query<{ path: string; content: Buffer }>(
      `SELECT path, content FROM mirrored_files${path === undefined ? "" : " WHERE path = $1"}`,
      path === undefined ? [] : [path],
    );
    for (const row of rows) {
      if (this.known.has(row.path) || !isInside(this.folders, row.path)) continue;
      this.known.add(row.path); // before writing: the watcher then sees a known file, not a new one
      writeLocally(this.dir, row.path, row.content);
    }
  }

  /** The watched files not in the database yet: stored and announced. */
  private async publish(): Promise<void> {
    for (const path of this.watched.flatMap((folder) => filesUnder(this.dir, folder))) {
      if (this.known.has(path)) continue;
      const content = readFileSync(join(this.dir, ...path.split("/")));
      await inTransaction(this.pool, async (client) => {
        const stored = await client.query(
          "INSERT INTO mirrored_files (path, content) VALUES ($1, $2) ON CONFLICT DO NOTHING",
          [path, content],
        );
        if (stored.rowCount) await client.query("SELECT pg_notify($1, $2)", [CHANNEL, path]);
      });
      this.known.add(path);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const watcher of this.watchers) watcher.close();
    const client = this.listener;
    this.listener = undefined;
    await this.queue;
    await client?.end().catch(() => undefined);
    await this.pool.end().catch(() => undefined);
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
