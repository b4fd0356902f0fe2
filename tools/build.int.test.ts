import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

/**
 * The production build (dist/, built by this tier's global setup as `npm start` builds it) is a
 * bundle: a start loads a few files, not hundreds of modules (issue 50: start to healthy), and the
 * adapters of servers that are not configured stay out of what a start loads.
 */

const STATIC_IMPORT = /^\s*(?:import|export)\b[^("']*?(?:from\s*)?["'](\.{1,2}\/[^"']+)["']/gm;
// Of a module: bundled libraries' code also has `import("./x.d.ts")` in strings and comments.
const DYNAMIC_IMPORT = /\bimport\(\s*["'](\.{1,2}\/[^"']+\.js)["']\s*\)/g;

/** The project files a module reaches through its relative imports: static ones, and dynamic ones where asked. */
function reached(entry: string, options: { dynamic: boolean }): Set<string> {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const code = readFileSync(file, "utf8");
    const imports = [
      ...code.matchAll(STATIC_IMPORT),
      ...(options.dynamic ? code.matchAll(DYNAMIC_IMPORT) : []),
    ];
    for (const [, path] of imports) visit(resolve(dirname(file), path as string));
  };
  visit(entry);
  return seen;
}

/**
 * What a start of the service loads whatever its configuration: main.js's static imports, and the
 * server it imports (dynamically, once the configuration is read) with that one's static imports.
 */
function loadedAtStart(entry: string): Set<string> {
  const loaded = reached(entry, { dynamic: false });
  for (const [, path] of readFileSync(entry, "utf8").matchAll(DYNAMIC_IMPORT))
    for (const file of reached(resolve(dirname(entry), path as string), { dynamic: false })) loaded.add(file);
  return loaded;
}

const PROJECT_ROOT = fileURLToPath(new URL("..", import.meta.url));
const SERVICE_ENTRY = join(PROJECT_ROOT, "dist/app/main.js");
const WORKERS = ["processors-worker.js", "stall-watchdog-worker.js", "bulk-load-worker.js"];

/** What only a configured adapter needs: bare imports (tsc's output) or bundled sources (esbuild's). */
const ADAPTER_CODE =
  /from\s*["'](?:mongodb|@eventstore\/db-client|@opentelemetry\/exporter-trace-otlp[\w-]*)["']|node_modules\/(?:mongodb|@eventstore\/db-client|@opentelemetry\/exporter-trace-otlp)/;

describe("the production build", () => {
  it("loads the service from a few bundled files, its worker threads' modules beside it", () => {
    // Everything the service may ever load, configured adapters included (tsc's output: ~300 files).
    expect(reached(SERVICE_ENTRY, { dynamic: true }).size).toBeLessThanOrEqual(60);
    for (const worker of WORKERS) expect(existsSync(join(PROJECT_ROOT, "dist/app", worker))).toBe(true);
  });

  it("leaves the MongoDB, EventStoreDB and OTLP adapters out of what a start loads", () => {
    for (const entry of [SERVICE_ENTRY, join(PROJECT_ROOT, "dist/app/processors-worker.js")]) {
      for (const file of loadedAtStart(entry))
        expect(ADAPTER_CODE.test(readFileSync(file, "utf8")), file).toBe(false);
    }
  });
});
