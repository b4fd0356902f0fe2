import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

interface TsxPackage {
  readonly exports: { readonly "./esm/api": { readonly import: { readonly default: string } } };
}

/**
 * How to start a worker thread on a module given as `./name.ts` relative to `base` (a module's
 * import.meta.url): the built .js beside it, or, running from source, the .ts through tsx's module
 * hooks registered inside the worker (Node 20 does not apply --import to worker threads).
 * Pass `code` and `eval` to `new Worker(code, { eval })`.
 */
export function workerSource(tsModule: string, base: string): { code: string | URL; eval: boolean } {
  const ts = new URL(tsModule, base);
  if (!existsSync(fileURLToPath(ts)))
    return { code: new URL(tsModule.replace(/\.ts$/, ".js"), base), eval: false };
  const require = createRequire(base);
  const tsxPackage = require.resolve("tsx/package.json");
  const exportsMap = (JSON.parse(readFileSync(tsxPackage, "utf8")) as TsxPackage).exports["./esm/api"].import
    .default;
  const api = pathToFileURL(join(dirname(tsxPackage), exportsMap)).href;
  return {
    code: `import(${JSON.stringify(api)}).then(({ register }) => { register(); return import(${JSON.stringify(ts.href)}); });`,
    eval: true,
  };
}
