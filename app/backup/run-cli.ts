import { ConfigError } from "../../platform/config.js";
import { BackupError } from "./backup-manifest.js";

/**
 * Runs a backup command's `main` and exits with its code: a refusal it expects (a configuration or
 * backup error) is one line naming the command, anything else its stack.
 */
export function runBackupCli(name: string, main: () => Promise<number>): void {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      const known = error instanceof ConfigError || error instanceof BackupError;
      const text = known
        ? (error as Error).message
        : error instanceof Error
          ? (error.stack ?? error.message)
          : String(error);
      process.stderr.write(`${name}: ${text}\n`);
      process.exit(1);
    },
  );
}
