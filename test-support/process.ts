import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { registerServiceDataDir } from "./auth.js";

export const PROJECT_ROOT = fileURLToPath(new URL("..", import.meta.url));

/**
 * Suites send thousands of requests from one address with one operator token: the production
 * rate limits would refuse them. Tests of the limits themselves set their own.
 */
export const TEST_RATE_LIMITS = {
  RATE_LIMIT_PER_ADDRESS: "100000000",
  RATE_LIMIT_PER_PRINCIPAL: "100000000",
} as const;

/** A free loopback port, found by binding port 0 and releasing it. */
export async function freePort(): Promise<number> {
  const [port] = await freePorts(1);
  return port as number;
}

/**
 * `count` distinct free loopback ports: each bound on port 0 while the others are held, then all
 * released. Asked one after another, the kernel may hand out a port just released again, and two
 * processes meant for two slots would then take turns on one port.
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers = Array.from({ length: count }, () => createServer());
  const ports = await Promise.all(
    servers.map(
      (server) =>
        new Promise<number>((resolve, reject) => {
          server.once("error", reject);
          server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port));
        }),
    ),
  );
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

export interface ServiceProcess {
  readonly child: ChildProcess;
  readonly url: string;
  readonly output: () => string;
  /** Resolves with the exit code (or signal name) once the process has exited. */
  readonly exited: Promise<number | string>;
}

/**
 * How a test starts the service: the built entry point, as `npm start` runs it (dist/ is built
 * before the tiers that start processes: test-support/server-build.ts).
 */
export const SERVICE_ARGS: readonly string[] = ["dist/app/main.js"];

/** Starts the real service (built, see SERVICE_ARGS) as a child process and waits for /healthz. */
export async function spawnService(
  env: Record<string, string>,
  options: { readyTimeoutMs?: number } = {},
): Promise<ServiceProcess> {
  const port = env.PORT ? Number(env.PORT) : await freePort();
  const child = spawn(process.execPath, [...SERVICE_ARGS], {
    cwd: PROJECT_ROOT,
    env: {
      ...process.env,
      LOG_LEVEL: "warn",
      HOST: "127.0.0.1",
      ...TEST_RATE_LIMITS,
      ...env,
      PORT: String(port),
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | string>((resolve) =>
    child.once("exit", (code, signal) => resolve(code ?? signal ?? -1)),
  );
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (options.readyTimeoutMs ?? 30_000);
  let gone = false;
  void exited.then(() => (gone = true));
  while (Date.now() < deadline) {
    if (gone) throw new Error(`service exited during start:\n${output}`);
    try {
      const response = await fetch(`${url}/healthz`);
      if (response.ok) {
        if (env.DATA_DIR) registerServiceDataDir(url, env.DATA_DIR);
        return { child, url, output: () => output, exited };
      }
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill("SIGKILL");
  throw new Error(`service did not become healthy in time:\n${output}`);
}
