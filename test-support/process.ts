import { type ChildProcess, spawn } from "node:child_process";
import { createServer, type Server } from "node:net";
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
 * Ports this process has handed out. A port is released before its process binds it, so the
 * kernel may hand the same one to the next caller meanwhile: two services started at once would
 * then take turns on one port (seen: a query-api answering in a command-api's slot). Never handing
 * a port out twice rules that out within a test file's process.
 */
const handedOut = new Set<number>();

/** Binds `count` servers on port 0, each added to `held` (to close) before it binds; their ports. */
async function bound(count: number, held: Server[]): Promise<number[]> {
  const servers = Array.from({ length: count }, () => createServer());
  held.push(...servers);
  return Promise.all(
    servers.map(
      (server) =>
        new Promise<number>((resolve, reject) => {
          server.once("error", reject);
          server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port));
        }),
    ),
  );
}

/**
 * `count` distinct free loopback ports, none handed out before by this process: each bound on port
 * 0 while the others are held, then all released.
 */
export async function freePorts(count: number): Promise<number[]> {
  const held: Server[] = [];
  const ports: number[] = [];
  try {
    while (ports.length < count) {
      for (const port of await bound(count - ports.length, held)) if (!handedOut.has(port)) ports.push(port);
    }
  } finally {
    await Promise.all(held.map((server) => new Promise((resolve) => server.close(resolve))));
  }
  for (const port of ports) handedOut.add(port);
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
