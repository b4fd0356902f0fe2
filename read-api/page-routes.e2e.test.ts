import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningService } from "../app/server.js";
import { startTestService, tempDataDir } from "../test-support/service.js";
import { ensureWebBuilt } from "../test-support/web-build.js";

/** The page's routes over HTTP: content negotiation, the landing page, the bundle's assets. */

const data = tempDataDir("parking-page-routes-");
let service: RunningService;
const BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

beforeAll(async () => {
  await ensureWebBuilt();
  service = await startTestService(data.dir);
});

afterAll(async () => {
  await service?.shutdown("test done");
  data.remove();
});

const get = (path: string, accept?: string) =>
  fetch(`${service.url}${path}`, accept ? { headers: { accept } } : {});

describe("content negotiation", () => {
  it("answers a browser's /control-center with the page, and API clients with the JSON", async () => {
    const page = await get("/control-center", BROWSER_ACCEPT);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toContain("text/html");
    expect(page.headers.get("vary")).toContain("Accept");
    expect(page.headers.get("content-security-policy")).toContain("default-src 'self'");
    const html = await page.text();
    expect(html).toContain('<div id="app">');

    for (const accept of [undefined, "*/*", "application/json", "application/json, text/html;q=0.5"]) {
      const api = await get("/control-center", accept);
      expect(api.status, String(accept)).toBe(200);
      expect(api.headers.get("content-type"), String(accept)).toContain("application/json");
      expect(await api.json()).toHaveProperty("totals");
    }
  });

  it("serves the landing page at / linking the control center, the API docs and health", async () => {
    const landing = await get("/", BROWSER_ACCEPT);
    expect(landing.status).toBe(200);
    const html = await landing.text();
    for (const link of ['href="/control-center"', 'href="/docs"', 'href="/readyz"'])
      expect(html).toContain(link);

    const links = await get("/", "application/json");
    expect(await links.json()).toMatchObject({
      links: { controlCenter: "/control-center", docs: "/docs", health: "/healthz" },
    });
  });

  it("serves the bundle's assets from the service itself, cached by content hash", async () => {
    const html = await (await get("/control-center", BROWSER_ACCEPT)).text();
    const scripts = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1] as string);
    expect(scripts.some((s) => s.endsWith(".js"))).toBe(true);
    for (const asset of scripts) {
      const response = await get(asset);
      expect(response.status, asset).toBe(200);
      expect(response.headers.get("cache-control"), asset).toContain("immutable");
    }
    expect((await get("/assets/nothing-here.js")).status).toBe(404);
    expect(html).not.toMatch(/https?:\/\//);
  });
});
