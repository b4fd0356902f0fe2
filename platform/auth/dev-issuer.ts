import { randomUUID } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Request, Response } from "express";
import { exportJWK, generateKeyPair, importJWK, type JWK, SignJWT } from "jose";
import { CachedKeySet } from "./key-set.js";
import { createOnce } from "./secret-file.js";

/**
 * The embedded development issuer: used when no external issuer is configured, so that a fresh
 * clone runs with authentication on. Its signing keys are files under `DATA_DIR/auth/signing-keys`
 * (mode 0600): whoever can read DATA_DIR can mint tokens (`npm run -s token`), nobody else. The
 * service publishes the public keys at /.well-known/jwks.json for other clients, and verifies its
 * own tokens against the key files in-process (never through its own HTTP edge, where callers'
 * rate limits apply). A new key file (rotation) is found at once; tokens signed with the newest key
 * verify without a restart, and older keys keep verifying until their files go.
 */

export const DEV_ISSUER = "urn:parking-reservations:dev-issuer";
export const DEV_ALGORITHM = "ES256";
/** Where the keys are served (their operation's row has the same path); discovery names it. */
export const JWKS_PATH = "/.well-known/jwks.json";

export const authDirectory = (dataDir: string) => join(dataDir, "auth");
const keysDirectory = (dataDir: string) => join(authDirectory(dataDir), "signing-keys");

interface StoredKey {
  readonly kid: string;
  readonly alg: string;
  readonly createdAt: string;
  readonly privateJwk: JWK;
}

/** Key files sorted oldest first (kid starts with the creation time). */
function storedKeys(dataDir: string): StoredKey[] {
  let names: string[];
  try {
    names = readdirSync(keysDirectory(dataDir));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
  return names
    .filter((name) => name.endsWith(".json"))
    .sort()
    .map((name) => JSON.parse(readFileSync(join(keysDirectory(dataDir), name), "utf8")) as StoredKey);
}

/** Creates a new signing key; it becomes the one tokens are signed with. */
export async function rotateSigningKey(dataDir: string): Promise<string> {
  const { privateKey } = await generateKeyPair(DEV_ALGORITHM, { extractable: true });
  const createdAt = new Date().toISOString();
  const kid = `${createdAt.replace(/[-:.]/g, "")}-${randomUUID().slice(0, 8)}`;
  const key: StoredKey = { kid, alg: DEV_ALGORITHM, createdAt, privateJwk: await exportJWK(privateKey) };
  createOnce(join(keysDirectory(dataDir), `${kid}.json`), () => `${JSON.stringify(key)}\n`);
  return kid;
}

export const hasSigningKey = (dataDir: string): boolean => storedKeys(dataDir).length > 0;

/** Makes sure a signing key exists (first start); returns the newest key id. */
export async function ensureSigningKey(dataDir: string): Promise<string> {
  const newest = storedKeys(dataDir).at(-1);
  return newest ? newest.kid : rotateSigningKey(dataDir);
}

/** The public keys of every stored signing key, as a JSON Web Key Set. */
export function publicKeySet(dataDir: string): { keys: JWK[] } {
  return {
    keys: storedKeys(dataDir).map(({ kid, alg, privateJwk }) => {
      const { d: _private, ...publicJwk } = privateJwk;
      return { ...publicJwk, kid, alg, use: "sig" };
    }),
  };
}

/** The development issuer's public keys for the verifier, read from DATA_DIR (again for a new key id). */
export const devKeySet = (dataDir: string): CachedKeySet =>
  new CachedKeySet({ load: async () => publicKeySet(dataDir), cooldownMs: 1000, minIntervalMs: 100 });

export interface MintOptions {
  readonly sub: string;
  readonly roles: readonly string[];
  readonly audience: string;
  readonly ttlSeconds: number;
  /** JWS `typ` header; access tokens use "at+jwt" (RFC 9068). */
  readonly typ?: string;
  readonly claims?: Readonly<Record<string, unknown>>;
}

/** Signs a token with the newest key of DATA_DIR (creating one if there is none yet). */
export async function mintDevToken(dataDir: string, options: MintOptions): Promise<string> {
  await ensureSigningKey(dataDir);
  const newest = storedKeys(dataDir).at(-1);
  if (!newest) throw new Error(`no signing key under ${keysDirectory(dataDir)}`);
  const key = await importJWK(newest.privateJwk, newest.alg);
  const roles = [...options.roles];
  // Both the plain claim and Keycloak's, so that the default AUTH_ROLES_CLAIMS finds them either way.
  return new SignJWT({ ...options.claims, roles, realm_access: { roles } })
    .setProtectedHeader({ alg: newest.alg, kid: newest.kid, typ: options.typ ?? "at+jwt" })
    .setIssuer(DEV_ISSUER)
    .setAudience(options.audience)
    .setSubject(options.sub)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + options.ttlSeconds)
    .setJti(randomUUID())
    .sign(key);
}

/**
 * The handlers of the development issuer's key set and OIDC discovery document (both public). The
 * document names the keys under `publicOrigin` (PUBLIC_URL), never under the request's Host header.
 */
export function devIssuerHandlers(dataDir: string, publicOrigin: () => string) {
  const keys = (_req: Request, res: Response): void => {
    res.setHeader("Cache-Control", "public, max-age=60");
    res.json(publicKeySet(dataDir));
  };
  const discovery = (_req: Request, res: Response): void => {
    const origin = publicOrigin();
    res.json({
      issuer: DEV_ISSUER,
      jwks_uri: `${origin}${JWKS_PATH}`,
      id_token_signing_alg_values_supported: [DEV_ALGORITHM],
      token_endpoint_auth_methods_supported: ["none"],
      response_types_supported: [],
      subject_types_supported: ["public"],
      claims_supported: ["sub", "roles", "iss", "aud", "exp", "iat", "jti"],
      service_documentation: `${origin}/docs`,
    });
  };
  return { keys, discovery };
}
