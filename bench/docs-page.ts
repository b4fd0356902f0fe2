/**
 * Issue 69's bar for /docs: milliseconds from navigating to an API reference page until every
 * operation of the service's OpenAPI document is listed on it (each operation's summary in the
 * page's text, shadow roots included), in Debian's Chromium, rounds alternating between variants:
 * Swagger UI reading the 3.1 document (/docs before), the same with only its version field set to
 * 3.0.3, the document converted to 3.0 (/docs now), and RapiDoc when installed. Each reads the
 * document from this script's server (gzip, as the service sends it), the bundle from node_modules;
 * a viewer whose package is not installed is left out (`--modules DIR` adds a node_modules folder
 * to look in, e.g. one where `npm install rapidoc` was run).
 *
 *   nice npx tsx bench/docs-page.ts                 # --rounds 5 (median and spread of each)
 */
import { existsSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { gzipSync } from "node:zlib";
import { Converter } from "@apiture/openapi-down-convert";
import { serviceAccess } from "../app/access.js";
import { openApiDocument } from "../app/surface/document.js";
import { launchBrowser } from "../test-support/browser.js";
import { PROJECT_ROOT } from "../test-support/process.js";
import { median } from "./lib/stats.js";

const { values } = parseArgs({
  options: { rounds: { type: "string", default: "5" }, modules: { type: "string", multiple: true } },
});
const ROUNDS = Number(values.rounds);
const MODULES = [join(PROJECT_ROOT, "node_modules"), ...(values.modules ?? [])];

interface Viewer {
  readonly name: string;
  /** The bundle's file in its package, served at /viewer.js. */
  readonly bundle: string;
  readonly css?: string;
  readonly page: (doc: string) => string;
}

const html = (head: string, body: string) =>
  `<!doctype html><html><head><meta charset="utf-8">${head}</head><body>${body}</body></html>`;
const swagger = (doc: string) =>
  html(
    '<link rel="stylesheet" href="/viewer.css">',
    `<div id="swagger-ui"></div><script src="/viewer.js"></script><script>SwaggerUIBundle({ url: "${doc}", dom_id: "#swagger-ui" });</script>`,
  );
const VIEWERS: readonly Viewer[] = [
  {
    name: "swagger-ui 3.1",
    bundle: "swagger-ui-dist/swagger-ui-bundle.js",
    css: "swagger-ui-dist/swagger-ui.css",
    page: () => swagger("/openapi.json"),
  },
  {
    name: "swagger-ui as 3.0",
    bundle: "swagger-ui-dist/swagger-ui-bundle.js",
    css: "swagger-ui-dist/swagger-ui.css",
    page: () => swagger("/openapi-3.0.json"),
  },
  {
    name: "swagger-ui converted",
    bundle: "swagger-ui-dist/swagger-ui-bundle.js",
    css: "swagger-ui-dist/swagger-ui.css",
    page: () => swagger("/openapi-converted.json"),
  },
  {
    name: "rapidoc",
    bundle: "rapidoc/dist/rapidoc-min.js",
    page: () =>
      html(
        '<script type="module" src="/viewer.js"></script>',
        '<rapi-doc spec-url="/openapi.json" render-style="focused"></rapi-doc>',
      ),
  },
];

const locate = (file: string): string | undefined =>
  MODULES.map((dir) => join(dir, file)).find((path) => existsSync(path));

/** A server of one viewer's page, its bundle and the document (gzip, as the service sends them). */
function serve(viewer: Viewer, document: string, converted: string): Promise<Server> {
  const doc = gzipSync(document);
  const doc30 = gzipSync(document.replace(/"openapi":"3\.1\.\d"/, '"openapi":"3.0.3"'));
  const files: Record<string, { type: string; body: Buffer }> = {
    "/": { type: "text/html", body: gzipSync(viewer.page("")) },
    "/openapi.json": { type: "application/json", body: doc },
    "/openapi-3.0.json": { type: "application/json", body: doc30 },
    "/openapi-converted.json": { type: "application/json", body: gzipSync(converted) },
    "/viewer.js": { type: "text/javascript", body: gzipSync(readFileSync(locate(viewer.bundle) ?? "")) },
    ...(viewer.css
      ? { "/viewer.css": { type: "text/css", body: gzipSync(readFileSync(locate(viewer.css) ?? "")) } }
      : {}),
  };
  const server = createServer((req, res) => {
    const file = files[new URL(req.url ?? "/", "http://x").pathname];
    if (!file) return res.writeHead(404).end();
    res.writeHead(200, { "content-type": file.type, "content-encoding": "gzip" }).end(file.body);
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

/** Every operation's summary in a page's text, shadow roots included: ms since navigation, or null. */
const LISTED = `(summaries) => {
  const text = (root) => [...root.querySelectorAll("*")].map((e) => (e.shadowRoot ? text(e.shadowRoot) : "")).join(" ") + " " + ((root.documentElement ?? root).textContent ?? "");
  const all = text(document);
  window.__missing = summaries.filter((s) => !all.includes(s));
  return window.__missing.length === 0 ? performance.now() : null;
}`;

async function main() {
  const document = JSON.stringify(openApiDocument(serviceAccess));
  const parsed = JSON.parse(document) as { paths: Record<string, Record<string, { summary?: string }>> };
  const summaries = Object.values(parsed.paths).flatMap((p) =>
    Object.values(p).flatMap((op) => (typeof op === "object" && op?.summary ? [op.summary] : [])),
  );
  const viewers = VIEWERS.filter((v) => locate(v.bundle));
  // What /docs reads since issue 69 (app/http-app.ts): the document converted to OpenAPI 3.0.
  const converted = JSON.stringify(new Converter(JSON.parse(document)).convert());
  console.log(
    `document ${(document.length / 1024).toFixed(0)} KB, ${summaries.length} operations; ${ROUNDS} rounds`,
  );
  const times = new Map<string, number[]>(viewers.map((v) => [v.name, []]));
  const browser = await launchBrowser();
  try {
    for (let round = 0; round < ROUNDS; round++)
      for (const viewer of viewers) {
        const server = await serve(viewer, document, converted);
        const page = await browser.context.newPage();
        const errors: string[] = [];
        page.on("pageerror", (e) => errors.push(e.message));
        page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
        await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
        const listed = await page
          .waitForFunction(`(${LISTED})(${JSON.stringify(summaries)})`, undefined, {
            polling: 25,
            timeout: 60_000,
          })
          .catch(async (error: unknown) => {
            const missing = (await page.evaluate("window.__missing")) as string[];
            console.log(viewer.name, "missing", missing.length, missing.slice(0, 3), errors);
            throw error;
          });
        times.get(viewer.name)?.push(Math.round(Number(await listed.jsonValue())));
        await page.close();
        server.close();
      }
  } finally {
    await browser.close();
  }
  for (const [name, ms] of times)
    console.log(
      `${name.padEnd(20)} median ${median(ms)} ms (${Math.min(...ms)}–${Math.max(...ms)}): ${ms.join(" · ")}`,
    );
}

await main();
