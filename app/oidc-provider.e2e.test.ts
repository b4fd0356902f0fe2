import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ANONYMOUS, bearer } from "../test-support/auth.js";
import { launchBrowser, type TestBrowser } from "../test-support/browser.js";
import {
  API_AUDIENCE,
  CLIENTS,
  PAGE_CLIENT,
  RESOURCE,
  ROLE_MAP,
  startTestProvider,
  type TestProvider,
} from "../test-support/oidc-provider.js";
import { freePort, type ServiceProcess, spawnService } from "../test-support/process.js";
import { call, eventually, startTestService, tempDataDir } from "../test-support/service.js";
import { ensureWebBuilt } from "../test-support/web-build.js";
import type { RunningService } from "./server.js";

/**
 * The service against a certified OpenID Provider (`oidc-provider`), the stand-in for Keycloak,
 * Auth0, Entra ID and Okta, over http and over https (a throwaway certificate the service trusts
 * through NODE_EXTRA_CA_CERTS, as an operator would a private CA): tokens by client credentials
 * and by Authorization Code with PKCE through the control-center page in Chromium, a customer
 * whose `sub` is `auth0|customer-7`, roles under the provider's own names, key rotation, an
 * outage, refresh and its end, and the misconfigurations that used to fail quietly.
 */

/** What an operator sets for this provider (docs/operations.md, "Any OpenID provider"). */
const providerEnv = (provider: TestProvider): Record<string, string> => ({
  AUTH_ISSUER: provider.issuer,
  AUTH_AUDIENCE: API_AUDIENCE,
  AUTH_ROLES_CLAIMS: "roles",
  AUTH_ROLE_MAP: ROLE_MAP,
  PAGE_OIDC_CLIENT_ID: PAGE_CLIENT,
  PAGE_OIDC_SCOPE: "openid api",
  PAGE_OIDC_RESOURCE: RESOURCE,
});

interface Setup {
  readonly provider: TestProvider;
  readonly service: ServiceProcess;
  readonly browser: TestBrowser;
  readonly remove: () => void;
}

async function setUp(
  https: boolean,
  accessTokenTtlSeconds: number,
  variant: { host?: "localhost"; env?: (provider: TestProvider) => Record<string, string> } = {},
): Promise<Setup> {
  const data = tempDataDir(`parking-oidc-${https ? "https" : "http"}-`);
  const port = await freePort();
  const provider = await startTestProvider({
    https,
    redirectUris: [`http://127.0.0.1:${port}/control-center`],
    accessTokenTtlSeconds,
    ...(variant.host ? { host: variant.host } : {}),
  });
  const env: Record<string, string> = {
    ...(variant.env ? variant.env(provider) : providerEnv(provider)),
    DATA_DIR: data.dir,
    PORT: String(port),
  };
  if (provider.certificate) {
    const file = join(data.dir, "provider-ca.pem");
    writeFileSync(file, provider.certificate);
    env.NODE_EXTRA_CA_CERTS = file;
  }
  // The processors in the request thread: what these tests exercise (sign-in, tokens, keys) does
  // not depend on where they run, and a worker thread would load the whole service a second time.
  env.PROCESSORS_THREAD = "main";
  // Both at once, so the service gets the time of two starts (they share the cores).
  const [service, browser] = await Promise.all([
    spawnService(env, { readyTimeoutMs: 60_000 }),
    launchBrowser({ ignoreHTTPSErrors: https }),
  ]);
  return {
    provider,
    service,
    browser,
    remove: () => {
      data.remove();
    },
  };
}

async function tearDown(setup: Setup | undefined) {
  if (!setup) return;
  await setup.browser.close();
  setup.service.child.kill("SIGTERM");
  await setup.service.exited;
  await setup.provider.stop();
  setup.remove();
}

/** The operator signs in on the page: the provider's login form, and back to the control center. */
async function signInThroughPage(page: Page, setup: Setup, login: string) {
  await page.goto(`${setup.service.url}/control-center`);
  await page.locator("#oidc-button").click();
  await page.waitForURL((url) => url.href.startsWith(setup.provider.issuer));
  await page.fill('input[name="login"]', login);
  await page.fill('input[name="password"]', "any password");
  await page.click('button[type="submit"]');
  // Then the provider's consent screen (the page asks for openid and the API's scope): continue.
  await page.waitForURL(
    (url) => url.href.startsWith(setup.service.url) || /\/interaction\/(?!.*login)/.test(url.pathname),
  );
  await page.waitForLoadState();
  if (page.url().startsWith(setup.provider.issuer)) await page.click('button[type="submit"]');
  await page.waitForURL(`${setup.service.url}/control-center`);
}

