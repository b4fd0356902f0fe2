import { execFileSync, spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../process.js";

/**
 * A real PostgreSQL server for the tests: Debian's `postgresql` package (installed by `npm test`'s
 * pretest and by .ci/run), a cluster of its own in a temporary folder, listening on loopback only,
 * on a free port, stopped and deleted by `stop()`. As root (CI, this machine) the server runs as
 * the `postgres` user, since PostgreSQL refuses to run as root; otherwise as the current user.
 */
export interface PostgresCluster {
  /** `postgres://postgres@127.0.0.1:PORT/postgres`: trust authentication, loopback only. */
  readonly url: string;
  readonly port: number;
  /** The cluster's data directory (for a standby's `pg_basebackup`, a log, a kill). */
  readonly dataDir: string;
  /** The folder holding PostgreSQL's programs (initdb, pg_ctl, pg_basebackup...). */
  readonly binDir: string;
  /** A fresh database on this server: its URL. */
  readonly createDatabase: (name: string) => Promise<string>;
  /** Runs one of PostgreSQL's programs as the server's user. */
  readonly run: (program: string, args: readonly string[]) => string;
  /** Stops the server (mode `fast`, or `immediate` for a crash) and deletes its folder. */
  readonly stop: (mode?: "fast" | "immediate") => Promise<void>;
}

export interface ClusterOptions {
  /** Durable settings (fsync on): for the failover drill. Default: fsync off, as tests need no crash safety of the OS. */
  readonly durable?: boolean;
  /** Extra `postgresql.conf` lines. */
  readonly settings?: readonly string[];
  /** `pg_hba.conf` replication entry for loopback (for a standby). */
  readonly replication?: boolean;
}

/** Where Debian puts the server's programs (`/usr/lib/postgresql/<major>/bin`), newest major first. */
export function postgresBinDir(): string {
  const fromConfig = spawnSync("pg_config", ["--bindir"], { encoding: "utf8" });
  if (fromConfig.status === 0 && existsSync(join(fromConfig.stdout.trim(), "initdb")))
    return fromConfig.stdout.trim();
  const root = "/usr/lib/postgresql";
  const majors = existsSync(root)
    ? readdirSync(root)
        .filter((d) => existsSync(join(root, d, "bin", "initdb")))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (majors.length === 0) {
    throw new Error(
      "PostgreSQL's server programs are missing: install Debian's `postgresql` package (npm test's pretest does, as root)",
    );
  }
  return join(root, majors[0] as string, "bin");
}

const asRoot = (): boolean => process.getuid?.() === 0;

function runner(binDir: string): (program: string, args: readonly string[]) => string {
  return (program, args) => {
    const file = join(binDir, program);
    const [command, argv] = asRoot()
      ? ["runuser", ["-u", "postgres", "--", file, ...args]]
      : [file, [...args]];
    return execFileSync(command, argv, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  };
}

/** Makes a folder the server's user owns (as root: `postgres`). */
export function serverFolder(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  if (asRoot()) {
    const ids = execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim();
    const gid = execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim();
    chownSync(dir, Number(ids), Number(gid));
  }
  return dir;
}

/** Starts a server on a fresh cluster in a temporary folder (initdb + pg_ctl start: 2-4 s here). */
export async function startPostgres(options: ClusterOptions = {}): Promise<PostgresCluster> {
  const binDir = postgresBinDir();
  const run = runner(binDir);
  const root = serverFolder("parking-pg-");
  const dataDir = join(root, "data");
  run("initdb", ["-D", dataDir, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"]);
  const port = await freePort();
  const conf = [
    "listen_addresses = '127.0.0.1'",
    `port = ${port}`,
    `unix_socket_directories = '${root}'`,
    "max_connections = 200",
    options.durable ? "fsync = on" : "fsync = off",
    options.durable ? "" : "synchronous_commit = off",
    options.durable ? "" : "full_page_writes = off",
    ...(options.replication ? ["wal_level = replica", "max_wal_senders = 5"] : []),
    ...(options.settings ?? []),
  ].join("\n");
  writeFileSync(join(dataDir, "postgresql.auto.conf"), `${conf}\n`);
  if (options.replication) {
    writeFileSync(
      join(dataDir, "pg_hba.conf"),
      "local all all trust\nhost all all 127.0.0.1/32 trust\nhost replication all 127.0.0.1/32 trust\n",
    );
  }
  run("pg_ctl", ["-D", dataDir, "-l", join(root, "server.log"), "-w", "-t", "60", "start"]);
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  let stopped = false;
  return {
    url,
    port,
    dataDir,
    binDir,
    run,
    createDatabase: async (name) => {
      if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`not a plain database name: ${name}`);
      run("psql", ["-h", "127.0.0.1", "-p", String(port), "-U", "postgres", "-c", `CREATE DATABASE ${name}`]);
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    stop: async (mode = "fast") => {
      if (stopped) return;
      stopped = true;
      try {
        run("pg_ctl", ["-D", dataDir, "-m", mode, "-w", "-t", "60", "stop"]);
      } catch {
        // Already down (a test killed it): only the folder remains.
      }
      rmSync(root, { recursive: true, force: true });
    },
  };
}
