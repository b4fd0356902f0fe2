import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CachedKeySet, fetchKeySet } from "./key-set.js";
import { InvalidTokenError, KeySetUnavailableError, TokenVerifier } from "./verifier.js";

/**
 * The key set over real HTTP: a token from a key the issuer does not publish makes the verifier
 * look again at once (a key published since is found without waiting out the cooldown), but a key
 * id looked for in vain is not looked for again within AUTH_JWKS_COOLDOWN_MS, so a flood of such
 * tokens cannot turn the service into a flood on the identity provider. An outage keeps the keys.
 */
describe("TokenVerifier against a JWKS endpoint", () => {
  const ISSUER = "https://id.example.com";
  let server: Server;
  let fetches = 0;
  let down = false;
  let published: JWK[] = [];
  let jwksUrl: URL;

  beforeAll(async () => {
    server = createServer((_req, res) => {
      fetches++;
      if (down) {
        res.statusCode = 503;
        res.end();
        return;
      }
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ keys: published }));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    jwksUrl = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/certs`);
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  const keyPair = async (kid: string) => {
    const { publicKey, privateKey } = await generateKeyPair("ES256");
    return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: "ES256", use: "sig" } };
  };
  const token = (key: Awaited<ReturnType<typeof keyPair>>) =>
    new SignJWT({ roles: ["customer"] })
      .setProtectedHeader({ alg: "ES256", kid: key.kid })
      .setIssuer(ISSUER)
      .setAudience("parking-reservations")
      .setSubject("CUST1")
      .setIssuedAt()
      .setExpirationTime("5m")
      .sign(key.privateKey);
  const verifier = (cooldownMs: number) =>
    new TokenVerifier({
      issuer: ISSUER,
      audience: "parking-reservations",
      keys: new CachedKeySet({ load: () => fetchKeySet(jwksUrl), cooldownMs, minIntervalMs: 50 }).getKey,
      clockSkewSeconds: 30,
      rolesClaims: ["roles"],
      algorithms: ["ES256"],
      tokenTypes: ["at+jwt", "JWT"],
      maxLifetimeSeconds: 3600,
    });

  it("looks for an unknown key id once per cooldown, and finds a key published since at once", async () => {
    const known = await keyPair("known");
    const unknown = await keyPair("unknown");
    published = [known.jwk];
    fetches = 0;
    const limited = verifier(60_000);
    expect((await limited.verify(await token(known))).sub).toBe("CUST1");
    const fetchesAfterFirst = fetches;
    const forged = await token(unknown);
    for (let i = 0; i < 20; i++) await expect(limited.verify(forged)).rejects.toThrow(InvalidTokenError);
    // Twenty tokens from an unpublished key: one look at the key set for all of them.
    expect(fetches - fetchesAfterFirst).toBe(1);

    // A key rotated in is found on its first token, although the cooldown (60 s) has not passed.
    const rotated = await keyPair("rotated");
    published = [known.jwk, rotated.jwk];
    expect((await limited.verify(await token(rotated))).sub).toBe("CUST1");
    expect(fetches - fetchesAfterFirst).toBe(2);
  });

  it("keeps verifying with the keys it has while the provider is down; 503 only without any", async () => {
    const key = await keyPair("k-outage");
    published = [key.jwk];
    down = false;
    const v = verifier(0);
    expect((await v.verify(await token(key))).sub).toBe("CUST1");
    down = true;
    expect((await v.verify(await token(key))).sub).toBe("CUST1");
    await expect(verifier(0).verify(await token(key))).rejects.toThrow(KeySetUnavailableError);
    down = false;
  });
});