const problemOf = (answer: { body: Record<string, unknown>; headers: Headers }) => ({
  detail: answer.body.detail,
  challenge: answer.headers.get("www-authenticate"),
});

describe.each([
  { scheme: "http", https: false },
  { scheme: "https", https: true },
])("oidc-provider over $scheme", ({ https }) => {
  let setup: Setup;
  beforeAll(async () => {
    await ensureWebBuilt();
    setup = await setUp(https, 60);
  }, 120_000);
  afterAll(() => tearDown(setup));

  it("client credentials: an operator robot registers a lot; customer auth0|customer-7 books and reads their coupons", async () => {
    const base = setup.service.url;
    const operator = bearer(await setup.provider.clientCredentials(CLIENTS.operatorRobot));
    const customer = bearer(await setup.provider.clientCredentials(CLIENTS.customer7));
    // Any stay on this lot earns a coupon (its couponRule), so the customer's stay below earns one.
    const lot = {
      parkingLotId: "oidc-lot",
      name: "OIDC 주차장",
      capacity: 3,
      couponRule: { minStayMinutes: 0 },
    };
    expect((await call(base, "POST", "/parking-lots", lot, operator)).status).toBe(201);

    // roles: "parking-customer" (a single string, the provider's own name) counts as customer.
    const booked = await call<{ customerId: string; reservationId: string }>(
      base,
      "POST",
      "/parking-lots/oidc-lot/reservations",
      { carNumber: "10더8612", amount: 5000 },
      { ...customer, "Idempotency-Key": "oidc-order-1" },
    );
    expect(booked.status).toBe(201);
    expect(booked.body.customerId).toBe("auth0|customer-7");
    for (const step of ["check-in", "check-out"]) {
      const path = `/parking-lots/oidc-lot/reservations/${booked.body.reservationId}/${step}`;
      expect((await call(base, "POST", path, undefined, customer)).status).toBe(200);
    }
    const coupons = await eventually(async () => {
      const answer = await call<{ items: Array<{ customerId: string; reservationId: string }> }>(
        base,
        "GET",
        `/customers/${encodeURIComponent("auth0|customer-7")}/coupons`,
        undefined,
        customer,
      );
      expect(answer.status).toBe(200);
      return answer.body.items.length > 0 ? answer.body.items : undefined;
    });
    expect(coupons[0]).toMatchObject({
      customerId: "auth0|customer-7",
      reservationId: booked.body.reservationId,
    });
    // Someone else's coupons stay closed to this customer.
    expect((await call(base, "GET", "/customers/CUST1/coupons", undefined, customer)).status).toBe(403);
    // The operator, whose role came from an array of the provider's names, sees the control center.
    expect((await call(base, "GET", "/control-center", undefined, operator)).status).toBe(200);
    expect((await call(base, "GET", "/control-center", undefined, customer)).status).toBe(403);
  });

  it("refusals say which check failed: a tampered token, another issuer's", async () => {
    const base = setup.service.url;
    const token = await setup.provider.clientCredentials(CLIENTS.operatorRobot);
    const [header, payload, signature] = token.split(".");
    const claims = JSON.parse(Buffer.from(payload ?? "", "base64url").toString()) as Record<string, unknown>;
    const tampered = [
      header,
      Buffer.from(JSON.stringify({ ...claims, sub: "someone-else" })).toString("base64url"),
      signature,
    ].join(".");
    const refused = await call(base, "GET", "/reservations", undefined, bearer(tampered));
    expect(refused.status).toBe(401);
    expect(problemOf(refused).challenge).toContain(
      'error_description="the token\'s signature does not verify"',
    );

    const other = await startTestProvider({ https: false, redirectUris: [] });
    try {
      const foreign = await other.clientCredentials(CLIENTS.operatorRobot);
      const answer = await call(base, "GET", "/reservations", undefined, bearer(foreign));
      expect(answer.status).toBe(401);
      expect(answer.body.detail).toBe(
        `The access token was refused: the token's issuer (iss) is not the expected "${setup.provider.issuer}".`,
      );
    } finally {
      await other.stop();
    }
  });

  it("the page signs an operator in with Authorization Code + PKCE; the cookie holds a session id, not a token", async () => {
    const page = await setup.browser.context.newPage();
    await signInThroughPage(page, setup, "ops-1");
    // The control center itself (only an operator gets it), with its sign-out button.
    await page.locator("form.sign-out button").waitFor();
    const cookies = await setup.browser.context.cookies(setup.service.url);
    const session = cookies.find((c) => c.name === "parking_session");
    expect(session).toMatchObject({ httpOnly: true, sameSite: "Strict" });
    expect(session?.value).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // Signing out ends the session on the server and at the provider (which asks to confirm):
    // the page is the sign-in screen again.
    await page.locator("form.sign-out button").click();
    await page.waitForURL((url) => url.href.startsWith(setup.provider.issuer));
    await page.locator('button[name="logout"], button[type="submit"]').first().click();
    await page.waitForURL(`${setup.service.url}/control-center`);
    await page.locator("#oidc-button").waitFor();
    await page.close();
  });

  it("rotates keys: a token of a newly published key verifies at once (no cooldown wait)", async () => {
    const base = setup.service.url;
    const before = await setup.provider.clientCredentials(CLIENTS.operatorRobot);
    expect((await call(base, "GET", "/control-center", undefined, bearer(before))).status).toBe(200);
    const kid = await setup.provider.rotateKey();
    const after = await setup.provider.clientCredentials(CLIENTS.operatorRobot);
    expect(JSON.parse(Buffer.from(after.split(".")[0] ?? "", "base64url").toString()).kid).toBe(kid);
    expect((await call(base, "GET", "/control-center", undefined, bearer(after))).status).toBe(200);
    expect((await call(base, "GET", "/control-center", undefined, bearer(before))).status).toBe(200);
  });

  it("an outage: known keys keep verifying and /readyz says the provider cannot be reached", async () => {
    const base = setup.service.url;
    const token = await setup.provider.clientCredentials(CLIENTS.operatorRobot);
    await setup.provider.stop();
    try {
      expect((await call(base, "GET", "/control-center", undefined, bearer(token))).status).toBe(200);
      const ready = await eventually(async () => {
        const answer = await call<{ checks: Record<string, { ok: boolean; detail?: string }> }>(
          base,
          "GET",
          "/readyz",
          undefined,
          ANONYMOUS,
        );
        return answer.body.checks.identityProvider?.detail ? answer : undefined;
      }, 20_000);
      expect(ready.status).toBe(200);
      expect(ready.body.checks.identityProvider?.detail).toMatch(/cannot be reached/);
    } finally {
      await setup.provider.start();
    }
  });

  it("an outage: a key id the service has not seen is 'retry later' (503, Retry-After), and verifies as soon as the provider is back", async () => {
    const base = setup.service.url;
    await setup.provider.rotateKey();
    const newKey = await setup.provider.clientCredentials(CLIENTS.operatorRobot);
    await setup.provider.stop();
    try {
      const down = await call(base, "GET", "/control-center", undefined, bearer(newKey));
      expect(down.status).toBe(503);
      expect(down.headers.get("retry-after")).toMatch(/^\d+$/);
      expect(down.body).toMatchObject({ type: "/problems/identity-provider-unavailable" });
    } finally {
      await setup.provider.start();
    }
    expect((await call(base, "GET", "/control-center", undefined, bearer(newKey))).status).toBe(200);
  });

  // Over http only, as one setup suffices: the page's sessions against the provider.
  if (https) return;
  it("refresh server-side while the provider renews; end with a clear message and one click to sign in again when it does not", async () => {
    // Access tokens of 4 s from now on: the session renews them once half their life is over, so
    // waiting 5 s outlives the token this sign-in gets (and, after the revocation, forces the
    // next renewal). Last of this block: it revokes every grant at the provider.
    setup.provider.setAccessTokenTtl(4);
    const page = await setup.browser.context.newPage();
    await signInThroughPage(page, setup, "ops-1");
    await page.locator("form.sign-out button").waitFor();
    // The access token (4 s) is gone: the refresh token in the session record renewed it.
    await page.waitForTimeout(5_000);
    const kept = await page.goto(`${setup.service.url}/control-center`);
    expect(kept?.status()).toBe(200);
    // Off the live page: its stream, ended and reopened every few seconds, would otherwise be the
    // request that finds the renewal refused (its 401 clears the cookie, and the page says
    // "signed out" there), racing the navigation below that this test reads.
    await page.goto("about:blank");

    // The provider forgets every grant (an administrator revoked them): the next renewal fails.
    setup.provider.revokeAll();
    await page.waitForTimeout(5_000);
    const ended = await page.goto(`${setup.service.url}/control-center`);
    expect(ended?.status()).toBe(401);
    await expect
      .poll(() => page.locator("#why").innerText())
      .toMatch(
        /session has ended: the identity provider did not renew the sign-in \(invalid_grant\)\. Sign in again\./,
      );
    // One click on the provider's button starts the sign-in again.
    await page.locator("#oidc-button").click();
    await page.waitForURL((url) => url.href.startsWith(setup.provider.issuer));
    await page.close();
  });
});

