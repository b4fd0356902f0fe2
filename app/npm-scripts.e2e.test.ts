import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
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

  it("`npm run replay` refuses a DATA_DIR that holds no stores, naming it and creating nothing", async () => {
    const parent = mkdtempSync(join(tmpdir(), "replay-"));
    try {
      const missing = join(parent, "nowhere");
      const { EVENTSTORE_URL: _e, MONGODB_URL: _m, ...rest } = process.env;
      const env = { ...rest, DATA_DIR: missing };
      for (const args of [["status"], ["rebuild", "all"]]) {
        await expect(
          run("npm", ["run", "-s", "replay", "--", ...args], { cwd: PROJECT_ROOT, env }),
        ).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining(`DATA_DIR=${missing}`) });
        expect(existsSync(missing)).toBe(false);
      }
      // An existing but empty directory is refused the same way and stays empty.
      await expect(
        run("npm", ["run", "-s", "replay", "--", "status"], {
          cwd: PROJECT_ROOT,
          env: { ...env, DATA_DIR: parent },
        }),
      ).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining("No stores under DATA_DIR") });
      expect(readdirSync(parent)).toEqual([]);
    } finally {
      rmSync(parent, { recursive: true, force: true });
    }
  });
});
