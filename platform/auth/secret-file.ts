import { randomBytes } from "node:crypto";
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

/**
 * Writes `content` to `file` (mode 0600) unless the file exists, atomically: processes starting
 * together on one directory all end up reading the one that won. Returns the file's content.
 */
export function createOnce(file: string, content: () => string): string {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  try {
    return readFileSync(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  const temporary = `${file}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`;
  writeFileSync(temporary, content(), { mode: 0o600, flag: "wx" });
  try {
    linkSync(temporary, file); // fails with EEXIST if another process won the race
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  } finally {
    unlinkSync(temporary);
  }
  return readFileSync(file, "utf8");
}

/** A random secret kept in `file` (created on first use, mode 0600). */
export function secretFromFile(file: string): string {
  return createOnce(file, () => `${randomBytes(32).toString("base64url")}\n`).trim();
}