describe("the compose walkthrough's sign-in, against the suite's http provider", () => {
  let setup: Setup;
  beforeAll(async () => {
    await ensureWebBuilt();
    // As docker-compose.yml sets it for Keycloak: the issuer is http://localhost:<port> (what the
    // browser and the tokens use), the keys are fetched at another address (the container
    // network's), the page's scope is the default, and the provider adds the API's audience.
    setup = await setUp(false, 300, {
      host: "localhost",
      env: (provider) => ({
        AUTH_ISSUER: provider.issuer,
        AUTH_JWKS_URL: `${provider.issuer.replace("localhost", "127.0.0.1")}/jwks`,
        AUTH_AUDIENCE: API_AUDIENCE,
        AUTH_ROLES_CLAIMS: "realm_access.roles,roles",
        AUTH_ROLE_MAP: ROLE_MAP,
        PAGE_OIDC_CLIENT_ID: PAGE_CLIENT,
      }),
    });
  }, 120_000);
  afterAll(() => tearDown(setup));

  it("opens /control-center, presses Sign in, signs in at the provider and lands on the control center", async () => {
    expect(setup.provider.issuer).toMatch(/^http:\/\/localhost:\d+$/);
    const ready = await call(setup.service.url, "GET", "/readyz", undefined, ANONYMOUS);
    expect(ready.status).toBe(200);
    const page = await setup.browser.context.newPage();
    await signInThroughPage(page, setup, "ops-1");
    await page.locator("form.sign-out button").waitFor();
    await page.close();
  });
});

