import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearer } from "../test-support/auth.js";
import { launchBrowser, type TestBrowser } from "../test-support/browser.js";
import {
  API_AUDIENCE,
  CLIENTS,
  PAGE_CLIENT,
  ROLE_MAP,
  startTestProvider,
  type TestProvider,
} from "../test-support/oidc-provider.js";
import { freePort, type ServiceProcess, spawnService } from "../test-support/process.js";
import { call, eventually, tempDataDir } from "../test-support/service.js";
import { ensureWebBuilt } from "../test-support/web-build.js";

/**
 * Setup messages that say what to set or do (issue 37 item 5), against a real OpenID provider
 * (oidc-provider) and the page in Chromium: a page whose sign-in names no API (no
 * PAGE_OIDC_AUDIENCE/PAGE_OIDC_RESOURCE, so the provider gives it an opaque token) says which
 * setting is missing, in the page and in the log at start; a sign-in canceled at the provider
 * says so and offers to try again; a provider that is down reads as that; a wrong AUTH_AUDIENCE
 * logs, once, the audience expected and the one the token carried, and its WWW-Authenticate
 * challenge keeps the quotes (escaped).
 */

let provider: TestProvider;
let service: ServiceProcess;
let browser: TestBrowser;
const dirs: { remove: () => void }[] = [];
const children: ServiceProcess[] = [];

const start = async (env: Record<string, string>) => {
  const data = tempDataDir("parking-sign-in-messages-");
  dirs.push(data);
  const child = await spawnService({ ...env, DATA_DIR: data.dir, PORT: String(await freePort()) });
  children.push(child);
  return child;
};

beforeAll(async () => {
  await ensureWebBuilt();
  const port = await freePort();
  provider = await startTestProvider({
    https: false,
    redirectUris: [`http://127.0.0.1:${port}/control-center`],
    opaqueWithoutResource: true,
  });
  const data = tempDataDir("parking-sign-in-messages-");
  dirs.push(data);
  // As an operator would set it for a provider that needs the API named, without naming it.
  service = await spawnService({
    AUTH_ISSUER: provider.issuer,
    AUTH_AUDIENCE: API_AUDIENCE,
    AUTH_ROLES_CLAIMS: "roles",
    AUTH_ROLE_MAP: ROLE_MAP,
    PAGE_OIDC_CLIENT_ID: PAGE_CLIENT,
    PAGE_OIDC_SCOPE: "openid api",
    DATA_DIR: data.dir,
    PORT: String(port),
  });
  children.push(service);
  browser = await launchBrowser();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  for (const child of children) {
    child.child.kill("SIGTERM");
    await child.exited;
  }
  await provider?.stop();
  for (const dir of dirs) dir.remove();
});

describe("setup messages that say what to set or do", () => {
  it("a sign-in canceled at the provider says it was canceled and offers to try again", async () => {
    const page = await browser.context.newPage();
    await page.goto(`${service.url}/control-center`);
    await page.locator("#oidc-button").click();
    await page.waitForURL((url) => url.href.startsWith(provider.issuer));
    await page.getByRole("link", { name: "[ Cancel ]" }).click();
    await page.waitForURL((url) => url.href.startsWith(`${service.url}/control-center`));
    const problem = page.locator("#oidc-problem");
    await expect.poll(() => problem.isVisible(), { timeout: 15_000 }).toBe(true);
    expect(await problem.innerText()).toBe(
      "The sign-in was canceled at the provider. Sign in again when you are ready.",
    );
    expect(await problem.getAttribute("data-canceled")).toBe("true");
    // Trying again goes straight back to the provider.
    await page.getByRole("button", { name: "Try signing in again" }).click();
    await page.waitForURL((url) => url.href.startsWith(provider.issuer));
    await page.close();
  });

  it("a page whose sign-in names no API says which setting is missing, in the page and at start in the log", async () => {
    expect(service.output()).toContain("PAGE_OIDC_AUDIENCE and PAGE_OIDC_RESOURCE are unset");
    const page = await browser.context.newPage();
    await page.goto(`${service.url}/control-center`);
    await page.locator("#oidc-button").click();
    await page.waitForURL((url) => url.href.startsWith(provider.issuer));
    await page.fill('input[name="login"]', "ops-1");
    await page.fill('input[name="password"]', "any password");
    await page.click('button[type="submit"]');
    await page.waitForURL(
      (url) => url.href.startsWith(service.url) || /\/interaction\/(?!.*login)/.test(url.pathname),
    );
    await page.waitForLoadState();
    if (page.url().startsWith(provider.issuer)) await page.click('button[type="submit"]');
    const problem = page.locator("#oidc-problem");
    await expect.poll(() => problem.isVisible(), { timeout: 15_000 }).toBe(true);
    const text = await problem.innerText();
    expect(text).toContain("PAGE_OIDC_AUDIENCE or PAGE_OIDC_RESOURCE is not set");
    expect(text).not.toContain("malformed");
    await page.close();
  });

  it("the provider down reads as 'cannot be reached; try again shortly', not 'Failed to fetch'", async () => {
    const page = await browser.context.newPage();
    await page.goto(`${service.url}/control-center`);
    await page.locator("#oidc-button").waitFor();
    await provider.stop();
    try {
      await page.locator("#oidc-button").click();
      const problem = page.locator("#oidc-problem");
      await expect.poll(() => problem.isVisible(), { timeout: 15_000 }).toBe(true);
      expect(await problem.innerText()).toBe(
        `The sign-in provider at ${provider.issuer} cannot be reached; try again shortly.`,
      );
    } finally {
      await provider.start();
    }
    await page.close();
  });

  it("a wrong AUTH_AUDIENCE logs once the audience expected and the one carried; the challenge keeps its quotes", async () => {
    const wrong = await start({
      AUTH_ISSUER: provider.issuer,
      AUTH_AUDIENCE: "https://api.parking.example",
      AUTH_ROLES_CLAIMS: "roles",
      AUTH_ROLE_MAP: ROLE_MAP,
      PAGE_OIDC_CLIENT_ID: PAGE_CLIENT,
      PAGE_OIDC_RESOURCE: "urn:parking-reservations:api",
    });
    const token = await provider.clientCredentials(CLIENTS.operatorRobot);
    for (let i = 0; i < 3; i++) {
      const refused = await call(wrong.url, "GET", "/reservations", undefined, bearer(token));
      expect(refused.status).toBe(401);
      expect(refused.headers.get("www-authenticate")).toBe(
        'Bearer realm="parking-reservations", error="invalid_token", error_description="the token\'s audience (aud) does not include the expected \\"https://api.parking.example\\"; it carries \\"parking-reservations\\""',
      );
    }
    const lines = await eventually(async () => {
      const found = wrong
        .output()
        .split("\n")
        .filter((line) => line.includes("a token was refused for its audience"));
      return found.length > 0 ? found : undefined;
    });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain("https://api.parking.example");
    expect(lines[0]).toContain("parking-reservations");
  });
});
