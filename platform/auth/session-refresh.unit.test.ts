import { describe, expect, it } from "vitest";
import { RefreshRefusedError, SessionResolver } from "./session-refresh.js";
import { MemorySessionStore, type SessionRecord } from "./session-store.js";
import { KeySetUnavailableError, type TokenVerifier, type VerifiedToken } from "./verifier.js";

/** Session renewal: when it refreshes, what a refused or unreachable provider does to the session. */
describe("SessionResolver", () => {
  const T0 = Date.parse("2026-11-23T10:00:00Z");
  const record = (over: Partial<SessionRecord> = {}): SessionRecord => ({
    sub: "ops-1",
    principal: "ops-1",
    roles: ["operator"],
    createdAt: new Date(T0).toISOString(),
    expiresAt: new Date(T0 + 12 * 3600_000).toISOString(),
    accessIssuedAt: new Date(T0).toISOString(),
    accessExpiresAt: new Date(T0 + 600_000).toISOString(),
    refreshToken: "rt-1",
    ...over,
  });
  const verifier = {
    verify: async (token: string): Promise<VerifiedToken> => ({
      sub: "ops-1",
      customerId: "ops-1",
      roles: token === "at-customer" ? ["customer"] : ["operator"],
      grants: [],
      emptyRolesClaims: [],
      claims: { exp: Math.floor((T0 + 1_200_000) / 1000) },
      header: { alg: "RS256" },
    }),
  } as unknown as TokenVerifier;
  const setUp = async (
    refresh: (rt: string) => Promise<{ accessToken: string; refreshToken?: string }>,
    now: number,
  ) => {
    const store = new MemorySessionStore(() => now);
    const id = await store.create(record());
    const calls: string[] = [];
    const resolver = new SessionResolver({
      store,
      verifier,
      principalOf: (t) => t.sub,
      refresh: async (rt) => {
        calls.push(rt);
        return refresh(rt);
      },
      now: () => now,
    });
    return { store, id, calls, resolver };
  };

  it("uses the record as it is while the access token has more than a minute (or half its life) left", async () => {
    const { id, calls, resolver } = await setUp(async () => ({ accessToken: "at-2" }), T0 + 60_000);
    expect(await resolver.resolve(id)).toMatchObject({ record: { roles: ["operator"] } });
    expect(calls).toEqual([]);
  });

  it("renews near expiry with the refresh token kept in the record (rotated when the provider rotates it), once for concurrent requests", async () => {
    const { id, calls, resolver, store } = await setUp(
      async () => ({ accessToken: "at-customer", refreshToken: "rt-2" }),
      T0 + 590_000,
    );
    const [a, b] = await Promise.all([resolver.resolve(id), resolver.resolve(id)]);
    expect(calls).toEqual(["rt-1"]);
    expect(a).toEqual(b);
    expect(await store.get(id)).toMatchObject({ roles: ["customer"], refreshToken: "rt-2" });
  });

  it("ends the session with the provider's reason when it refuses, and keeps saying so", async () => {
    const { id, resolver, store } = await setUp(async () => {
      throw new RefreshRefusedError("the identity provider did not renew the sign-in (invalid_grant)");
    }, T0 + 590_000);
    const ended = {
      ended: "your session has ended: the identity provider did not renew the sign-in (invalid_grant)",
    };
    expect(await resolver.resolve(id)).toEqual(ended);
    expect(await resolver.resolve(id)).toEqual(ended);
    expect(await store.get(id)).toMatchObject({ roles: [], ended: ended.ended });
    expect(await store.get(id)).not.toHaveProperty("refreshToken");
  });

  it("keeps the session through an outage while the token is valid, and ends it after", async () => {
    const down = async () => {
      throw new KeySetUnavailableError("unreachable");
    };
    const before = await setUp(down, T0 + 590_000);
    expect(await before.resolver.resolve(before.id)).toHaveProperty("record");
    const after = await setUp(down, T0 + 700_000);
    expect(await after.resolver.resolve(after.id)).toEqual({
      ended: "your session has ended: the identity provider could not be reached to renew it",
    });
  });

  it("ends a session without a refresh token when its access token expires; an unknown id is ended", async () => {
    const store = new MemorySessionStore(() => T0 + 700_000);
    const id = await store.create(record({ refreshToken: undefined }));
    const resolver = new SessionResolver({
      store,
      verifier,
      principalOf: (t) => t.sub,
      now: () => T0 + 700_000,
    });
    expect(await resolver.resolve(id)).toEqual({
      ended: "your sign-in at the identity provider has expired",
    });
    expect(await resolver.resolve("no-such-session")).toHaveProperty("ended");
  });

  it("renews once across replicas: the one that takes the record's renewal spends the rotating refresh token, the others wait for it", async () => {
    const now = T0 + 600_500; // the access token has expired: every request needs the renewal
    const store = new MemorySessionStore(() => now);
    const id = await store.create(record());
    // A provider that rotates refresh tokens and revokes the whole grant when one is used twice.
    const live = new Set(["rt-1"]);
    let issued = 1;
    const spent: string[] = [];
    const refresh = async (rt: string) => {
      spent.push(rt);
      await new Promise((resolve) => setTimeout(resolve, 30));
      if (!live.delete(rt)) {
        live.clear();
        throw new RefreshRefusedError("the identity provider did not renew the sign-in (invalid_grant)");
      }
      const next = `rt-${++issued}`;
      live.add(next);
      return { accessToken: "at-new", refreshToken: next };
    };
    const replicas = [1, 2].map(
      () => new SessionResolver({ store, verifier, principalOf: (t) => t.sub, refresh, now: () => now }),
    );
    const outcomes = await Promise.all(
      [0, 1, 0, 1, 0, 1].map((i) => (replicas[i] as SessionResolver).resolve(id)),
    );
    expect(outcomes.every((o) => "record" in o)).toBe(true);
    expect(spent).toEqual(["rt-1"]);
    expect(await store.get(id)).toMatchObject({ refreshToken: "rt-2" });
  });

  it("a refusal never overwrites a renewal stored meanwhile", async () => {
    const { id, store, resolver } = await setUp(async () => {
      // While this replica's request is out, another stores its renewal (its hold had lapsed).
      await store.replace(
        id,
        record({ refreshToken: "rt-9", accessExpiresAt: new Date(T0 + 1_800_000).toISOString() }),
      );
      throw new RefreshRefusedError("the identity provider did not renew the sign-in (invalid_grant)");
    }, T0 + 590_000);
    expect(await resolver.resolve(id)).toMatchObject({ record: { refreshToken: "rt-9" } });
    expect(await store.get(id)).toMatchObject({ refreshToken: "rt-9" });
  });
});
