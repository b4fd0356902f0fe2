/**
 * `npm run build` and the build before `npm start`: the server (tsc → dist/) and the
 * control-center page (vite → dist/web/). Each part is rebuilt only when one of its inputs is
 * newer than what it produced last time, so a start after a start costs a directory walk, not
 * half a minute of compiling. `--force` rebuilds everything.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const SKIPPED_DIRS = new Set(["node_modules", "dist", "data", ".git"]);

interface Part {
  readonly name: string;
  /** Files and directories whose change means the part must be built again. */
  readonly inputs: readonly string[];
  /** Written after a successful build; its time is when the part was last built. */
  readonly stamp: string;
  readonly build: () => Promise<void>;
}

const newestIn = (path: string): number => {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return readdirSync(path, { withFileTypes: true }).reduce(
    (latest, entry) =>
      SKIPPED_DIRS.has(entry.name) || entry.name.endsWith(".test.ts")
        ? latest
        : Math.max(latest, newestIn(join(path, entry.name))),
    stat.mtimeMs,
  );
};

const at = (...paths: string[]) => paths.map((path) => join(ROOT, path));

/** What tsc compiles for the server: the directories tsconfig.build.json includes. */
const serverSources = (): string[] =>
  (JSON.parse(readFileSync(join(ROOT, "tsconfig.build.json"), "utf8")) as { include: string[] }).include;

const SERVER: Part = {
  name: "server",
  // This file too: a dist/ built before a change of how it builds (the bundle) is built again.
  inputs: at(
    ...serverSources(),
    "tsconfig.json",
    "tsconfig.build.json",
    "package-lock.json",
    "tools/build.ts",
    "tools/generate-validators.ts",
  ),
  // tsconfig.build.json compiles incrementally into dist/ and keeps its state here.
  stamp: join(ROOT, "dist", ".tsbuildinfo"),
  build: async () => {
    await step("compiled the server (tsc)", async () => {
      const tsc = spawnSync(
        process.execPath,
        [join(ROOT, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"],
        {
          cwd: ROOT,
          stdio: "inherit",
        },
      );
      if (tsc.status !== 0) throw new Error(`tsc failed (exit ${tsc.status ?? tsc.signal})`);
    });
    await step("bundled it (esbuild)", bundle);
    await step("generated its validators (ajv)", async () => generateValidators());
  },
};

/**
 * Ajv's standalone validators of the service's schemas, beside the bundle (app/generated-validators.ts
 * loads them): a start then loads compiled functions instead of compiling schemas, ~0.45 s of it
 * (issue 50). Generated in a process of its own, which has compiled nothing else.
 */
function generateValidators(): void {
  const run = spawnSync(
    process.execPath,
    ["--import", "tsx", join(ROOT, "tools/generate-validators.ts"), BUNDLE_DIR],
    { cwd: ROOT, stdio: "inherit" },
  );
  if (run.status !== 0)
    throw new Error(`generating the validators failed (exit ${run.status ?? run.signal})`);
}

/**
 * The entry points of the production bundle, each with the threads it starts: the service and the
 * modules its worker threads run. They are written side by side into dist/app (with the chunks
 * they share), so `new URL("./x.js", import.meta.url)` of a bundled module finds its worker there,
 * and `../web/` the page.
 */
const BUNDLE_ENTRIES = {
  main: "app/main.ts",
  "processors-worker": "app/processors-worker.ts",
  "stall-watchdog-worker": "platform/stall-watchdog-worker.ts",
  "bulk-load-worker": "document-store/embedded/bulk-load-worker.ts",
} as const;
const BUNDLE_DIR = join(ROOT, "dist", "app");
/** What the last bundle wrote (removed before the next, so stale chunks do not pile up). */
const BUNDLE_MANIFEST = join(BUNDLE_DIR, ".bundle.json");

/**
 * Bundles the service over tsc's output of its entry points (esbuild): a start reads a few large
 * files instead of resolving and compiling hundreds of modules (3.4 s to healthy measured before,
 * most of it module loading; issue 50). Code split at dynamic imports, so the MongoDB,
 * EventStoreDB and OTLP adapters stay in chunks loaded only when configured. Kept outside the
 * bundle: the SQLite drivers (native, chosen at run time by platform/sqlite.ts),
 * swagger-ui-express (it serves swagger-ui-dist's files from beside its own) and OpenTelemetry
 * (see `external` below).
 */
async function bundle(): Promise<void> {
  const { build } = await import("esbuild");
  if (existsSync(BUNDLE_MANIFEST)) {
    for (const file of JSON.parse(readFileSync(BUNDLE_MANIFEST, "utf8")) as string[])
      rmSync(join(ROOT, file), { force: true });
  }
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: BUNDLE_ENTRIES,
    outdir: BUNDLE_DIR,
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node20",
    chunkNames: "[name]-[hash]",
    // OpenTelemetry's packages are CommonJS that platform/tracing.ts imports dynamically while
    // other bundled CommonJS (the SDK's own packages) require the same modules: split that way,
    // esbuild gives the dynamic import a chunk whose only export is `default`, so the named
    // imports are undefined (`defaultResource is not a function` at start with
    // OTEL_EXPORTER_OTLP_ENDPOINT set, issue 67). Kept outside, Node's own loader imports them,
    // as under tsx; they are loaded only when tracing is on (the API's few files otherwise).
    external: ["better-sqlite3", "better-sqlite3-13", "swagger-ui-express", "@opentelemetry/*"],
    // CommonJS dependencies inside an ES module bundle still call require().
    banner: {
      js: 'import { createRequire as __bundleRequire } from "node:module"; const require = __bundleRequire(import.meta.url);',
    },
    sourcemap: "linked",
    metafile: true,
    logLevel: "warning",
  });
  writeFileSync(BUNDLE_MANIFEST, JSON.stringify(Object.keys(result.metafile.outputs)));
}

