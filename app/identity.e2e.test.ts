import { execFile } from "node:child_process";
import { statSync } from "node:fs";
import { createServer, get, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { rotateSigningKey } from "../platform/auth/dev-issuer.js";
import { ANONYMOUS, bearer, operatorHeaders } from "../test-support/auth.js";
import { PROJECT_ROOT } from "../test-support/process.js";
import { call, eventually, startTestService, tempDataDir } from "../test-support/service.js";
import type { RunningService } from "./server.js";

/**
 * The identity side over real HTTP: keys fetched from a JWKS endpoint (the embedded issuer's own,
 * and an external issuer's served by this test), rotated without a restart; OIDC discovery; the
 * real `npm run -s token` CLI driving the first session; the browser sign-in link and its cookie.
 */

const run = promisify(execFile);

/** `npm run -s token -- …args` as a user runs it, against DATA_DIR; returns stdout. */
async function npmToken(dataDir: string, ...args: string[]): Promise<string> {
  return npmTokenWith({}, dataDir, ...args);
}

async function npmTokenWith(
  env: Record<string, string>,
  dataDir: string,
  ...args: string[]
): Promise<string> {
  const { stdout } = await run("npm", ["run", "-s", "token", "--", ...args], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, ...env, DATA_DIR: dataDir },
  });
  return stdout;
}

const started: RunningService[] = [];
const dirs: Array<{ remove: () => void }> = [];
async function service(env: Record<string, string> = {}) {
  const data = tempDataDir("parking-identity-");
  dirs.push(data);
  // The processors in the request thread: these tests are about tokens, keys and sessions, and a
  // worker thread would load the whole service a second time (seconds per start, a dozen starts).
  const s = await startTestService(data.dir, { PROCESSORS_THREAD: "main", ...env });
  started.push(s);
  return { service: s, dir: data.dir, base: s.url };
}
afterEach(async () => {
  for (const s of started.splice(0)) await s.shutdown("test done");
  for (const d of dirs.splice(0)) d.remove();
});

describe("the embedded development issuer", () => {
  it("keeps its key under DATA_DIR/auth with mode 0600 and serves JWKS and discovery", async () => {
    const { dir, base } = await service();
    const keys = join(dir, "auth", "signing-keys");
    expect(statSync(keys).mode & 0o777).toBe(0o700);
    const jwks = await call<{ keys: JWK[] }>(base, "GET", "/.well-known/jwks.json", undefined, ANONYMOUS);
    expect(jwks.body.keys).toHaveLength(1);
    const [key] = jwks.body.keys;
    expect(key).toMatchObject({ kty: "EC", alg: "ES256", use: "sig" });
    expect(key).not.toHaveProperty("d");
    expect(statSync(join(keys, `${key?.kid}.json`)).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, "auth", "idempotency-secret")).mode & 0o777).toBe(0o600);
    const discovery = await call(base, "GET", "/.well-known/openid-configuration", undefined, ANONYMOUS);
    expect(discovery.body).toMatchObject({
      issuer: "urn:parking-reservations:dev-issuer",
      jwks_uri: `${base}/.well-known/jwks.json`,
    });
    // The Host header is never reflected into the document (PUBLIC_URL or the listening address).
    const spoofed = await new Promise<string>((resolve, reject) => {
      get(`${base}/.well-known/openid-configuration`, { headers: { host: "evil.example" } }, (res) => {
        let text = "";
        res.on("data", (chunk: Buffer) => {
          text += chunk.toString();
        });
        res.on("end", () => resolve(text));
      }).on("error", reject);
    });
    expect(spoofed).toContain("jwks_uri");
    expect(spoofed).not.toContain("evil.example");
  });

  it("rotates its key without a restart: tokens of the new key verify (fetched again from its own JWKS), the old ones still do", async () => {
    const { dir, base } = await service({ AUTH_JWKS_COOLDOWN_MS: "0" });
    const before = await operatorHeaders(dir);
    expect((await call(base, "GET", "/control-center", undefined, before)).status).toBe(200);
    const newKid = await rotateSigningKey(dir);
    const after = await operatorHeaders(dir);
    const header = JSON.parse(
      Buffer.from(after.authorization.slice(7).split(".")[0] ?? "", "base64url").toString(),
    ) as { kid: string };
    expect(header.kid).toBe(newKid);
    expect((await call(base, "GET", "/control-center", undefined, after)).status).toBe(200);
    expect((await call(base, "GET", "/control-center", undefined, before)).status).toBe(200);
    const jwks = await call<{ keys: JWK[] }>(base, "GET", "/.well-known/jwks.json", undefined, ANONYMOUS);
    expect(jwks.body.keys.map((k) => k.kid)).toContain(newKid);
    expect(jwks.body.keys).toHaveLength(2);
  });
});

