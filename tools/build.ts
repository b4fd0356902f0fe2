/**
 * `npm run build` and the build before `npm start`: the server (tsc → dist/) and the
 * control-center page (vite → dist/web/). Each part is rebuilt only when one of its inputs is
 * newer than what it produced last time, so a start after a start costs a directory walk, not
 * half a minute of compiling. `--force` rebuilds everything.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
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
  inputs: at(...serverSources(), "tsconfig.json", "tsconfig.build.json", "package-lock.json"),
  // tsconfig.build.json compiles incrementally into dist/ and keeps its state here.
  stamp: join(ROOT, "dist", ".tsbuildinfo"),
  build: async () => {
    const tsc = spawnSync(
      process.execPath,
      [join(ROOT, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"],
      {
        cwd: ROOT,
        stdio: "inherit",
      },
    );
    if (tsc.status !== 0) throw new Error(`tsc failed (exit ${tsc.status ?? tsc.signal})`);
  },
};

const PAGE: Part = {
  name: "page",
  inputs: at("web", "schemas", "client", "package-lock.json"),
  stamp: join(ROOT, "dist", "web", ".built"),
  build: async () => {
    const { build } = await import("vite");
    await build({ configFile: join(ROOT, "web", "vite.config.ts"), logLevel: "warn" });
  },
};

export const PARTS = { server: SERVER, page: PAGE } as const;

/** Builds a part unless its stamp is newer than every input; answers whether it built. */
export async function ensureBuilt(part: Part, options: { force?: boolean } = {}): Promise<boolean> {
  const builtAt = existsSync(part.stamp) ? statSync(part.stamp).mtimeMs : -1;
  if (!options.force && builtAt >= Math.max(...part.inputs.map(newestIn))) return false;
  const startedAt = Date.now();
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
