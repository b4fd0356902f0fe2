import { randomBytes } from "node:crypto";
import {
  closeSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  unlinkSync,
  writeSync,
} from "node:fs";
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
  writeDurably(temporary, content());
  try {
    linkSync(temporary, file); // fails with EEXIST if another process won the race
    syncDirectory(dirname(file));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  } finally {
    unlinkSync(temporary);
  }
  return readFileSync(file, "utf8");
}

/**
 * The file's content on the disk before it is used: a key or secret the service signs or derives
 * ids with must survive what the stores survive (a file system that turns read-only, a power cut
 * soon after the first start), or tokens and idempotent retries break after it.
 */
function writeDurably(file: string, content: string): void {
  const fd = openSync(file, "wx", 0o600);
  try {
    writeSync(fd, content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** The directory's entries (a new name) on the disk too. */
function syncDirectory(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** A random secret kept in `file` (created on first use, mode 0600). */
export function secretFromFile(file: string): string {
  return createOnce(file, () => `${randomBytes(32).toString("base64url")}\n`).trim();
}