describe("the development issuer behind the per-address rate limit (issue 23, item 1)", () => {
  it("verifies in-process: an address flooding the service, even the service's own, never makes valid tokens 503", async () => {
    const { dir, base } = await service({
      TRUST_PROXY_HOPS: "1",
      RATE_LIMIT_PER_ADDRESS: "30",
      AUTH_JWKS_COOLDOWN_MS: "0",
    });
    // Anonymous requests "from" 127.0.0.1 (the address a self-fetch of the key set used to come
    // from) until that address is limited.
    const flood = { ...ANONYMOUS, "x-forwarded-for": "127.0.0.1" };
    let status = 0;
    for (let i = 0; i < 40 && status !== 429; i++)
      status = (await call(base, "GET", "/parking-lots", undefined, flood)).status;
    expect(status).toBe(429);
    // A new key (so the verifier must load keys again) and a caller at another address: 200.
    await rotateSigningKey(dir);
    const operator = { ...(await operatorHeaders(dir)), "x-forwarded-for": "10.0.0.2" };
    expect((await call(base, "GET", "/control-center", undefined, operator)).status).toBe(200);
  });
});

describe("the session cookie's Secure attribute", () => {
  const cookieOf = async (base: string, dir: string, headers: Record<string, string> = {}) => {
    const link = (await npmToken(dir, "--role", "operator", "--sub", "ops-1", "--sign-in-url", base)).trim();
    const answer = await fetch(link, { redirect: "manual", headers });
    expect(answer.status).toBe(200);
    return answer.headers.get("set-cookie") ?? "";
  };

  it("is set over TLS through a trusted proxy (X-Forwarded-Proto), and always with an https PUBLIC_URL", async () => {
    const plain = await service();
    expect(await cookieOf(plain.base, plain.dir)).not.toMatch(/;\s*Secure/i);
    // An untrusted X-Forwarded-Proto (TRUST_PROXY_HOPS=0) changes nothing.
    expect(await cookieOf(plain.base, plain.dir, { "x-forwarded-proto": "https" })).not.toMatch(
      /;\s*Secure/i,
    );

    const proxied = await service({ TRUST_PROXY_HOPS: "1" });
    expect(await cookieOf(proxied.base, proxied.dir, { "x-forwarded-proto": "https" })).toMatch(
      /;\s*Secure/i,
    );

    const published = await service({ PUBLIC_URL: "https://parking.example.com" });
    expect(await cookieOf(published.base, published.dir)).toMatch(/;\s*Secure/i);
    const discovery = await call(
      published.base,
      "GET",
      "/.well-known/openid-configuration",
      undefined,
      ANONYMOUS,
    );
    expect(discovery.body.jwks_uri).toBe("https://parking.example.com/.well-known/jwks.json");
  });
});

