import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningService } from "../app/server.js";
import { operatorHeaders } from "../test-support/auth.js";
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

/** As the test operator: the JSON control center needs the role; the page and assets need nothing. */
const get = async (path: string, accept?: string) =>
  fetch(`${service.url}${path}`, {
    headers: { ...(await operatorHeaders(data.dir)), ...(accept ? { accept } : {}) },
  });

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

  it("serves the page whatever its query: the way back from an OpenID Provider and 'sign in again' are the page's own", async () => {
    // The provider redirects the browser to /control-center?code=…&state=…&iss=…; the JSON's query
    // schema (limit, cursor, asOf, …) must not refuse it.
    for (const query of ["?code=abc&state=xyz&iss=https%3A%2F%2Fidp.example", "?again"]) {
      // Signed out (as a browser coming back from the provider is): the sign-in screen, which
      // finishes the sign-in; signed in: the page.
      const signedOut = await fetch(`${service.url}/control-center${query}`, {
        headers: { accept: BROWSER_ACCEPT },
      });
      expect(signedOut.status, query).toBe(401);
      expect(signedOut.headers.get("content-type"), query).toContain("text/html");
      const signedIn = await get(`/control-center${query}`, BROWSER_ACCEPT);
      expect(signedIn.status, query).toBe(200);
      expect(signedIn.headers.get("content-type"), query).toContain("text/html");
    }
    // The JSON still holds its query to the schema.
    const api = await get("/control-center?code=abc");
    expect(api.status).toBe(400);
    const problem = (await api.json()) as { errors?: { field?: string }[] };
    expect(problem.errors?.[0]?.field).toBe("query.code");
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
