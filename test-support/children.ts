import { type ChildProcess, spawn } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { registerServiceDataDir } from "./auth.js";
import { freePort, PROJECT_ROOT, SERVICE_ARGS, TEST_RATE_LIMITS } from "./process.js";

/**
 * Child processes for crash and role tests: started without waiting (so a test can watch them
 * from their first moment), tracked so that `killChildren()` in afterEach/afterAll SIGKILLs every
 * leftover, and killable as a whole process group when they were started through npx.
 */
export interface Child {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly output: () => string;
  /** Resolves with the exit code, or the signal name, once the process (group leader) has exited. */
  readonly exited: Promise<number | string>;
  readonly hasExited: () => boolean;
  /** Sends a signal to the process, or to its whole process group when it was started detached. */
  readonly signal: (signal: NodeJS.Signals) => void;
}

export interface ServiceChild extends Child {
  readonly url: string;
}

const running = new Set<Child>();

function start(
  command: string,
  args: readonly string[],
  env: Record<string, string>,
  options: { readonly group: boolean },
): Child {
  const child = spawn(command, args, {
    cwd: PROJECT_ROOT,
    env: { ...process.env, LOG_LEVEL: "warn", ...TEST_RATE_LIMITS, ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: options.group,
  });
  if (child.pid === undefined) throw new Error(`could not start ${command} ${args.join(" ")}`);
  const pid = child.pid;
  let output = "";
  let gone = false;
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | string>((resolve) =>
    child.once("exit", (code, signal) => {
      gone = true;
      resolve(code ?? signal ?? -1);
    }),
  );
  const handle: Child = {
    child,
    pid,
    output: () => output,
    exited,
    hasExited: () => gone,
    signal: (signal) => {
      try {
        if (options.group) process.kill(-pid, signal);
        else if (!gone) child.kill(signal);
      } catch {
        // already gone
      }
    },
  };
  running.add(handle);
  void exited.then(() => {
    running.delete(handle);
    // A group leader (npx) that exited may leave members behind (tsx, node): they are ours, end them.
    if (options.group) {
      try {
        process.kill(-pid, "SIGKILL");
      } catch {
        // none left
      }
    }
  });
  return handle;
}

/** Starts the service (built, as `npm start` runs it: SERVICE_ARGS) with `env` (DATA_DIR, ROLE, …) on a free port; does not wait. */
export async function startServiceChild(env: Record<string, string>): Promise<ServiceChild> {
  const port = env.PORT ? Number(env.PORT) : await freePort();
  const child = start(
    process.execPath,
    [...SERVICE_ARGS],
    { HOST: "127.0.0.1", ...env, PORT: String(port) },
    { group: false },
  );
  const url = `http://127.0.0.1:${port}`;
  if (env.DATA_DIR) registerServiceDataDir(url, env.DATA_DIR);
  return { ...child, url };
}

/** Waits for /healthz of a service child; throws with its output if it exits or takes too long. */
export async function waitHealthy(service: ServiceChild, timeoutMs = 30_000): Promise<ServiceChild> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (service.hasExited()) throw new Error(`service exited during start:\n${service.output()}`);
    try {
      const response = await fetch(`${service.url}/healthz`);
      if (response.ok) return service;
    } catch {
      // not listening yet
    }
    await sleep(50);
  }
  throw new Error(`service did not become healthy within ${timeoutMs} ms:\n${service.output()}`);
}

/** Starts a role and waits until it answers /healthz. */
export async function spawnRole(env: Record<string, string>, timeoutMs = 30_000): Promise<ServiceChild> {
  return waitHealthy(await startServiceChild(env), timeoutMs);
}

/**
 * `npx tsx app/replay-cli.ts …args` in its own process group (npx → tsx → node), so that
 * `signal("SIGKILL")` kills the whole tree like `kill -9` of the job would.
 */
export function spawnReplayCli(args: readonly string[], env: Record<string, string>): Child {
  return start("npx", ["tsx", "app/replay-cli.ts", ...args], env, { group: true });
}

/** Resolves with the exit code or signal, or throws (with the output) after `timeoutMs`. */
export async function exitOf(child: Child, timeoutMs: number): Promise<number | string> {
  const result = await Promise.race([child.exited, sleep(timeoutMs).then(() => "timeout" as const)]);
  if (result === "timeout")
    throw new Error(`process ${child.pid} did not exit within ${timeoutMs} ms:\n${child.output()}`);
  return result;
}

/** SIGKILLs every child (and process group) this module started that may still run, and waits for them. */
export async function killChildren(): Promise<void> {
  const all = [...running];
  running.clear();
  for (const c of all) c.signal("SIGKILL");
  await Promise.all(all.map((c) => Promise.race([c.exited, sleep(5_000)])));
}

/** Starts the webhook receiver (test-support/webhook-receiver.ts) on `port`, recording to `recordFile`. */
export async function startWebhookReceiver(port: number, recordFile: string): Promise<ServiceChild> {
  const child = start(
    process.execPath,
    ["--import", "tsx", "test-support/webhook-receiver.ts"],
    { PORT: String(port), RECORD_FILE: recordFile },
    { group: false },
  );
  const deadline = Date.now() + 20_000;
  while (!child.output().includes("listening")) {
    if (child.hasExited() || Date.now() > deadline)
      throw new Error(`receiver did not start:\n${child.output()}`);
    await sleep(20);
  }
  return { ...child, url: `http://127.0.0.1:${port}` };
}
