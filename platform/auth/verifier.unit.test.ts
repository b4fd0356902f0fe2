type KeyLike = Awaited<ReturnType<typeof generateKeyPair>>["privateKey"];

import { exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { CachedKeySet } from "./key-set.js";
import { rolesOf, SIGN_IN_TOKEN_TYPE, TokenVerifier, type TokenVerifierOptions } from "./verifier.js";

describe("rolesOf", () => {
  const claims = ["realm_access.roles", "roles"];

  it("unites the string arrays at each dot path (Keycloak's realm roles and a plain claim)", () => {
    expect(
      rolesOf({ realm_access: { roles: ["operator", "offline_access"] }, roles: ["customer"] }, claims),
    ).toEqual(["operator", "offline_access", "customer"]);
  });

  it("takes a single string as one role, and maps the provider's names to ours", () => {
    expect(rolesOf({ roles: "operator" }, claims)).toEqual(["operator"]);
    expect(rolesOf({ roles: ["ParkingAdmins", "x"] }, claims, { ParkingAdmins: "operator" })).toEqual([
      "operator",
      "x",
    ]);
    expect(rolesOf({ groups: "app-user" }, ["groups"], { "app-user": "customer" })).toEqual(["customer"]);
  });

  it("ignores missing paths, non-strings and inherited properties", () => {
    expect(rolesOf({}, claims)).toEqual([]);
    expect(rolesOf({ roles: [1, null, "customer", { x: 1 }] }, claims)).toEqual(["customer"]);
    expect(rolesOf({ realm_access: null }, claims)).toEqual([]);
    expect(rolesOf({}, ["constructor.name", "__proto__.roles"])).toEqual([]);
    expect(rolesOf({ roles: ["x"] }, claims, { toString: "operator" } as Record<string, string>)).toEqual([
      "x",
    ]);
  });
});

describe("TokenVerifier", () => {
  const ISSUER = "https://id.example.com";
  let privateKey: KeyLike;
  let otherKey: KeyLike;
  let jwk: JWK;
  const keySet = () =>
    new CachedKeySet({ load: async () => ({ keys: [jwk] }), cooldownMs: 0, minIntervalMs: 0 });
  const options = (extra: Partial<TokenVerifierOptions> = {}): TokenVerifierOptions => ({
    issuer: ISSUER,
    audience: "parking-reservations",
    keys: keySet().getKey,
    algorithms: ["ES256"],
    clockSkewSeconds: 30,
    rolesClaims: ["roles"],
    tokenTypes: ["at+jwt", "JWT"],
    maxLifetimeSeconds: 86400,
    ...extra,
  });
  const now = () => Math.floor(Date.now() / 1000);
  const sign = (
    claims: Record<string, unknown> = {},
    header: Record<string, unknown> = {},
    key: KeyLike = privateKey,
  ) =>
    new SignJWT({
      iss: ISSUER,
      aud: "parking-reservations",
      sub: "CUST1",
      iat: now(),
      exp: now() + 300,
      roles: ["customer"],
      ...claims,
    })
      .setProtectedHeader({ alg: "ES256", kid: "k1", typ: "at+jwt", ...header })
      .sign(key);

  beforeAll(async () => {
    const pair = await generateKeyPair("ES256", { extractable: true });
    privateKey = pair.privateKey;
    otherKey = (await generateKeyPair("ES256")).privateKey;
    jwk = { ...(await exportJWK(pair.publicKey)), kid: "k1", alg: "ES256" };
  });

  it("cannot be built to accept none or an HMAC algorithm", () => {
    expect(() => new TokenVerifier(options({ algorithms: ["RS256", "HS256"] }))).toThrow(/asymmetric/);
    expect(() => new TokenVerifier(options({ algorithms: ["none"] }))).toThrow(/asymmetric/);
    expect(() => new TokenVerifier(options())).not.toThrow();
  });

  it("refuses garbage and oversized tokens before fetching any key", async () => {
    const verifier = new TokenVerifier(
      options({
        keys: async () => {
          throw new Error("must not fetch keys");
        },
      }),
    );
    await expect(verifier.verify("not-a-jwt")).rejects.toThrow(/malformed/);
    await expect(verifier.verify(`${"a".repeat(9000)}.b.c`)).rejects.toThrow(/too long/);
  });

  it("accepts a good token, with the customer id from the configured claim", async () => {
    const verifier = new TokenVerifier(options({ customerIdClaim: "email" }));
    const token = await verifier.verify(await sign({ email: "alice@example.com", sub: "auth0|customer-7" }));
    expect(token).toMatchObject({
      sub: "auth0|customer-7",
      customerId: "alice@example.com",
      roles: ["customer"],
    });
    const plain = await new TokenVerifier(options()).verify(await sign({ sub: "auth0|customer-7" }));
    expect(plain.customerId).toBe("auth0|customer-7");
  });

  it("says which check refused a token, with the expected value where it is public", async () => {
    const verifier = new TokenVerifier(options());
    const refusal = async (token: Promise<string>) =>
      verifier.verify(await token).then(
        () => "accepted",
        (error: Error) => error.message,
      );
    // Another issuer: said before any key is looked up.
    expect(await refusal(sign({ iss: "https://evil.example" }))).toBe(
      'the token\'s issuer (iss) is not the expected "https://id.example.com"',
    );
    expect(await refusal(sign({ aud: "account" }))).toBe(
      'the token\'s audience (aud) does not include the expected "parking-reservations"; it carries "account"',
    );
    expect(await refusal(sign({ exp: now() - 120 }))).toBe("the token has expired (exp)");
    expect(await refusal(sign({ nbf: now() + 600 }))).toBe("the token is not valid yet (nbf)");
    expect(await refusal(sign({ iat: now() + 3600, exp: now() + 3900 }))).toBe(
      "the token's issue time (iat) is in the future",
    );
    expect(await refusal(sign({ exp: 253402300799 }))).toBe(
      "the token is valid for longer than the accepted 86400 seconds",
    );
    expect(await refusal(sign({ iat: undefined, exp: now() + 90000 }))).toMatch(/longer than/);
    expect(await refusal(sign({}, { typ: "id+jwt" }))).toMatch(/type \(typ\) "id\+jwt" is not an accepted/);
    expect(await refusal(sign({}, { typ: SIGN_IN_TOKEN_TYPE }))).toMatch(/sign-in link/);
    expect(await refusal(sign({ at_hash: "x" }, { typ: "JWT" }))).toBe("an ID token is not an access token");
    expect(await refusal(sign({ typ: "ID" }, { typ: "JWT" }))).toBe("an ID token is not an access token");
    expect(await refusal(sign({}, {}, otherKey))).toBe("the token's signature does not verify");
    expect(await refusal(sign({}, { kid: "k9" }))).toBe(
      "the token is signed by a key the issuer does not publish",
    );
    // Accepted: typ JWT (Keycloak, Entra), application/at+jwt, none at all (Okta).
    expect(await refusal(sign({}, { typ: "JWT" }))).toBe("accepted");
    expect(await refusal(sign({}, { typ: "application/at+jwt" }))).toBe("accepted");
    expect(await refusal(sign({}, { typ: undefined }))).toBe("accepted");
    expect(await refusal(sign({ iat: now() + 20 }))).toBe("accepted");
  });

  describe("remembering verified tokens", () => {
    it("answers the same access token again from memory (until its exp), and not when told to keep none", async () => {
      const token = await sign();
      const verifier = new TokenVerifier(options());
      const first = await verifier.verify(token);
      expect(await verifier.verify(token)).toBe(first); // no second jwtVerify: the very same answer
      const uncached = new TokenVerifier(options({ cacheSize: 0 }));
      const again = await uncached.verify(token);
      expect(await uncached.verify(token)).not.toBe(again);
      expect(await uncached.verify(token)).toEqual(again);
    });

    it("refuses a remembered token once it has expired (exp, with the clock skew)", async () => {
      const token = await sign({ exp: now() + 60 });
      const verifier = new TokenVerifier(options());
      await verifier.verify(token);
      vi.useFakeTimers({ toFake: ["Date"], now: Date.now() + 95_000 }); // past exp + 30 s of skew
      try {
        await expect(verifier.verify(token)).rejects.toThrow("the token has expired (exp)");
      } finally {
        vi.useRealTimers();
      }
    });

    it("refuses a remembered token once its key leaves the issuer's key set, or is replaced", async () => {
      const otherJwk = { ...(await exportJWK((await generateKeyPair("ES256")).publicKey)), alg: "ES256" };
      let published: JWK[] = [jwk];
      let clock = Date.now();
      const keys = new CachedKeySet({
        load: async () => ({ keys: published }),
        cooldownMs: 0,
        minIntervalMs: 0,
        maxAgeMs: 1000,
        now: () => clock,
      });
      const verifier = new TokenVerifier(options({ keys: keys.getKey }));
      const token = await sign();
      await verifier.verify(token);
      expect(await verifier.verify(token)).toMatchObject({ sub: "CUST1" });

      published = [{ ...otherJwk, kid: "k2" }]; // k1 withdrawn (rotated out)
      clock += 6000; // the set is stale: the next ask reloads it
      await expect(verifier.verify(token)).rejects.toThrow(
        "the token is signed by a key the issuer does not publish",
      );

      published = [jwk];
      clock += 6000;
      await verifier.verify(token); // remembered again
      published = [{ ...otherJwk, kid: "k1" }]; // k1 now names another key
      clock += 6000;
      await expect(verifier.verify(token)).rejects.toThrow("the token's signature does not verify");
    });

    it("fetches the key set once for a readiness refresh that follows a request's load within the interval", async () => {
      let loads = 0;
      let clock = Date.now();
      const keys = new CachedKeySet({
        load: async () => {
          loads++;
          return { keys: [jwk] };
        },
        cooldownMs: 0,
        minIntervalMs: 1000,
        now: () => clock,
      });
      await new TokenVerifier(options({ keys: keys.getKey })).verify(await sign());
      await keys.refresh(); // the start-up check, overtaken by the request
      expect(loads).toBe(1);
      clock += 1000;
      await keys.refresh(); // a later readiness check loads again: can the provider still be reached?
      expect(loads).toBe(2);
    });

    it("refuses a token with a remembered token's header and payload but another signature", async () => {
      const token = await sign();
      const verifier = new TokenVerifier(options());
      await verifier.verify(token);
      const [header, payload, signature = ""] = token.split(".");
      // The same header and claims signed by a key the issuer does not hold...
      const forged = await sign(JSON.parse(Buffer.from(payload ?? "", "base64url").toString()), {}, otherKey);
      expect(forged.split(".").slice(0, 2).join(".")).toBe(`${header}.${payload}`);
      await expect(verifier.verify(forged)).rejects.toThrow("the token's signature does not verify");
      // ...or the remembered signature altered.
      const flipped = `${signature.slice(0, -2)}${signature.endsWith("AA") ? "BA" : "AA"}`;
      await expect(verifier.verify(`${header}.${payload}.${flipped}`)).rejects.toThrow();
      expect(await verifier.verify(token)).toMatchObject({ sub: "CUST1" });
    });

    it("keeps at most cacheSize tokens, dropping the least recently used", async () => {
      const verifier = new TokenVerifier(options({ cacheSize: 2 }));
      const [a, b, c] = [await sign({ sub: "A" }), await sign({ sub: "B" }), await sign({ sub: "C" })];
      const first = { a: await verifier.verify(a), b: await verifier.verify(b) };
      expect(await verifier.verify(a)).toBe(first.a); // a is now the most recently used
      await verifier.verify(c); // evicts b
      expect(await verifier.verify(a)).toBe(first.a);
      expect(await verifier.verify(b)).not.toBe(first.b);
    });
  });
});
