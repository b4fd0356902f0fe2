import { parseArgs } from "node:util";
import { loadConfig } from "../platform/config.js";
import { restoreBackup } from "./backup/restore-backup.js";
import { runBackupCli } from "./backup/run-cli.js";

const USAGE = `Usage: npm run restore -- FILE

Restores a backup taken by \`npm run backup\` into DATA_DIR (default ./data), which must be empty
or not exist. The whole file is checked (every file's SHA-256 against the manifest) before
anything is written: a corrupt or truncated backup is refused. Then start the service on
DATA_DIR: it answers as the original did at the backup's position, and its read models catch up.
`;

async function main(): Promise<number> {
  let parsed: { positionals: string[]; values: { help?: boolean | undefined } };
  try {
    parsed = parseArgs({
      options: { help: { type: "boolean", short: "h" } },
      strict: true,
      allowPositionals: true,
    });
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const [file, ...rest] = parsed.positionals;
  if (parsed.values.help || !file || rest.length > 0) {
    (parsed.values.help ? process.stdout : process.stderr).write(USAGE);
    return parsed.values.help ? 0 : 2;
  }
  const config = loadConfig();
  process.stderr.write(`checking ${file}…\n`);
  const manifest = await restoreBackup(file, config.dataDir);
  process.stderr.write(
    `restored ${manifest.files.length} files into ${config.dataDir}: the log's head is at position ${manifest.headPosition ?? "(empty log)"} (backup of ${manifest.createdAt})\n`,
  );
  return 0;
}

runBackupCli("restore", main);
