import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** Every file under `dir` (a DATA_DIR: the databases with their -wal and -shm), by its path relative to `dir`. */
export function filesOf(dir: string): Record<string, Buffer> {
  const files: Record<string, Buffer> = {};
  const walk = (at: string) => {
    for (const entry of readdirSync(at, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(join(at, entry.name));
      else files[join(at, entry.name).slice(dir.length + 1)] = readFileSync(join(at, entry.name));
    }
  };
  walk(dir);
  return files;
}
