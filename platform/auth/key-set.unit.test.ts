import { exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { CachedKeySet } from "./key-set.js";
import { KeySetUnavailableError, TokenVerifier } from "./verifier.js";

/** An unknown key id while the issuer's key set cannot be fetched is an outage, not a bad token. */
describe("CachedKeySet during an outage", () => {
  const ISSUER = "https://id.example.com";
  const keys: JWK[] = [];
  const signers: Awaited<ReturnType<typeof generateKeyPair>>["privateKey"][] = [];
  beforeAll(async () => {
    for (const kid of ["k1", "k2"]) {
      const pair = await generateKeyPair("ES256", { extractable: true });
      signers.push(pair.privateKey);
      keys.push({ ...(await exportJWK(pair.publicKey)), kid, alg: "ES256" });
    }
  });
  const sign = (i: number) =>
    new SignJWT({ roles: ["customer"] })
      .setProtectedHeader({ alg: "ES256", kid: `k${i + 1}`, typ: "at+jwt" })
      .setIssuer(ISSUER)
      .setAudience("parking-reservations")
      .setSubject("CUST1")
      .setIssuedAt()
      .setExpirationTime("5m")
      .sign(signers[i] as never);

  it("answers 'unavailable' for a key id it lacks while the set cannot be fetched, and fetches it as soon as the issuer is back", async () => {
    let published = [keys[0] as JWK];
    let down = false;
    let loads = 0;
    let clock = 0;
    const keySet = new CachedKeySet({
      load: async () => {
        loads++;
        if (down) throw new Error("connect ECONNREFUSED");
        return { keys: published };
      },
      cooldownMs: 30_000,
      minIntervalMs: 0,
      now: () => clock,
    });
    const verifier = new TokenVerifier({
      issuer: ISSUER,
      audience: "parking-reservations",
      keys: keySet.getKey,
      algorithms: ["ES256"],
      clockSkewSeconds: 30,
      rolesClaims: ["roles"],
      tokenTypes: ["at+jwt"],
      maxLifetimeSeconds: 3600,
      cacheSize: 0,
    });
    expect((await verifier.verify(await sign(0))).sub).toBe("CUST1");
    // The issuer rotates to k2 while it is down: the known k1 keeps verifying, k2 is "retry later".
    down = true;
    published = [keys[0] as JWK, keys[1] as JWK];
    clock += 1000;
    expect((await verifier.verify(await sign(0))).sub).toBe("CUST1");
    await expect(verifier.verify(await sign(1))).rejects.toBeInstanceOf(KeySetUnavailableError);
    await expect(verifier.verify(await sign(1))).rejects.toThrow(/cannot be fetched now/);
    // Back: the next token with k2 fetches the set at once (no cooldown left over from the outage).
    down = false;
    clock += 1000;
    const before = loads;
    expect((await verifier.verify(await sign(1))).sub).toBe("CUST1");
    expect(loads).toBe(before + 1);
  });
});
