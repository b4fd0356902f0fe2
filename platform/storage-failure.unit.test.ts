import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { storageFailureOf } from "./storage-failure.js";

describe("what a failed write says of the disk", () => {
  const dir = mkdtempSync(join(tmpdir(), "parking-storage-failure-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const failure = (code: string) => Object.assign(new Error(code), { code });

  it.each([
    ["SQLITE_FULL", "full"],
    ["ENOSPC", "full"],
    ["SQLITE_READONLY", "read-only"],
    ["SQLITE_READONLY_DBMOVED", "read-only"],
    ["EROFS", "read-only"],
  ])("%s → %s", (code, expected) => {
    expect(storageFailureOf(failure(code), dir)).toBe(expected);
  });

  it("an I/O error under a directory that still has room and takes writes is not a storage failure", () => {
    expect(storageFailureOf(failure("SQLITE_IOERR_WRITE"), dir)).toBeUndefined();
  });

  it("anything else is not one", () => {
    expect(storageFailureOf(failure("SQLITE_CONSTRAINT_UNIQUE"), dir)).toBeUndefined();
    expect(storageFailureOf(new Error("no code"), dir)).toBeUndefined();
    expect(storageFailureOf(undefined, dir)).toBeUndefined();
  });
});
