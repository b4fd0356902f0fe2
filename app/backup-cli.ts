import { parseArgs } from "node:util";
import { loadConfig } from "../platform/config.js";
import { runBackupCli } from "./backup/run-cli.js";
import { type BackupProgress, takeBackup } from "./backup/take-backup.js";

const USAGE = `Usage: npm run backup -- --out FILE

  --out   the backup file to write (a gzipped tar; it must not exist yet)

Takes a consistent backup of the embedded stores under DATA_DIR (default ./data) while the
service runs: the read models, the event log, and the files that belong with them (the signing
keys and secrets under auth/). Restore it with \`npm run restore -- FILE\` into an empty DATA_DIR.
With EVENTSTORE_URL or MONGODB_URL set, back those up with their own tools (docs/operations.md).
`;

const fmt = (n: number) => n.toLocaleString("en-US");

/** Progress on stderr: one line rewritten in place on a terminal, a line per file otherwise. */
function progressPrinter(): (progress: BackupProgress) => void {
  const tty = process.stderr.isTTY === true;
  let lastPath = "";
  let lastAt = 0;
  return ({ path, done, total }) => {
    const finished = done >= total;
    if (tty) {
      const now = Date.now();
      if (!finished && path === lastPath && now - lastAt < 200) return;
      lastAt = now;
      const pct = total > 0 ? ((100 * done) / total).toFixed(1) : "100.0";
      const unit = total > 1 ? `  ${fmt(done)} / ${fmt(total)} pages` : "";
      process.stderr.write(`\r\x1b[2K  ${path}  ${pct.padStart(5)}%${unit}${finished ? "\n" : ""}`);
    } else if (finished) {
      process.stderr.write(`  ${path} copied\n`);
    }
    lastPath = path;
  };
}

async function main(): Promise<number> {
  let values: { out?: string | undefined; help?: boolean | undefined };
  try {
    ({ values } = parseArgs({
      options: { out: { type: "string" }, help: { type: "boolean", short: "h" } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help || !values.out) {
    (values.help ? process.stdout : process.stderr).write(USAGE);
    return values.help ? 0 : 2;
  }
  const config = loadConfig();
  if (config.eventStoreUrl || config.mongodbUrl) {
    process.stderr.write(
      "EVENTSTORE_URL or MONGODB_URL is set: this command backs up the embedded stores only; back the servers up with their own tools (docs/operations.md, Backups).\n",
    );
    return 2;
  }
  process.stderr.write(`backing up ${config.dataDir} to ${values.out}…\n`);
  const started = Date.now();
  const manifest = await takeBackup(config.dataDir, values.out, progressPrinter());
  const bytes = manifest.files.reduce((sum, f) => sum + f.bytes, 0);
  process.stderr.write(
    `done in ${((Date.now() - started) / 1000).toFixed(1)} s: ${manifest.files.length} files, ${fmt(bytes)} bytes, log head at position ${manifest.headPosition ?? "(empty log)"}\n`,
  );
  return 0;
}

runBackupCli("backup", main);
