import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBrowser, type TestBrowser } from "../test-support/browser.js";
import {
  API_AUDIENCE,
  PAGE_CLIENT,
  RESOURCE,
  ROLE_MAP,
  startTestProvider,
  type TestProvider,
} from "../test-support/oidc-provider.js";
import { freePorts, type ServiceProcess, spawnService } from "../test-support/process.js";
import { tempDataDir } from "../test-support/service.js";
import { ensureWebBuilt } from "../test-support/web-build.js";

/**
 * Two service processes on one DATA_DIR (one session store) behind the page, against a provider
 * that rotates refresh tokens and revokes the grant when one is used twice (as Auth0, Okta and
 * Keycloak do): the page's reads, three at once and spread over both replicas, keep the session
 * alive through ten renewals, each done once (issue 37: 3 of 3 sessions used to be lost); and
 * sign-out ends the provider's session too (RP-initiated logout).
 */
describe("page sessions at a provider, across replicas", () => {
  const data = tempDataDir("parking-session-replicas-");
  let provider: TestProvider;
  let replicas: ServiceProcess[] = [];
  let browser: TestBrowser;

  beforeAll(async () => {
    await ensureWebBuilt();
    const ports = await freePorts(2);
    // Access tokens of 4 s: a session renews every 2 s or so (at half its token's life).
    provider = await startTestProvider({
      redirectUris: ports.map((port) => `http://127.0.0.1:${port}/control-center`),
      accessTokenTtlSeconds: 4,
    });
    const env = {
      AUTH_ISSUER: provider.issuer,
      AUTH_AUDIENCE: API_AUDIENCE,
      AUTH_ROLES_CLAIMS: "roles",
      AUTH_ROLE_MAP: ROLE_MAP,
      PAGE_OIDC_CLIENT_ID: PAGE_CLIENT,
      PAGE_OIDC_SCOPE: "openid api",
      PAGE_OIDC_RESOURCE: RESOURCE,
      DATA_DIR: data.dir,
    };
    // One after the other: the first creates the stores the second opens.
    for (const port of ports) replicas.push(await spawnService({ ...env, PORT: String(port) }));
    browser = await launchBrowser();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    for (const replica of replicas) replica.child.kill("SIGTERM");
    await Promise.all(replicas.map((r) => r.exited));
    replicas = [];
    await provider?.stop();
    data.remove();
  });

  /** Signs in on the page of `service` at the provider's login form, back to the control center. */
  async function signIn(page: Page, service: ServiceProcess) {
    // A browser the provider does not know yet (each test starts from its login form).
    await browser.context.clearCookies();
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
    await page.waitForURL(`${service.url}/control-center`);
    await page.locator("form.sign-out button").waitFor();
  }

  it("a page session survives ten renewals under refresh-token rotation with reuse detection", async () => {
    const [first, second] = replicas as [ServiceProcess, ServiceProcess];
    const page = await browser.context.newPage();
    await signIn(page, first);
    const cookie = (await browser.context.cookies()).find((c) => c.name === "parking_session");
    expect(cookie).toBeDefined();
    // The page is left: the test's reads are the only ones (the page's own would count too, but
    // its stream reconnects on a schedule of its own).
    await page.goto("about:blank");

    const headers = { cookie: `parking_session=${cookie?.value}`, accept: "application/json" };
    const reads = ["/control-center", "/reservations?limit=5", "/parking-lots?limit=5"];
    const start = provider.refreshes.renewed;
    const failures: string[] = [];
    let rounds = 0;
    while (provider.refreshes.renewed - start < 10 && failures.length === 0) {
      rounds++;
      // The page's three reads at once, over both replicas (which one gets which alternates).
      const answers = await Promise.all(
        reads.map(async (path, i) => {
          const base = (i + rounds) % 2 === 0 ? first.url : second.url;
          const response = await fetch(`${base}${path}`, { headers });
          return { path, base, status: response.status, body: await response.text() };
        }),
      );
      for (const a of answers)
        if (a.status !== 200) failures.push(`${a.base}${a.path}: ${a.status} ${a.body.slice(0, 200)}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(failures).toEqual([]);
    expect(provider.refreshes.renewed - start).toBeGreaterThanOrEqual(10);
    // Every renewal spent its refresh token once: the provider never saw one used twice.
    expect(provider.refreshes.refused).toBe(0);
    await page.close();
  }, 180_000);

  it("sign-out ends the provider's session too: the next 'Sign in' asks for the password again", async () => {
    const [first] = replicas as [ServiceProcess];
    const page = await browser.context.newPage();
    await signIn(page, first);
    await page.locator("form.sign-out button").click();
    // The service ends its session and sends the browser to the provider's end_session_endpoint
    // (id_token_hint, post_logout_redirect_uri); the provider asks to confirm, then comes back.
    await page.waitForURL((url) => url.href.startsWith(provider.issuer));
    expect(new URL(page.url()).pathname).toMatch(/session\/end/);
    const confirm = page.locator('button[name="logout"], button[type="submit"]').first();
    await confirm.click();
    await page.waitForURL(`${first.url}/control-center`);
    await page.locator("#oidc-button").waitFor();
    expect((await browser.context.cookies()).find((c) => c.name === "parking_session")).toBeUndefined();
    // The next person at this console: the provider has no session for the browser any more.
    await page.locator("#oidc-button").click();
    await page.waitForURL((url) => url.href.startsWith(provider.issuer));
    await page.locator('input[name="password"]').waitFor();
    await page.close();
  }, 120_000);
});
