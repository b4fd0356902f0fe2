import { join } from "node:path";
import type { Router } from "express";
import { Router as createRouter } from "express";
import {
  authDirectory,
  DEV_ISSUER,
  devIssuerRoutes,
  ensureSigningKey,
  JWKS_PATH,
  mintDevToken,
} from "../platform/auth/dev-issuer.js";
import { secretFromFile } from "../platform/auth/secret-file.js";
import { sessionFromBearer, sessionRoutes } from "../platform/auth/session.js";
import { discoverJwksUrl, TokenVerifier } from "../platform/auth/verifier.js";
import type { Config } from "../platform/config.js";

/** Longest browser session a sign-in link may ask for. */
export const MAX_SESSION_SECONDS = 12 * 3600;
export const SESSION_LANDING_PATH = "/control-center";

/** How this process authenticates callers: the verifier, and the issuer routes it serves. */
export interface Authentication {
  readonly mode: "embedded" | "external";
  readonly issuer: string;
  readonly verifier: TokenVerifier;
  /** The development issuer's JWKS/discovery and the sign-in routes (embedded mode only). */
  readonly routes: Router;
  /** Tells the embedded issuer where the server listens (its own JWKS URL derives from it). */
  listening(selfUrl: string): void;
}

/**
 * Builds the authentication of a process from its configuration. With AUTH_ISSUER the keys come
 * from AUTH_JWKS_URL or OIDC discovery; without it the process is its own development issuer and
 * verifies through its own JWKS endpoint, over HTTP, like any issuer's.
 */
export async function createAuthentication(
  config: Config,
  options: { readonly claimSignInLink?: (jti: string, expiresAtMs: number) => Promise<boolean> } = {},
): Promise<Authentication> {
  const common = {
    audience: config.authAudience,
    algorithms: config.authAlgorithms,
    clockSkewSeconds: config.authClockSkewSeconds,
    rolesClaims: config.authRolesClaims,
    jwksCooldownMs: config.authJwksCooldownMs,
  };
  if (config.authIssuer !== undefined) {
    const issuer = config.authIssuer;
    const jwksUrl = config.authJwksUrl;
    const verifier = new TokenVerifier({
      ...common,
      issuer,
      jwksUrl: async () => (jwksUrl ? new URL(jwksUrl) : discoverJwksUrl(issuer)),
    });
    // The page signs in at the provider (PKCE) and trades the access token for the session cookie.
    const routes = createRouter();
    routes.use(sessionFromBearer(verifier));
    return { mode: "external", issuer, verifier, routes, listening: () => {} };
  }

  await ensureSigningKey(config.dataDir);
  let resolveSelf: (url: URL) => void = () => {};
  const self = new Promise<URL>((resolve) => {
    resolveSelf = resolve;
  });
  const verifier = new TokenVerifier({
    ...common,
    issuer: DEV_ISSUER,
    algorithms: config.authAlgorithms,
    jwksUrl: () => self,
  });
  const routes = createRouter();
  routes.use(devIssuerRoutes(config.dataDir));
  routes.use(sessionFromBearer(verifier));
  routes.use(
    sessionRoutes({
      verifier,
      landingPath: SESSION_LANDING_PATH,
      ...(options.claimSignInLink ? { claimOnce: options.claimSignInLink } : {}),
      mintSession: async (signIn) => {
        const requested = Number(signIn.claims.session_ttl);
        const maxAgeSeconds =
          Number.isInteger(requested) && requested > 0 ? Math.min(requested, MAX_SESSION_SECONDS) : 3600;
        const token = await mintDevToken(config.dataDir, {
          sub: signIn.sub,
          roles: signIn.roles,
          audience: config.authAudience,
          ttlSeconds: maxAgeSeconds,
        });
        return { token, maxAgeSeconds };
      },
    }),
  );
  return {
    mode: "embedded",
    issuer: DEV_ISSUER,
    verifier,
    routes,
    listening: (selfUrl) => resolveSelf(new URL(JWKS_PATH, selfUrl)),
  };
}

/** The idempotency HMAC key: IDEMPOTENCY_SECRET, else a random one kept under DATA_DIR/auth. */
export function idempotencySecretOf(config: Config): string {
  return (
    config.idempotencySecret ?? secretFromFile(join(authDirectory(config.dataDir), "idempotency-secret"))
  );
}