const PAGE: Part = {
  name: "page",
  inputs: at("web", "schemas", "client", "package-lock.json"),
  stamp: join(ROOT, "dist", "web", ".built"),
  build: async () => {
    await step("built the control-center page (vite)", async () => {
      const { build } = await import("vite");
      await build({ configFile: join(ROOT, "web", "vite.config.ts"), logLevel: "warn" });
    });
  },
};

/**
 * One step of a part, said when it is done with its time: a first `npm start` is a couple of
 * minutes of building, and says what it does meanwhile (issue 67).
 */
async function step(done: string, run: () => Promise<void>): Promise<void> {
  const startedAt = Date.now();
  await run();
  process.stderr.write(`build: ${done} in ${((Date.now() - startedAt) / 1000).toFixed(1)} s\n`);
}

export const PARTS = { server: SERVER, page: PAGE } as const;

/** Builds a part unless its stamp is newer than every input; answers whether it built. */
export async function ensureBuilt(part: Part, options: { force?: boolean } = {}): Promise<boolean> {
  const builtAt = existsSync(part.stamp) ? statSync(part.stamp).mtimeMs : -1;
  if (!options.force && builtAt >= Math.max(...part.inputs.map(newestIn))) return false;
  const startedAt = Date.now();
  process.stderr.write(
    `build: ${part.name} is older than its sources: building (once; later starts skip it)\n`,
  );
  await part.build();
  mkdirSync(dirname(part.stamp), { recursive: true });
  // tsc writes its own stamp (the build info); touching it again is harmless.
  if (part !== SERVER || !existsSync(part.stamp)) writeFileSync(part.stamp, `${new Date().toISOString()}\n`);
  process.stderr.write(`build: ${part.name} built in ${((Date.now() - startedAt) / 1000).toFixed(1)} s\n`);
  return true;
}

async function main(argv: readonly string[]): Promise<void> {
  const force = argv.includes("--force");
  for (const part of [SERVER, PAGE]) {
    if (!(await ensureBuilt(part, { force }))) process.stderr.write(`build: ${part.name} up to date\n`);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`build failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}
