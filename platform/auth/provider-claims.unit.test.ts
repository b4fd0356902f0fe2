import type { Request } from "express";
import { exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { configWarnings, loadConfig } from "../config.js";
import { ProblemError } from "../http/problem.js";
import { accessControl } from "./access.js";
import { claimPathSegments, quotedUrlClaimPath } from "./claim-path.js";
import { CachedKeySet } from "./key-set.js";
import { bearerChallenge, setPrincipal } from "./principal.js";
import { TokenVerifier } from "./verifier.js";

type KeyLike = Awaited<ReturnType<typeof generateKeyPair>>["privateKey"];

/**
 * Tokens shaped as the providers issue them, read through the settings an operator writes
 * (docs/operations.md): Auth0's namespaced claims (a URL as the key, dots and slashes in it) and
 * Okta's groups (names with spaces, lot groups with a prefix).
 */
describe("claims as providers shape them", () => {
  const ISSUER = "https://tenant.example.com/";
  let privateKey: KeyLike;
  let jwk: JWK;
  beforeAll(async () => {
    const pair = await generateKeyPair("RS256", { extractable: true });
    privateKey = pair.privateKey;
    jwk = { ...(await exportJWK(pair.publicKey)), kid: "k1", alg: "RS256" };
  });
  const verifierFor = (env: Record<string, string>) => {
    const config = loadConfig({ AUTH_ISSUER: ISSUER, ...env });
    return new TokenVerifier({
      issuer: ISSUER,
      audience: config.authAudience,
      keys: new CachedKeySet({ load: async () => ({ keys: [jwk] }), cooldownMs: 0, minIntervalMs: 0 }).getKey,
      algorithms: config.authAlgorithms,
      clockSkewSeconds: config.authClockSkewSeconds,
      rolesClaims: config.authRolesClaims,
      roleMap: config.authRoleMap,
      customerIdClaim: config.authCustomerIdClaim,
      grants: { claim: config.authLotsClaim, prefix: config.authLotsPrefix },
      tokenTypes: config.authTokenTypes,
      maxLifetimeSeconds: config.authMaxTokenLifetimeSeconds,
    });
  };
  const sign = (claims: Record<string, unknown>) =>
    new SignJWT({ aud: "parking-reservations", ...claims })
      .setProtectedHeader({ alg: "RS256", kid: "k1" })
      .setIssuer(ISSUER)
      .setIssuedAt()
      .setExpirationTime("5m")
      .sign(privateKey);

  it("claim paths: dots, JSON pointers, quoted keys holding dots and slashes", () => {
    expect(claimPathSegments("realm_access.roles")).toEqual(["realm_access", "roles"]);
    expect(claimPathSegments('"https://example.com/roles"')).toEqual(["https://example.com/roles"]);
    expect(claimPathSegments('app_metadata."parking.lots"')).toEqual(["app_metadata", "parking.lots"]);
    expect(claimPathSegments("/https:~1~1example.com~1roles")).toEqual(["https://example.com/roles"]);
    expect(claimPathSegments("/a~0b/c")).toEqual(["a~b", "c"]);
    for (const bad of ["", '"unclosed', "a..b", '"x"y', "/", "a b"])
      expect(claimPathSegments(bad)).toBeUndefined();
  });

  it("Auth0: roles, the customer id and lots under namespaced claims (https://example.com/…)", async () => {
    const verifier = verifierFor({
      AUTH_ROLES_CLAIMS: '"https://example.com/roles"',
      AUTH_ROLE_MAP: "Parking Admin=admin,Lot Manager=operator",
      AUTH_CUSTOMER_ID_CLAIM: "/https:~1~1example.com~1customer_id",
      AUTH_LOTS_CLAIM: '"https://example.com/lots"',
    });
    const token = await verifier.verify(
      await sign({
        sub: "auth0|ops-7",
        "https://example.com/roles": ["Lot Manager"],
        "https://example.com/lots": ["gangnam-1", "gangnam-*"],
        "https://example.com/customer_id": "c-7",
      }),
    );
    expect(token).toMatchObject({
      roles: ["operator"],
      grants: ["gangnam-1", "gangnam-*"],
      customerId: "c-7",
      emptyRolesClaims: [],
    });
    // Written as a dot path, the same key is split at its dots and finds nothing: the log says so.
    const split = await verifierFor({ AUTH_ROLES_CLAIMS: "https://example.com/roles" }).verify(
      await sign({ sub: "auth0|ops-7", "https://example.com/roles": ["operator"] }),
    );
    expect(split).toMatchObject({ roles: [], emptyRolesClaims: ["https://example.com/roles"] });
  });

  it("an unquoted URL-shaped claim path is a warning at start that gives the quoted form to use", () => {
    const warned = configWarnings(
      loadConfig({
        AUTH_ROLES_CLAIMS: "realm_access.roles,https://example.com/roles",
        AUTH_LOTS_CLAIM: "app_metadata.https://example.com/lots",
        AUTH_CUSTOMER_ID_CLAIM: "urn:example:customer",
      }),
    );
    expect(warned).toEqual([
      {
        variable: "AUTH_ROLES_CLAIMS",
        message: expect.stringContaining('quote the URL as one key: "https://example.com/roles"'),
      },
      {
        variable: "AUTH_LOTS_CLAIM",
        message: expect.stringContaining('quote the URL as one key: app_metadata."https://example.com/lots"'),
      },
    ]);
    // What the warning suggests is the path that finds the claim.
    expect(claimPathSegments(quotedUrlClaimPath("https://example.com/roles") ?? "")).toEqual([
      "https://example.com/roles",
    ]);
    // Quoted, a JSON pointer, or no URL at all: nothing to say.
    for (const path of ['"https://example.com/roles"', "/https:~1~1example.com~1roles", "realm_access.roles"])
      expect(quotedUrlClaimPath(path), path).toBeUndefined();
    expect(configWarnings(loadConfig({ AUTH_ROLES_CLAIMS: '"https://example.com/roles"' }))).toEqual([]);
  });

  it("Okta: groups with spaces mapped to roles, lot groups by a prefix", async () => {
    const verifier = verifierFor({
      AUTH_ROLES_CLAIMS: "groups",
      AUTH_ROLE_MAP: "Parking Admins = admin, Lot Attendants=attendant",
      AUTH_LOTS_CLAIM: "groups",
      AUTH_LOTS_PREFIX: "lots:",
    });
    const token = await verifier.verify(
      await sign({
        sub: "00u1abcd",
        groups: ["Everyone", "Lot Attendants", "lots:gangnam-1", "lots:seocho-*"],
      }),
    );
    expect(token.roles).toContain("attendant");
    expect(token.grants).toEqual(["gangnam-1", "seocho-*"]);
    const admin = await verifier.verify(await sign({ sub: "00u2", groups: "Parking Admins" }));
    expect(admin.roles).toEqual(["admin"]);
    expect(() => loadConfig({ AUTH_ROLE_MAP: "Parking Admins=superuser" })).toThrow(/AUTH_ROLE_MAP/);
  });

  it("a 403 names the roles the token carried, and the first one logs which roles claims were empty, once", () => {
    const warn = vi.fn();
    const control = accessControl([{ method: "POST", path: "/lots", allow: ["operator"] }], ["admin"], {
      warn,
    });
    const refusal = (roles: string[], emptyRolesClaims: string[]) => {
      const req = { method: "POST", path: "/lots", get: () => undefined } as unknown as Request;
      setPrincipal(req, { sub: "x", roles, emptyRolesClaims, via: "bearer" });
      let error: unknown;
      control(req, {} as never, (e?: unknown) => {
        error = e;
      });
      return error as ProblemError;
    };
    const first = refusal(["Everyone", "Parking Admins"], ["realm_access.roles"]);
    expect(first).toBeInstanceOf(ProblemError);
    expect(first.detail).toBe(
      'POST /lots needs the role operator; the token carries the roles "Everyone", "Parking Admins".',
    );
    expect(refusal([], ["realm_access.roles", "roles"]).detail).toMatch(
      /carries no role \(see AUTH_ROLES_CLAIMS/,
    );
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0]?.[0]).toMatchObject({ emptyRolesClaims: ["realm_access.roles"] });
  });

  it("a challenge keeps the quotes of what it says (a quoted-string, escaped)", () => {
    expect(
      bearerChallenge({
        code: "invalid_token",
        description: 'the token\'s issuer (iss) is not the expected "https://a/"',
      }),
    ).toBe(
      'Bearer realm="parking-reservations", error="invalid_token", error_description="the token\'s issuer (iss) is not the expected \\"https://a/\\""',
    );
  });
});