/** An external OpenID Connect issuer, as far as the service sees one: discovery and a JWKS. */
async function externalIssuer() {
  const keys: Array<{
    kid: string;
    publicJwk: JWK;
    privateKey: Awaited<ReturnType<typeof generateKeyPair>>["privateKey"];
  }> = [];
  let fetches = 0;
  const addKey = async () => {
    const { publicKey, privateKey } = await generateKeyPair("RS256", { extractable: true });
    const kid = `kid-${keys.length + 1}`;
    keys.push({
      kid,
      publicJwk: { ...(await exportJWK(publicKey)), kid, alg: "RS256", use: "sig" },
      privateKey,
    });
    return kid;
  };
  let issuer = "";
  const server: Server = createServer((req, res) => {
    if (req.url === "/.well-known/openid-configuration") {
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ issuer, jwks_uri: `${issuer}/protocol/openid-connect/certs` }));
    } else if (req.url === "/protocol/openid-connect/certs") {
      fetches++;
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ keys: keys.map((k) => k.publicJwk) }));
    } else {
      res.statusCode = 404;
      res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  await addKey();
  /** A Keycloak-style access token: roles in realm_access.roles. */
  const token = async (sub: string, roles: string[], kid = keys.at(-1)?.kid) => {
    const key = keys.find((k) => k.kid === kid);
    if (!key) throw new Error(`no key ${kid}`);
    return new SignJWT({ realm_access: { roles }, azp: "parking-tests" })
      .setProtectedHeader({ alg: "RS256", kid, typ: "JWT" })
      .setIssuer(issuer)
      .setAudience(["parking-reservations", "account"])
      .setSubject(sub)
      .setIssuedAt()
      .setExpirationTime("5m")
      .sign(key.privateKey);
  };
  return {
    get issuer() {
      return issuer;
    },
    get fetches() {
      return fetches;
    },
    addKey,
    token,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe("an external issuer (served by this test)", () => {
  const issuers: Array<{ close: () => Promise<void> }> = [];
  afterAll(async () => {
    for (const i of issuers) await i.close();
  });

  it("verifies its tokens through OIDC discovery and its JWKS, and a rotated key without a restart", async () => {
    const idp = await externalIssuer();
    issuers.push(idp);
    const { base } = await service({ AUTH_ISSUER: idp.issuer, AUTH_JWKS_COOLDOWN_MS: "0" });
    const operator = bearer(await idp.token("ops-7", ["operator", "offline_access"]));
    expect((await call(base, "GET", "/control-center", undefined, operator)).status).toBe(200);
    const customer = bearer(await idp.token("CUST7", ["customer"]));
    expect((await call(base, "GET", "/control-center", undefined, customer)).status).toBe(403);
    expect((await call(base, "GET", "/reservations", undefined, customer)).status).toBe(200);
    // The start-up check of the provider has run (readiness answers with it) before counting.
    expect((await call(base, "GET", "/readyz", undefined, ANONYMOUS)).status).toBe(200);
    const fetchesBefore = idp.fetches;
    // Known keys are cached: more calls fetch nothing.
    await call(base, "GET", "/reservations", undefined, customer);
    expect(idp.fetches).toBe(fetchesBefore);

    await idp.addKey();
    const rotated = bearer(await idp.token("ops-7", ["operator"]));
    expect((await call(base, "GET", "/control-center", undefined, rotated)).status).toBe(200);
    expect(idp.fetches).toBe(fetchesBefore + 1);
    // The embedded issuer is off: no dev keys, no sign-in link route.
    expect((await call(base, "GET", "/.well-known/jwks.json", undefined, operator)).status).toBe(404);
  });

  it("uses AUTH_JWKS_URL as given, and answers 503 (not 401) while the keys cannot be fetched", async () => {
    const idp = await externalIssuer();
    issuers.push(idp);
    const { base } = await service({
      AUTH_ISSUER: idp.issuer,
      AUTH_JWKS_URL: `${idp.issuer}/protocol/openid-connect/certs`,
    });
    expect(
      (await call(base, "GET", "/control-center", undefined, bearer(await idp.token("o", ["operator"]))))
        .status,
    ).toBe(200);

    const down = await service({ AUTH_ISSUER: idp.issuer, AUTH_JWKS_URL: "http://127.0.0.1:9/certs" });
    const refused = await call(
      down.base,
      "GET",
      "/control-center",
      undefined,
      bearer(await idp.token("o", ["operator"])),
    );
    expect(refused.status).toBe(503);
    expect(refused.body.type).toBe("/problems/identity-provider-unavailable");
    expect(refused.headers.get("retry-after")).toBe("5");
    // Public routes need no keys.
    expect((await call(down.base, "GET", "/parking-lots", undefined, ANONYMOUS)).status).toBe(200);

    // Every operation that needs a bearer answers the same, before looking at its input; each
    // answer goes through the contract check, which holds it to the problem types it lists.
    const document = (await (await fetch(`${down.base}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { security?: Record<string, unknown>[] }>>;
    };
    const token = bearer(await idp.token("o", ["operator"]));
    const answers: string[] = [];
    for (const [template, operations] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        const security = operation.security ?? [];
        if (security.length === 0 || security.some((s) => Object.keys(s).length === 0)) continue;
        const path = template.replace(/\{[^}]+\}/g, "x1");
        const writes = method === "post" || method === "put" || method === "delete";
        const answer = await call(down.base, method.toUpperCase(), path, writes ? {} : undefined, token);
        answers.push(`${method.toUpperCase()} ${template} ${answer.status} ${String(answer.body.type)}`);
      }
    }
    expect(answers.length).toBeGreaterThan(10);
    for (const answer of answers) expect(answer).toMatch(/ 503 \/problems\/identity-provider-unavailable$/);
  });
});

describe("npm run -s token (the real CLI, spawned)", () => {
  it("prints the JWT alone on stdout, and runs the README's first session end to end", async () => {
    const { dir, base } = await service();
    const [ops, cust1] = await Promise.all([
      npmToken(dir, "--role", "operator", "--sub", "ops-1"),
      npmToken(dir, "--role", "customer", "--sub", "CUST1", "--ttl", "600"),
    ]);
    expect(ops).toMatch(/^eyJ[\w-]+\.[\w-]+\.[\w-]+\n$/);
    const OPS = bearer(ops.trim());
    const CUST1 = bearer(cust1.trim());
    const claims = JSON.parse(Buffer.from(cust1.split(".")[1] ?? "", "base64url").toString()) as {
      exp: number;
      iat: number;
      sub: string;
    };
    expect(claims.exp - claims.iat).toBe(600);
    expect(claims.sub).toBe("CUST1");

    const lot = await call(
      base,
      "POST",
      "/parking-lots",
      { parkingLotId: "1", name: "강남 1주차장", capacity: 5 },
      OPS,
    );
    expect(lot.status).toBe(201);
    const reserved = await call<{ reservationId: string; position: string; customerId: string }>(
      base,
      "POST",
      "/parking-lots/1/reservations",
      { carNumber: "10더8612", amount: 5000 },
      { ...CUST1, "Idempotency-Key": "order-1" },
    );
    expect(reserved.status).toBe(201);
    expect(reserved.body.customerId).toBe("CUST1");
    const availability = await call(
      base,
      "GET",
      `/parking-lots/1?minPosition=${reserved.body.position}`,
      undefined,
      ANONYMOUS,
    );
    expect(availability.body).toMatchObject({ availableSpots: 4 });
    // The booking makes the customer a coupon recipient: the customer sees the reservation with it.
    const mine = await eventually(async () => {
      const r = await call<{ items: Array<{ status: string; coupon?: { status: string } }> }>(
        base,
        "GET",
        "/reservations",
        undefined,
        CUST1,
      );
      const first = r.body.items[0];
      return first?.status === "RESERVED" && first.coupon?.status === "ISSUED" ? r.body.items : undefined;
    });
    expect(mine).toHaveLength(1);
    expect((await call(base, "GET", "/control-center", undefined, OPS)).status).toBe(200);
    expect((await call(base, "GET", "/control-center", undefined, CUST1)).status).toBe(403);
    const canceled = await call(
      base,
      "DELETE",
      `/parking-lots/1/reservations/${reserved.body.reservationId}`,
      undefined,
      CUST1,
    );
    expect(canceled.status).toBe(200);
  });

  it("refuses to mint without a key in DATA_DIR, and with an external issuer configured", async () => {
    const empty = tempDataDir("parking-identity-empty-");
    dirs.push(empty);
    await expect(npmToken(empty.dir, "--role", "operator", "--sub", "ops-1")).rejects.toMatchObject({
      code: 2,
      stdout: "",
      stderr: expect.stringContaining("No signing key"),
    });
    await expect(npmToken(empty.dir, "--role", "king", "--sub", "x")).rejects.toMatchObject({
      code: 2,
      stdout: "",
    });
    const { dir } = await service();
    await expect(
      npmTokenWith(
        { AUTH_ISSUER: "https://id.example.com/realms/parking" },
        dir,
        "--role",
        "operator",
        "--sub",
        "o",
      ),
    ).rejects.toMatchObject({ code: 2, stdout: "", stderr: expect.stringContaining("AUTH_ISSUER is set") });
  });

  it("--sign-in-url: a one-time link sets an HttpOnly SameSite=Strict session cookie and redirects to the control center", async () => {
    const { dir, base } = await service();
    const link = (await npmToken(dir, "--role", "operator", "--sub", "ops-1", "--sign-in-url", base)).trim();
    expect(link).toMatch(new RegExp(`^${base}/sign-in\\?token=eyJ`));
    const signIn = await fetch(link, { redirect: "manual" });
    expect(signIn.status).toBe(200);
    expect(await signIn.text()).toContain('http-equiv="refresh" content="0;url=/control-center"');
    const setCookie = signIn.headers.get("set-cookie") ?? "";
    // The cookie holds a random session id, not a token: the record stays on the server.
    expect(setCookie).toMatch(/^parking_session=[A-Za-z0-9_-]{43};/);
    expect(setCookie).toContain("HttpOnly");
    expect(setCookie).toContain("SameSite=Strict");
    expect(setCookie).toContain("Path=/");
    const cookie = { cookie: setCookie.split(";")[0] ?? "" };

    // The link works once; its token is not an access token.
    const replay = await fetch(link, { redirect: "manual" });
    expect(replay.status).toBe(401);
    const linkToken = new URL(link).searchParams.get("token") ?? "";
    // A token in the query string is never echoed: the problem's instance is the path alone.
    const replayed = (await replay.json()) as { instance?: string };
    expect(replayed.instance).toBe("/sign-in");
    expect((await call(base, "GET", "/control-center", undefined, bearer(linkToken))).status).toBe(401);

    // The cookie authenticates reads; changes only from the same origin.
    expect((await call(base, "GET", "/control-center", undefined, { ...ANONYMOUS, ...cookie })).status).toBe(
      200,
    );
    const body = { parkingLotId: "cookie-lot", name: "Cookie", capacity: 1 };
    expect((await call(base, "POST", "/parking-lots", body, { ...ANONYMOUS, ...cookie })).status).toBe(403);
    expect(
      (
        await call(base, "POST", "/parking-lots", body, {
          ...ANONYMOUS,
          ...cookie,
          "sec-fetch-site": "cross-site",
        })
      ).status,
    ).toBe(403);
    expect(
      (
        await call(base, "POST", "/parking-lots", body, {
          ...ANONYMOUS,
          ...cookie,
          origin: "https://evil.example",
        })
      ).status,
    ).toBe(403);
    expect(
      (await call(base, "POST", "/parking-lots", body, { ...ANONYMOUS, ...cookie, origin: base })).status,
    ).toBe(201);

    const signOut = await fetch(`${base}/sign-out`, {
      method: "POST",
      redirect: "manual",
      headers: { ...cookie, origin: base },
    });
    expect(signOut.status).toBe(200);
    expect(signOut.headers.get("set-cookie")).toMatch(/^parking_session=; Max-Age=0/);
    // Signed out means revoked: the old cookie no longer authenticates, and a 401 says the session ended.
    const after = await call(base, "GET", "/reservations", undefined, { ...ANONYMOUS, ...cookie });
    expect(after.status).toBe(401);
    expect(after.body.detail).toMatch(/session has ended.*Sign in again/);
    // The session id is no bearer token either.
    const asBearer = await call(
      base,
      "GET",
      "/reservations",
      undefined,
      bearer(cookie.cookie.split("=")[1] ?? ""),
    );
    expect(asBearer.status).toBe(401);
  });

  it("checks sign-in and session requests as every route's: 415, then who may, then the query and body (400 naming the field)", async () => {
    const { dir, base } = await service();
    const operator = await operatorHeaders(dir);
    // A link without its token is refused as any bad link is; one past the token's bound names it.
    const noToken = await call(base, "GET", "/sign-in", undefined, ANONYMOUS);
    expect(noToken.status).toBe(401);
    expect(noToken.body).toMatchObject({ type: "/problems/sign-in-failed" });
    const longToken = await call(base, "GET", `/sign-in?token=${"a".repeat(8193)}`, undefined, ANONYMOUS);
    expect(longToken.status).toBe(400);
    expect(longToken.body).toMatchObject({
      type: "/problems/validation",
      errors: [{ field: "query.token" }],
    });
    // A body that is not JSON is a 415, as the document says of every request.
    const text = await fetch(`${base}/sessions/revoke`, {
      method: "POST",
      headers: { ...operator, "content-type": "text/plain" },
      body: "ops-1",
    });
    expect(text.status).toBe(415);
    const extra = await call(base, "POST", "/sessions/revoke", { sub: "ops-1", all: true }, operator);
    expect(extra.status).toBe(400);
    expect(extra.body).toMatchObject({ type: "/problems/validation" });
    // Another site may not start a session, whatever it sends: refused before its body is read.
    const startFrom = (site: string) =>
      call(base, "POST", "/sign-in/session", { refreshToken: "" }, { ...operator, "sec-fetch-site": site });
    expect((await startFrom("cross-site")).status).toBe(403);
    const badBody = await startFrom("same-origin");
    expect(badBody.status).toBe(400);
    expect(badBody.body).toMatchObject({ errors: [{ field: "body.refreshToken" }] });
  });

  it("an operator ends every session of a subject at once (POST /sessions/revoke); a customer may not", async () => {
    const { dir, base } = await service();
    const sessionOf = async () => {
      const link = (
        await npmToken(dir, "--role", "operator", "--sub", "ops-lost", "--sign-in-url", base)
      ).trim();
      const signIn = await fetch(link, { redirect: "manual" });
      return { cookie: (signIn.headers.get("set-cookie") ?? "").split(";")[0] ?? "" };
    };
    // Two browsers of the same operator, and one of another.
    const [laptop, phone] = [await sessionOf(), await sessionOf()];
    const readWith = async (cookie: { cookie: string }) =>
      (await call(base, "GET", "/control-center", undefined, { ...ANONYMOUS, ...cookie })).status;
    expect([await readWith(laptop), await readWith(phone)]).toEqual([200, 200]);

    const byCustomer = await call(
      base,
      "POST",
      "/sessions/revoke",
      { sub: "ops-lost" },
      bearer((await npmToken(dir, "--role", "customer", "--sub", "CUST9")).trim()),
    );
    expect(byCustomer.status).toBe(403);
    const refused = await call(base, "POST", "/sessions/revoke", { sub: "ops lost" });
    expect(refused.status).toBe(400);

    const revoked = await call(
      base,
      "POST",
      "/sessions/revoke",
      { sub: "ops-lost" },
      await operatorHeaders(dir),
    );
    expect(revoked.status).toBe(200);
    expect(revoked.body).toEqual({ sub: "ops-lost", revoked: 2 });
    expect([await readWith(laptop), await readWith(phone)]).toEqual([401, 401]);
    // Revoking again finds nothing left.
    const again = await call(
      base,
      "POST",
      "/sessions/revoke",
      { sub: "ops-lost" },
      await operatorHeaders(dir),
    );
    expect(again.body).toEqual({ sub: "ops-lost", revoked: 0 });
  });
});
