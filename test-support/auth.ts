import { DEV_ISSUER, mintDevToken } from "../platform/auth/dev-issuer.js";

/**
 * Tokens for tests, minted with the embedded development issuer's key in a service's DATA_DIR
 * (the key is created if the service has not started yet: the service then uses the same one).
 * Every process on that DATA_DIR accepts them, as it accepts `npm run token`'s.
 */

export const TEST_AUDIENCE = "parking-reservations";
export const TEST_OPERATOR = "ops-test";
export { DEV_ISSUER };

export interface TestTokenClaims {
  readonly sub: string;
  /** One role, or the full list (e.g. [] for a token without any role). */
  readonly role: "customer" | "operator" | readonly string[];
  readonly ttlSeconds?: number;
  readonly audience?: string;
}

export function mintToken(dataDir: string, claims: TestTokenClaims): Promise<string> {
  const roles = typeof claims.role === "string" ? [claims.role] : claims.role;
  return mintDevToken(dataDir, {
    sub: claims.sub,
    roles,
    audience: claims.audience ?? TEST_AUDIENCE,
    ttlSeconds: claims.ttlSeconds ?? 3600,
  });
}

export type AuthHeaders = { authorization: string };

export const bearer = (token: string): AuthHeaders => ({ authorization: `Bearer ${token}` });

export async function operatorHeaders(dataDir: string, sub = TEST_OPERATOR): Promise<AuthHeaders> {
  return bearer(await mintToken(dataDir, { sub, role: "operator" }));
}

export async function customerHeaders(dataDir: string, customerId: string): Promise<AuthHeaders> {
  return bearer(await mintToken(dataDir, { sub: customerId, role: "customer" }));
}

/**
 * Services started through test-support (startTestService, spawnService, startServiceChild) are
 * registered here with their DATA_DIR, and `call()` sends the test operator's token to them unless
 * the test passes its own `authorization` header (`ANONYMOUS` sends none).
 */
const dataDirs = new Map<string, string>();
const operatorTokens = new Map<string, { token: Promise<string>; mintedAt: number }>();

export const ANONYMOUS: AuthHeaders = { authorization: "" };

export function registerServiceDataDir(url: string, dataDir: string): void {
  dataDirs.set(new URL(url).origin, dataDir);
}

/** The test operator's headers for a registered service; none for any other URL. */
export async function defaultAuthFor(url: string): Promise<Partial<AuthHeaders>> {
  const dataDir = dataDirs.get(new URL(url).origin);
  if (!dataDir) return {};
  let cached = operatorTokens.get(dataDir);
  if (!cached || Date.now() - cached.mintedAt > 30 * 60_000) {
    cached = { token: mintToken(dataDir, { sub: TEST_OPERATOR, role: "operator" }), mintedAt: Date.now() };
    operatorTokens.set(dataDir, cached);
  }
  return bearer(await cached.token);
}
