import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { generateKeyPair, importJWK, type JWK, SignJWT } from "jose";
import { DEV_ISSUER, mintDevToken, publicKeySet } from "../platform/auth/dev-issuer.js";
import { SIGN_IN_TOKEN_TYPE } from "../platform/auth/verifier.js";

/**
 * Tokens for tests, minted with the embedded development issuer's key in a service's DATA_DIR
 * (the key is created if the service has not started yet: the service then uses the same one).
 * Every process on that DATA_DIR accepts them, as it accepts `npm run -s token`'s.
 */

export const TEST_AUDIENCE = "parking-reservations";
export const TEST_OPERATOR = "ops-test";
export { DEV_ISSUER };

export interface TestTokenClaims {
  readonly sub: string;
  /** One role, or the full list (e.g. [] for a token without any role). */
  readonly role: "customer" | "operator" | "attendant" | "admin" | "gate" | readonly string[];
  /** The `lots` grant; an operator without one gets `*` (every lot), as from `npm run -s token`. */
  readonly lots?: readonly string[];
  readonly ttlSeconds?: number;
  readonly audience?: string;
}

export function mintToken(dataDir: string, claims: TestTokenClaims): Promise<string> {
  const roles = typeof claims.role === "string" ? [claims.role] : claims.role;
  const lots = claims.lots ?? (claims.role === "operator" ? ["*"] : undefined);
  return mintDevToken(dataDir, {
    sub: claims.sub,
    roles,
    audience: claims.audience ?? TEST_AUDIENCE,
    ttlSeconds: claims.ttlSeconds ?? 3600,
    ...(lots ? { claims: { lots } } : {}),
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

/** The newest signing key of a DATA_DIR's development issuer, to forge tokens in tests. */
async function devSigningKey(
  dataDir: string,
): Promise<{ kid: string; alg: string; key: Awaited<ReturnType<typeof importJWK>> }> {
  const folder = join(dataDir, "auth", "signing-keys");
  const newest = readdirSync(folder).sort().at(-1);
  if (!newest) throw new Error(`no signing key under ${folder}`);
  const stored = JSON.parse(readFileSync(join(folder, newest), "utf8")) as {
    kid: string;
    alg: string;
    privateJwk: JWK;
  };
  return { kid: stored.kid, alg: stored.alg, key: await importJWK(stored.privateJwk, stored.alg) };
}

/**
 * A token signed with the DATA_DIR's real key but with chosen claims (wrong issuer, expired...),
 * the way an attacker holding an old or misdirected token would present it.
 */
export async function forgeToken(
  dataDir: string,
  options: {
    readonly sub: string;
    readonly roles: readonly string[];
    readonly issuer?: string;
    readonly audience?: string;
    /** Seconds from now; negative for an expired token. */
    readonly expiresIn?: number;
    readonly notBefore?: number;
  },
): Promise<string> {
  const { kid, alg, key } = await devSigningKey(dataDir);
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({ roles: [...options.roles] })
    .setProtectedHeader({ alg, kid, typ: "at+jwt" })
    .setIssuer(options.issuer ?? DEV_ISSUER)
    .setAudience(options.audience ?? TEST_AUDIENCE)
    .setSubject(options.sub)
    .setIssuedAt(now - 7200)
    .setExpirationTime(now + (options.expiresIn ?? 3600));
  if (options.notBefore !== undefined) jwt.setNotBefore(now + options.notBefore);
  return jwt.sign(key);
}

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

/** An unsigned token (`alg: none`) with otherwise valid claims. */
export function unsignedToken(sub: string, roles: readonly string[]): string {
  const now = Math.floor(Date.now() / 1000);
  const payload = { iss: DEV_ISSUER, aud: TEST_AUDIENCE, sub, roles, iat: now, exp: now + 3600 };
  return `${base64url({ alg: "none", typ: "JWT" })}.${base64url(payload)}.`;
}

/** A valid token whose payload was edited afterwards (the signature no longer matches). */
export function tamperedToken(token: string, claims: Record<string, unknown>): string {
  const [header, payload, signature] = token.split(".");
  const edited = {
    ...(JSON.parse(Buffer.from(payload ?? "", "base64url").toString("utf8")) as object),
    ...claims,
  };
  return `${header}.${base64url(edited)}.${signature}`;
}

/** A well-formed token signed by a key the issuer has never published. */
export async function unknownKeyToken(sub: string, roles: readonly string[]): Promise<string> {
  const { privateKey } = await generateKeyPair("ES256");
  return new SignJWT({ roles: [...roles] })
    .setProtectedHeader({ alg: "ES256", kid: "not-published", typ: "at+jwt" })
    .setIssuer(DEV_ISSUER)
    .setAudience(TEST_AUDIENCE)
    .setSubject(sub)
    .setIssuedAt()
    .setExpirationTime("1h")
    .sign(privateKey);
}

/** HS256 signed with the issuer's public key as the secret (the classic algorithm confusion). */
export async function hmacWithPublicKeyToken(
  dataDir: string,
  sub: string,
  roles: readonly string[],
): Promise<string> {
  const jwks = publicKeySet(dataDir);
  const secret = new TextEncoder().encode(JSON.stringify(jwks.keys[0]));
  return new SignJWT({ roles: [...roles] })
    .setProtectedHeader({ alg: "HS256", kid: jwks.keys[0]?.kid ?? "x" })
    .setIssuer(DEV_ISSUER)
    .setAudience(TEST_AUDIENCE)
    .setSubject(sub)
    .setIssuedAt()
    .setExpirationTime("1h")
    .sign(secret);
}

/** A browser sign-in link for a service on `dataDir` (as `npm run -s token -- --sign-in-url` prints). */
export async function signInUrl(
  dataDir: string,
  baseUrl: string,
  who: {
    readonly sub: string;
    readonly role: "customer" | "operator" | "attendant" | "admin";
    readonly lots?: readonly string[];
  } = {
    sub: TEST_OPERATOR,
    role: "operator",
  },
): Promise<string> {
  const lots = who.lots ?? (who.role === "operator" ? ["*"] : undefined);
  const token = await mintDevToken(dataDir, {
    sub: who.sub,
    roles: [who.role],
    audience: TEST_AUDIENCE,
    ttlSeconds: 300,
    typ: SIGN_IN_TOKEN_TYPE,
    claims: { session_ttl: 3600, ...(lots ? { lots } : {}) },
  });
  const url = new URL("/sign-in", baseUrl);
  url.searchParams.set("token", token);
  return url.href;
}
