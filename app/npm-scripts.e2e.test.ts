import { execFile, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { freePort, PROJECT_ROOT } from "../test-support/process.js";

/**
 * npm is not silenced for every command (no `loglevel=silent` in .npmrc): a mistyped script
 * prints npm's own error, and `npm ci` its progress. The token is printed alone on stdout by
 * `npm run -s token` (-s drops npm's script banner for that one command: the README says so).
 */
const run = promisify(execFile);

/** The pid of the `node dist/app/main.js` process among `pid`'s descendants. */
function serviceUnder(pid: number): number {
  const rows = execFileSync("ps", ["-eo", "pid=,ppid=,args="], { encoding: "utf8" })
    .split("\n")
    .map((line) => /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(line))
    .filter((match) => match !== null)
    .map(([, child, parent, args]) => ({ pid: Number(child), parent: Number(parent), args: args as string }));
  const under = new Set([pid]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const row of rows)
      if (under.has(row.parent) && !under.has(row.pid)) {
        under.add(row.pid);
        grew = true;
      }
  }
  const service = rows.find((row) => under.has(row.pid) && /^\S*node dist\/app\/main\.js/.test(row.args));
  if (!service) throw new Error(`no node dist/app/main.js under npm (${pid})`);
  return service.pid;
}

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

  it("a SIGTERM to the `npm start` process stops the service, exit 0", async () => {
    // (That the image runs the same command: deploy/deploy-files.int.test.ts.)
    const dataDir = mkdtempSync(join(tmpdir(), "npm-start-"));
    const port = await freePort();
    const { EVENTSTORE_URL: _e, MONGODB_URL: _m, ...rest } = process.env;
    const npm = spawn("npm", ["start"], {
      cwd: PROJECT_ROOT,
      env: { ...rest, PORT: String(port), DATA_DIR: dataDir, LOG_LEVEL: "warn" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    npm.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    npm.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | string>((resolve) =>
      npm.once("close", (code, signal) => resolve(code ?? signal ?? -1)),
    );
    let service: number | undefined;
    try {
      for (let ready = false; !ready; await sleep(100)) {
        if (npm.exitCode !== null) throw new Error(`npm start exited:\n${output}`);
        ready = await fetch(`http://127.0.0.1:${port}/readyz`).then(
          (r) => r.ok,
          () => false,
        );
      }
      // The service's node process, wherever it is under npm (with a shell in between, it outlived npm).
      service = serviceUnder(npm.pid as number);
      // Ready, it says where to go and how to mint a token.
      expect(output).toContain(`listening on http://localhost:${port}`);
      expect(output).toContain("npm run -s token -- --role operator");
      npm.kill("SIGTERM");
      expect(await Promise.race([exited, sleep(20_000).then(() => "still running")])).toBe(0);
      const alive = (pid: number) => {
        try {
          process.kill(pid, 0);
          return true;
        } catch {
          return false;
        }
      };
      expect(alive(service)).toBe(false);
    } finally {
      npm.kill("SIGKILL");
      if (service !== undefined) {
        try {
          process.kill(service, "SIGKILL");
        } catch {
          // already gone
        }
      }
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