describe("misconfigurations are loud: /readyz says what is wrong", () => {
  let provider: TestProvider;
  const services: RunningService[] = [];
  const dirs: Array<{ remove: () => void }> = [];
  beforeAll(async () => {
    provider = await startTestProvider({ https: false, redirectUris: [] });
  });
  afterAll(async () => {
    for (const s of services) await s.shutdown("test done");
    for (const d of dirs) d.remove();
    await provider.stop();
  });
  const start = async (env: Record<string, string>) => {
    const data = tempDataDir("parking-oidc-misconfig-");
    dirs.push(data);
    // Readiness and token checks only: the processors in the request thread, not a worker thread
    // that would load the whole service a second time (seconds per start).
    const service = await startTestService(data.dir, {
      ...providerEnv(provider),
      PROCESSORS_THREAD: "main",
      ...env,
    });
    services.push(service);
    return service.url;
  };
  const readiness = async (base: string) =>
    call<{ status: string; checks: Record<string, { ok: boolean; detail?: string }> }>(
      base,
      "GET",
      "/readyz",
      undefined,
      ANONYMOUS,
    );

  it("a trailing-slash mismatch, another host name for the issuer, an unreachable provider", async () => {
    const [slash, otherHost, unreachable] = await Promise.all([
      start({ AUTH_ISSUER: `${provider.issuer}/` }),
      start({ AUTH_ISSUER: provider.issuer.replace("127.0.0.1", "localhost") }),
      start({ AUTH_ISSUER: "http://127.0.0.1:9/realms/parking" }),
    ]);
    const answer = await readiness(slash);
    expect(answer.status).toBe(503);
    expect(answer.body.checks.identityProvider?.detail).toContain(
      `names the issuer "${provider.issuer}", but AUTH_ISSUER is "${provider.issuer}/"`,
    );
    // Its tokens say why they are refused: the issuer, with the expected value.
    const token = await provider.clientCredentials(CLIENTS.operatorRobot);
    const refused = await call(slash, "GET", "/reservations", undefined, bearer(token));
    expect(refused.status).toBe(401);
    expect(refused.body.detail).toContain(`is not the expected "${provider.issuer}/"`);

    expect((await readiness(otherHost)).body.checks.identityProvider).toMatchObject({
      ok: false,
      detail: expect.stringContaining("names the issuer"),
    });

    const down = await readiness(unreachable);
    expect(down.status).toBe(503);
    expect(down.body.checks.identityProvider?.detail).toContain("could not be fetched");
  });

  it("a wrong audience: every token is refused naming the audience expected", async () => {
    const base = await start({ AUTH_AUDIENCE: "https://api.parking.example" });
    expect((await readiness(base)).status).toBe(200);
    const token = await provider.clientCredentials(CLIENTS.operatorRobot);
    const refused = await call(base, "GET", "/reservations", undefined, bearer(token));
    expect(refused.status).toBe(401);
    expect(refused.body.detail).toContain(
      'audience (aud) does not include the expected "https://api.parking.example"',
    );
  });
});
