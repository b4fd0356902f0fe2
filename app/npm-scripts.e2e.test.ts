import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../test-support/process.js";

/**
 * npm is not silenced for every command (no `loglevel=silent` in .npmrc): a mistyped script
 * prints npm's own error, and `npm ci` its progress. The token is printed alone on stdout by
 * `npm run -s token` (-s drops npm's script banner for that one command: the README says so).
 */
const run = promisify(execFile);

describe("npm as a developer types it", () => {
  it("a mistyped script prints npm's error and fails", async () => {
    await expect(run("npm", ["run", "tokne"], { cwd: PROJECT_ROOT })).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining('Missing script: "tokne"'),
    });
  });

  it("no .npmrc silences npm's own messages", () => {
    const npmrc = readFileSync(`${PROJECT_ROOT}/.npmrc`, "utf8");
    expect(npmrc).not.toMatch(/^\s*loglevel\s*=\s*silent/m);
  });

  it("`npm run -s token` with a wrong argument prints only the CLI's usage, on stderr", async () => {
    await expect(
      run("npm", ["run", "-s", "token", "--", "--role", "king", "--sub", "x"], { cwd: PROJECT_ROOT }),
    ).rejects.toMatchObject({
      code: 2,
      stdout: "",
      stderr: expect.stringContaining("Usage: npm run -s token"),
    });
  });
});
