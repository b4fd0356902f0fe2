import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signInLink } from "../test-support/browser.js";
import { startTestService, tempDataDir } from "../test-support/service.js";
import type { RunningService } from "./server.js";

/**
 * What a browser meets around the control-center page, over real HTTP: the icon without a token;
 * a reused sign-in link explained on a page with the command for a new one, the token never
 * echoed (nor in an API client's problem document); /docs readable on a phone, on the server it
 * was loaded from, operations before the problem catalogue.
 */
const data = tempDataDir("parking-around-page-");
let service: RunningService;

beforeAll(async () => {
  service = await startTestService(data.dir);
});
afterAll(async () => {
  await service?.shutdown("test done");
  data.remove();
});

const anonymous = (path: string, accept = "text/html") =>
  fetch(`${service.url}${path}`, { headers: { accept }, redirect: "manual" });

describe("around the page", () => {
  it("answers the favicon without a token", async () => {
    const icon = await anonymous("/favicon.ico", "image/*");
    expect(icon.status).toBe(200);
    expect(icon.headers.get("content-type")).toContain("image/svg+xml");
    expect(await icon.text()).toContain("<svg");
  });

  it("explains a reused sign-in link on a page with the command for a new one, never echoing the token", async () => {
    const link = await signInLink(data.dir, service.url, { role: "operator", sub: "ops-1" });
    const token = new URL(link).searchParams.get("token") ?? "";
    const used = await fetch(link, { headers: { accept: "text/html" }, redirect: "manual" });
    expect(used.status).toBe(200);

    const again = await fetch(link, {
      headers: { accept: "text/html,application/xhtml+xml" },
      redirect: "manual",
    });
    expect(again.status).toBe(401);
    expect(again.headers.get("content-type")).toContain("text/html");
    const page = await again.text();
    expect(page).toContain("already used");
    expect(page).toContain(`npm run -s token -- --role operator --sub ops-1 --sign-in-url ${service.url}`);
    expect(page).toContain('name="viewport"');
    expect(page).not.toContain(token);
    expect(page).not.toContain(token.slice(0, 40));

    // An API client gets the problem document, whose instance leaves the token out too.
    const json = await fetch(link, { headers: { accept: "application/json" } });
    expect(json.status).toBe(401);
    const problem = await json.text();
    expect(problem).toContain("/problems/sign-in-failed");
    expect(problem).not.toContain(token.slice(0, 40));
  });

  it("explains a sign-in link that lost its token on the same page, and to an API client as sign-in-failed", async () => {
    const page = await anonymous("/sign-in");
    expect(page.status).toBe(401);
    expect(page.headers.get("content-type")).toContain("text/html");
    expect(await page.text()).toContain("npm run -s token");
    const json = await anonymous("/sign-in", "application/json");
    expect(json.status).toBe(401);
    expect(await json.json()).toMatchObject({ type: "/problems/sign-in-failed" });
  });

  it("serves /docs readable on a phone, on the server it was loaded from, operations before the problem catalogue", async () => {
    const docs = await anonymous("/docs/");
    expect(docs.status).toBe(200);
    const html = await docs.text();
    expect(html).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">');
    expect(html).toContain('href="/favicon.ico"');

    const document = (await (await anonymous("/openapi.json", "application/json")).json()) as {
      info: { description: string };
      servers: { url: string; description: string }[];
      tags: { name: string; description: string }[];
    };
    expect(document.servers).toEqual([{ url: "/", description: expect.not.stringContaining("8080") }]);
    expect(document.info.description).not.toContain("| `");
    // The catalogue is the last tag's description: Swagger UI shows it after the operations.
    expect(document.tags.at(-1)?.name).toBe("documentation");
    expect(document.tags.at(-1)?.description).toContain("/problems/sign-in-failed");
  });
});
