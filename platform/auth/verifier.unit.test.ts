import { describe, expect, it } from "vitest";
import { rolesOf, TokenVerifier } from "./verifier.js";

describe("rolesOf", () => {
  const claims = ["realm_access.roles", "roles"];

  it("unites the string arrays at each dot path (Keycloak's realm roles and a plain claim)", () => {
    expect(
      rolesOf({ realm_access: { roles: ["operator", "offline_access"] }, roles: ["customer"] }, claims),
    ).toEqual(["operator", "offline_access", "customer"]);
  });

  it("ignores missing paths, non-arrays, non-strings and inherited properties", () => {
    expect(rolesOf({}, claims)).toEqual([]);
    expect(rolesOf({ roles: "operator" }, claims)).toEqual([]);
    expect(rolesOf({ roles: [1, null, "customer", { x: 1 }] }, claims)).toEqual(["customer"]);
    expect(rolesOf({ realm_access: null }, claims)).toEqual([]);
    expect(rolesOf({}, ["constructor.name", "__proto__.roles"])).toEqual([]);
  });
});

describe("TokenVerifier", () => {
  const options = {
    issuer: "https://id.example.com",
    audience: "parking-reservations",
    jwksUrl: async () => new URL("https://id.example.com/certs"),
    clockSkewSeconds: 30,
    rolesClaims: ["roles"],
    jwksCooldownMs: 30_000,
  };

  it("cannot be built to accept none or an HMAC algorithm", () => {
    expect(() => new TokenVerifier({ ...options, algorithms: ["RS256", "HS256"] })).toThrow(/asymmetric/);
    expect(() => new TokenVerifier({ ...options, algorithms: ["none"] })).toThrow(/asymmetric/);
    expect(() => new TokenVerifier({ ...options, algorithms: ["ES256"] })).not.toThrow();
  });

  it("refuses garbage and oversized tokens before fetching any key", async () => {
    const verifier = new TokenVerifier({
      ...options,
      algorithms: ["ES256"],
      jwksUrl: async () => {
        throw new Error("must not fetch keys");
      },
    });
    await expect(verifier.verify("not-a-jwt")).rejects.toThrow(/malformed/);
    await expect(verifier.verify(`${"a".repeat(9000)}.b.c`)).rejects.toThrow(/too long/);
  });
});
