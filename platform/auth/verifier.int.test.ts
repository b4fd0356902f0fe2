import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InvalidTokenError, TokenVerifier } from "./verifier.js";

/**
 * The key set over real HTTP: a token from a key the issuer does not publish makes the verifier
 * look again, but at most once per AUTH_JWKS_COOLDOWN_MS, so a flood of such tokens cannot turn
 * the service into a flood on the identity provider.
 */
describe("TokenVerifier against a JWKS endpoint", () => {
  const ISSUER = "https://id.example.com";
  let server: Server;
  let fetches = 0;
  let published: JWK[] = [];
  let jwksUrl: URL;

  beforeAll(async () => {
    server = createServer((_req, res) => {
      fetches++;
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
  const verifier = (jwksCooldownMs: number) =>
    new TokenVerifier({
      issuer: ISSUER,
      audience: "parking-reservations",
      jwksUrl: async () => jwksUrl,
      clockSkewSeconds: 30,
      rolesClaims: ["roles"],
      algorithms: ["ES256"],
      jwksCooldownMs,
    });

  it("refetches for an unknown key at most once per cooldown, and finds a key published since", async () => {
    const known = await keyPair("known");
    const unknown = await keyPair("unknown");
    published = [known.jwk];
    fetches = 0;
    const limited = verifier(60_000);
    expect((await limited.verify(await token(known))).sub).toBe("CUST1");
    const fetchesAfterFirst = fetches;
    const forged = await token(unknown);
    for (let i = 0; i < 20; i++) await expect(limited.verify(forged)).rejects.toThrow(InvalidTokenError);
    // Twenty tokens from an unpublished key: no more than one look at the key set for all of them.
    expect(fetches - fetchesAfterFirst).toBeLessThanOrEqual(1);

    // With no cooldown, a key the issuer has rotated in is found on the next token.
    const rotated = await keyPair("rotated");
    const eager = verifier(0);
    expect((await eager.verify(await token(known))).sub).toBe("CUST1");
    published = [known.jwk, rotated.jwk];
    expect((await eager.verify(await token(rotated))).sub).toBe("CUST1");
  });
});
