import { execFileSync, spawn } from "node:child_process";
import { appendFileSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { freePort, PROJECT_ROOT } from "../../test-support/process.js";
import { authorizeBenchService } from "./auth.js";

/**
 * Child processes of the benchmark: the real service, the Emmett peer and the bare express ceiling,
 * each run as compiled JavaScript on plain node, as a user runs a server: the service from its
 * production build (`node dist/app/main.js`, what `npm start` and the image run), the peer and the
 * ceiling each bundled by esbuild (their packages left to node_modules). None runs through tsx's
 * loader, whose source maps and module hooks a server in production does not carry.
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
  /** Bundle the TypeScript script with esbuild first and run the bundle with plain node. */
  readonly compiled?: boolean;
  /** How often /healthz is asked during the start (50 ms unless said). */
  readonly pollMs?: number;
  /** Node's options for this child (before BENCH_CHILD_NODE_ARGS, which applies to every child). */
  readonly nodeArgs?: readonly string[];
  /** The tree the script is run from (this project unless said: another checkout, to compare code). */
  readonly root?: string;
}

export async function spawnNode(options: SpawnOptions): Promise<BenchChild> {
  const port = await freePort();
  // BENCH_CHILD_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/p": every child's every thread profiled
  // for its whole life (the processors' worker too, which --profile's window does not see).
  const extra = process.env.BENCH_CHILD_NODE_ARGS?.split(" ").filter(Boolean) ?? [];
  const cwd = options.root ?? PROJECT_ROOT;
  const script = options.compiled ? await bundled(cwd, options.script) : options.script;
  const loader = options.plainNode || options.compiled ? [] : ["--import", "tsx"];
  const args = [...loader, ...(options.nodeArgs ?? []), ...extra, script];
  const child = spawn(process.execPath, args, {
    cwd,
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

/**
 * `script` (a TypeScript server under `root`) bundled by esbuild into `.bench-data/` beside it (left
 * out of git and the checks), so that its packages resolve from the same node_modules; the path of
 * the bundle, relative to `root`.
 */
async function bundled(root: string, script: string): Promise<string> {
  const { build } = await import("esbuild");
  const out = join(dirname(script), ".bench-data", `${basename(script, ".ts")}.mjs`);
  await build({
    entryPoints: [join(root, script)],
    outfile: join(root, out),
    bundle: true,
    packages: "external",
    platform: "node",
    format: "esm",
    target: `node${process.versions.node.split(".")[0]}`,
    logLevel: "warning",
  });
  return out;
}

/** The trees whose production build is known to be up to date (built once per bench process). */
const built = new Set<string>();

/** `npm run build`'s incremental build of the tree at `root` (nothing when it is up to date). */
function ensureProductionBuild(root: string): void {
  if (built.has(root)) return;
  execFileSync(process.execPath, ["--import", "tsx", "tools/build.ts"], {
    cwd: root,
    stdio: ["ignore", "ignore", "inherit"],
  });
  built.add(root);
}

/**
 * The all-in-one service on the embedded stores under `dataDir`: its production build, built
 * first if a source changed since (`source: true` runs app/main.ts through tsx instead: a CPU
 * profile's stages are told apart by the source file of each frame, which the bundle's chunks
 * do not keep).
 */
export async function startService(
  dataDir: string,
  options: {
    env?: Record<string, string>;
    label?: string;
    nodeArgs?: readonly string[];
    root?: string;
    source?: boolean;
  } = {},
): Promise<BenchChild> {
  if (!options.source) ensureProductionBuild(options.root ?? PROJECT_ROOT);
  const service = await spawnNode({
    label: options.label ?? "service",
    script: options.source ? "app/main.ts" : "dist/app/main.js",
    plainNode: !options.source,
    ...(options.nodeArgs ? { nodeArgs: options.nodeArgs } : {}),
    ...(options.root ? { root: options.root } : {}),
    env: { ROLE: "all", DATA_DIR: dataDir, ...options.env },
  });
  await authorizeBenchService(service.url, dataDir);
  return service;
}

/** The bare express server that answers the reserve request without doing anything (the HTTP ceiling). */
export const startCeilingServer = (): Promise<BenchChild> =>
  spawnNode({ label: "ceiling", script: "bench/lib/ceiling-server.ts", compiled: true });

/** A fresh data directory under the OS temp dir (a real disk here), removed by `remove`. */
export function benchDataDir(name: string): { readonly dir: string; readonly remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `parking-bench-${name}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Where the Emmett peers live: each its own package (own dependencies, own lock file). */
export const EMMETT_PEER_DIR = "bench/peers/emmett";
export const EMMETT_POSTGRES_PEER_DIR = "bench/peers/emmett-postgresql";

/**
 * Installs an Emmett peer's dependencies (npm ci in its folder) unless present: minutes on a
 * first run of the SQLite peer, whose sqlite3 compiles from source when no prebuilt binary can be
 * downloaded.
 */
export function ensureEmmettPeerInstalled(peerDir = EMMETT_PEER_DIR, marker = "emmett-sqlite"): void {
  const dir = join(PROJECT_ROOT, peerDir);
  if (existsSync(join(dir, "node_modules", "@event-driven-io", marker))) return;
  execFileSync("npm", ["ci", "--no-audit", "--no-fund"], {
    cwd: dir,
    stdio: ["ignore", "inherit", "inherit"],
  });
}

/** The Emmett peer on PostgreSQL (bench/peers/emmett-postgresql/server.ts), on the database at `url`. */
export function startEmmettPostgresPeer(url: string): Promise<BenchChild> {
  ensureEmmettPeerInstalled(EMMETT_POSTGRES_PEER_DIR, "emmett-postgresql");
  return spawnNode({
    label: "emmett-postgresql",
    script: `${EMMETT_POSTGRES_PEER_DIR}/server.ts`,
    compiled: true,
    env: { EMMETT_POSTGRES_URL: url },
  });
}

/** The Emmett peer (bench/peers/emmett/server.ts) on its own SQLite file under `dataDir`. */
export const startEmmettPeer = (dataDir: string, connection: string): Promise<BenchChild> =>
  spawnNode({
    label: "emmett",
    script: `${EMMETT_PEER_DIR}/server.ts`,
    compiled: true,
    env: { DATA_DIR: dataDir, EMMETT_CONNECTION: connection },
  });
