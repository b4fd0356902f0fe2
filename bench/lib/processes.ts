import { execFileSync, spawn } from "node:child_process";
import { appendFileSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { freePort, PROJECT_ROOT } from "../../test-support/process.js";
import { authorizeBenchService } from "./auth.js";

/**
 * Child processes of the benchmark: the real service (app/main.ts, as `npm run dev` runs it) and
 * the bare express ceiling server, each started the same way (node + tsx) so that they are
 * measured under the same conditions.
 */

export interface BenchChild {
  readonly label: string;
  readonly pid: number;
  readonly url: string;
  /** SIGTERM, wait for a graceful exit (bounded), SIGKILL if it does not come. */
  stop(): Promise<void>;
}

export interface SpawnOptions {
  readonly label: string;
  /** Script path relative to the project root. */
  readonly script: string;
  readonly env?: Record<string, string>;
  /** Run the script with plain node (a built .js), not through tsx. */
  readonly plainNode?: boolean;
  /** How often /healthz is asked during the start (50 ms unless said). */
  readonly pollMs?: number;
  /** Node's options for this child (before BENCH_CHILD_NODE_ARGS, which applies to every child). */
  readonly nodeArgs?: readonly string[];
}

export async function spawnNode(options: SpawnOptions): Promise<BenchChild> {
  const port = await freePort();
  // BENCH_CHILD_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/p": every child's every thread profiled
  // for its whole life (the processors' worker too, which --profile's window does not see).
  const extra = process.env.BENCH_CHILD_NODE_ARGS?.split(" ").filter(Boolean) ?? [];
  const loader = options.plainNode ? [] : ["--import", "tsx"];
  const args = [...loader, ...(options.nodeArgs ?? []), ...extra, options.script];
  const child = spawn(process.execPath, args, {
    cwd: PROJECT_ROOT,
    env: {
      ...process.env,
      NODE_ENV: "production",
      LOG_LEVEL: "warn",
      HOST: "127.0.0.1",
      // Load generators are one address and one operator token making thousands of requests a
      // second: the production abuse limits would measure themselves, not the service.
      RATE_LIMIT_PER_ADDRESS: "100000000",
      RATE_LIMIT_PER_PRINCIPAL: "100000000",
      ...options.env,
      PORT: String(port),
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  // BENCH_CHILD_OUTPUT=/tmp/out: every child's output also appended to /tmp/out.{label} (e.g.
  // with BENCH_CHILD_NODE_ARGS=--trace-gc, the collections of each thread).
  const tee = process.env.BENCH_CHILD_OUTPUT;
  const keep = (chunk: Buffer) => {
    if (tee) appendFileSync(`${tee}.${options.label}`, chunk);
    output += chunk.toString();
    if (output.length > 200_000) output = output.slice(-100_000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  let exitCode: number | string | undefined;
  const exited = new Promise<number | string>((resolve) =>
    child.once("exit", (code, signal) => {
      exitCode = code ?? signal ?? -1;
      resolve(exitCode);
    }),
  );
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 180_000;
  const stop = async () => {
    if (exitCode !== undefined) return;
    child.kill("SIGTERM");
    const code = await Promise.race([exited, sleep(30_000).then(() => undefined)]);
    if (code === undefined) {
      child.kill("SIGKILL");
      await exited;
    }
  };
  while (Date.now() < deadline) {
    if (exitCode !== undefined)
      throw new Error(`${options.label} exited during start (${exitCode}):\n${output}`);
    try {
      const response = await fetch(`${url}/healthz`);
      if (response.ok) {
        await response.arrayBuffer();
        return { label: options.label, pid: child.pid as number, url, stop };
      }
    } catch {
      // not listening yet
    }
    await sleep(options.pollMs ?? 50);
  }
  child.kill("SIGKILL");
  throw new Error(`${options.label} did not become healthy in time:\n${output}`);
}

/** The all-in-one service on the embedded stores under `dataDir`. */
export async function startService(
  dataDir: string,
  options: {
    env?: Record<string, string>;
    label?: string;
    nodeArgs?: readonly string[];
    /** Another checkout's service (its own app/main.ts, through tsx): code A against code B. */
    tree?: string;
  } = {},
): Promise<BenchChild> {
  const service = await spawnNode({
    label: options.label ?? "service",
    script: options.tree ? join(options.tree, "app/main.ts") : "app/main.ts",
    ...(options.nodeArgs ? { nodeArgs: options.nodeArgs } : {}),
    env: { ROLE: "all", DATA_DIR: dataDir, ...options.env },
  });
  await authorizeBenchService(service.url, dataDir);
  return service;
}

/** The bare express server that answers the reserve request without doing anything (the HTTP ceiling). */
export const startCeilingServer = (): Promise<BenchChild> =>
  spawnNode({ label: "ceiling", script: "bench/lib/ceiling-server.ts" });

/** A fresh data directory under the OS temp dir (a real disk here), removed by `remove`. */
export function benchDataDir(name: string): { readonly dir: string; readonly remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `parking-bench-${name}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Where the Emmett peer lives: its own package (own dependencies, own lock file). */
export const EMMETT_PEER_DIR = "bench/peers/emmett";

/**
 * Installs the Emmett peer's dependencies (npm ci in its folder) unless present: minutes on a
 * first run, sqlite3 compiles from source when no prebuilt binary can be downloaded.
 */
export function ensureEmmettPeerInstalled(): void {
  const dir = join(PROJECT_ROOT, EMMETT_PEER_DIR);
  if (existsSync(join(dir, "node_modules", "@event-driven-io", "emmett-sqlite"))) return;
  execFileSync("npm", ["ci", "--no-audit", "--no-fund"], {
    cwd: dir,
    stdio: ["ignore", "inherit", "inherit"],
  });
}

/** The Emmett peer (bench/peers/emmett/server.ts) on its own SQLite file under `dataDir`. */
export const startEmmettPeer = (dataDir: string, connection: string): Promise<BenchChild> =>
  spawnNode({
    label: "emmett",
    script: `${EMMETT_PEER_DIR}/server.ts`,
    env: { DATA_DIR: dataDir, EMMETT_CONNECTION: connection },
  });
