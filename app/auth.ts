import { join } from "node:path";
import type { Request, RequestHandler } from "express";
import type { DocumentStore } from "../document-store/port.js";
import {
  authDirectory,
  DEV_ISSUER,
  devIssuerHandlers,
  devKeySet,
  ensureSigningKey,
} from "../platform/auth/dev-issuer.js";
import { authenticate, principalIdOf, sessionCookieOf } from "../platform/auth/middleware.js";
import { ExternalProvider, type ReadinessCheck } from "../platform/auth/provider.js";
import { secretFromFile } from "../platform/auth/secret-file.js";
import {
  type EndSession,
  linkSignIn,
  revokeSessions,
  type SessionHandlerOptions,
  signOut,
  startSession,
} from "../platform/auth/session.js";
import { refreshAtTokenEndpoint, SessionResolver } from "../platform/auth/session-refresh.js";
import { MemorySessionStore, type SessionStore } from "../platform/auth/session-store.js";
import { TokenVerifier, type TokenVerifierOptions } from "../platform/auth/verifier.js";
import { type Config, publicOrigin } from "../platform/config.js";
import type { HandlersOf, OperationHandler } from "../platform/http/operation-routes.js";
import type { Logger } from "../platform/logger.js";
import { everyLotOnly } from "../read-api/access.js";
import { STAFF_ROLES } from "../schemas/actor.js";
import { DocumentSessionStore } from "./document-session-store.js";
import type { APP_OPERATIONS, AuthenticationOperationId } from "./surface/app-operations.js";

export { MAX_SESSION_SECONDS } from "../platform/auth/session.js";
export const SESSION_LANDING_PATH = "/control-center";
/** The development issuer's access tokens carry this `typ` (RFC 9068), and only this one is accepted. */
const DEV_TOKEN_TYPES = ["at+jwt"];

/** The handlers of the authentication's rows of the operation table (app/surface/app-operations.ts). */
export type AuthenticationHandlers = Pick<HandlersOf<typeof APP_OPERATIONS>, AuthenticationOperationId>;

/** How this process authenticates callers: the verifier, the middleware, and its operations' handlers. */
export interface Authentication {
  readonly mode: "embedded" | "external";
  readonly issuer: string;
  readonly verifier: TokenVerifier;
  /** Establishes the caller of each request (bearer token or session cookie). */
  readonly authenticate: RequestHandler;
  /**
   * The development issuer's JWKS/discovery, the sign-in, session and sign-out operations (served
   * from the table by app/surface/app-routes.ts); those a mode does not have pass on to the 404.
   */
  readonly handlers: AuthenticationHandlers;
  /** Whether tokens can be checked (the provider's discovery and keys): part of /readyz. */
  readiness(): Promise<ReadinessCheck>;
  /** Told where the server listens (the development issuer's discovery names it without PUBLIC_URL). */
  listening(selfUrl: string): void;
  /**
   * For a request authenticated by a session cookie: whether that session is still live (signed
   * out, revoked or ended sessions are not), read from the store every replica shares; undefined
   * for any other request. A live stream asks it to end when its session does.
   */
  sessionCheck(req: Request): (() => Promise<boolean>) | undefined;
  /**
   * Ends every browser session of a customer at once, on every replica (the records are deleted
   * from the store they share), and not those of staff who share the id: erasing a customer does
   * this before it answers. How many were live.
   */
  endCustomerSessions(customerId: string): Promise<number>;
}

export interface AuthenticationOptions {
  readonly claimSignInLink?: (jti: string, expiresAtMs: number) => Promise<boolean>;
  /** Where session records are kept; without it, this process's memory (a lone process, tests). */
  readonly documentStore?: () => Promise<DocumentStore>;
  readonly logger?: Logger;
  /** Who may not start a session although their token is valid (an erased customer). */
  readonly refuseSession?: SessionHandlerOptions["refuse"];
}

/** What both identity modes build on: the verifier's settings, the session store, the cookies' rule. */
interface Shared {
  readonly config: Config;
  readonly options: AuthenticationOptions;
  readonly common: Omit<TokenVerifierOptions, "issuer" | "keys" | "tokenTypes">;
  readonly store: SessionStore;
  readonly principalOf: ReturnType<typeof principalIdOf>;
  readonly cookies: { readonly secure: (req: Request) => boolean };
}

/**
 * Builds the authentication of a process from its configuration. With AUTH_ISSUER the keys come
 * from AUTH_JWKS_URL or OIDC discovery, checked at start (logged loudly when wrong) and by
 * /readyz; without it the process is its own development issuer and verifies against its key
 * files in-process.
 */
export async function createAuthentication(
  config: Config,
  options: AuthenticationOptions = {},
): Promise<Authentication> {
  const common = {
    audience: config.authAudience,
    algorithms: config.authAlgorithms,
    clockSkewSeconds: config.authClockSkewSeconds,
    rolesClaims: config.authRolesClaims,
    roleMap: config.authRoleMap,
    customerIdClaim: config.authCustomerIdClaim,
    grants: { claim: config.authLotsClaim, prefix: config.authLotsPrefix },
    maxLifetimeSeconds: config.authMaxTokenLifetimeSeconds,
  };
  const store: SessionStore = options.documentStore
    ? new DocumentSessionStore(options.documentStore)
    : new MemorySessionStore();
  const principalOf = principalIdOf(config.authCustomerIdClaim);
  const https = publicOrigin(config).startsWith("https:");
  const cookies = { secure: (req: Request) => req.secure || https };
  const shared: Shared = { config, options, common, store, principalOf, cookies };
  return config.authIssuer !== undefined
    ? externalAuthentication(shared, config.authIssuer)
    : embeddedAuthentication(shared);
}

/**
 * An external OpenID Connect provider: its keys from discovery (or AUTH_JWKS_URL), sessions
 * refreshed at its token endpoint, its usability checked at start and by /readyz.
 */
function externalAuthentication(shared: Shared, issuer: string): Authentication {
  const { config, options, store, principalOf, cookies } = shared;
  const provider = new ExternalProvider({
    issuer,
    ...(config.authJwksUrl ? { jwksUrl: config.authJwksUrl } : {}),
    cooldownMs: config.authJwksCooldownMs,
  });
  const verifier = new TokenVerifier({
    ...shared.common,
    issuer,
    keys: provider.keySet.getKey,
    tokenTypes: config.authTokenTypes,
  });
  const sessions = new SessionResolver({
    store,
    verifier,
    principalOf,
    refresh: refreshAtTokenEndpoint({
      tokenEndpoint: async () => {
        const endpoint = (await provider.metadata()).token_endpoint;
        if (!endpoint) throw new Error("the provider's discovery document names no token_endpoint");
        return endpoint;
      },
      clientId: config.pageOidcClientId,
      ...(config.pageOidcResource ? { resource: config.pageOidcResource } : {}),
    }),
  });
  // The page signs in at the provider (PKCE) and trades the access token for a session; the
  // development issuer's keys, discovery and sign-in links are not served (404).
  warnWithoutPageAudience(config, options.logger);
  const handlers: AuthenticationHandlers = {
    ...sessionHandlers(
      { verifier, sessions: store, principalOf, ...cookies, ...refusalOf(options) },
      endSessionAt(provider, config),
    ),
    getDevIssuerKeys: notServed,
    getDevIssuerDiscovery: notServed,
    signIn: notServed,
  };
  return authenticationOf(shared, sessions, handlers, {
    opaqueTokenAdvice: opaqueTokenAdvice(config),
    mode: "external",
    issuer,
    verifier,
    readiness: providerReadiness(provider, issuer, options.logger),
    listening: () => {},
  });
}

/**
 * What the page is told when the provider gave it an access token that is not a JWT: with neither
 * PAGE_OIDC_AUDIENCE nor PAGE_OIDC_RESOURCE set, that one of them is missing (providers such as
 * Auth0 and oidc-provider issue a JWT for an API only when the sign-in names it); with one set,
 * that the provider does not know it.
 */
export function opaqueTokenAdvice(config: Config): string {
  const named = [
    config.pageOidcAudience !== undefined ? `PAGE_OIDC_AUDIENCE=${config.pageOidcAudience}` : "",
    config.pageOidcResource !== undefined ? `PAGE_OIDC_RESOURCE=${config.pageOidcResource}` : "",
  ].filter(Boolean);
  const client =
    " (An API client asks its provider for a token for this API the same way: its audience or resource.)";
  return named.length === 0
    ? `The access token is not a JWT: the provider issued an opaque token for itself, as it does when the sign-in names no API, and PAGE_OIDC_AUDIENCE or PAGE_OIDC_RESOURCE is not set. Set PAGE_OIDC_AUDIENCE (Auth0: the API's identifier) or PAGE_OIDC_RESOURCE (an RFC 8707 resource indicator) so that the page's sign-in gets a JWT for this API.${client}`
    : `The access token is not a JWT although the page's sign-in asks for ${named.join(" and ")}: check that the provider knows that API and issues JWT access tokens for it.${client}`;
}

/** Said once at start: the page's sign-in names no API, which some providers need (see opaqueTokenAdvice). */
function warnWithoutPageAudience(config: Config, logger: Logger | undefined): void {
  if (config.pageOidcAudience !== undefined || config.pageOidcResource !== undefined) return;
  logger?.warn(
    { setting: "PAGE_OIDC_AUDIENCE / PAGE_OIDC_RESOURCE" },
    "the page's sign-in names no API (PAGE_OIDC_AUDIENCE and PAGE_OIDC_RESOURCE are unset): a provider that issues JWT access tokens only for a named API (Auth0, oidc-provider) gives the page opaque tokens the service cannot verify; set the one your provider uses if page sign-ins fail",
  );
}

/**
 * The provider checked at start (a wrong issuer or an unreachable provider is said at once, not
 * per request), then at every poll of /readyz, logged once per change of what the check says.
 */
function providerReadiness(
  provider: ExternalProvider,
  issuer: string,
  logger: Logger | undefined,
): () => Promise<ReadinessCheck> {
  let lastDetail: string | undefined;
  void provider.check().then((check) => {
    lastDetail = check.detail;
    if (!check.ok) logger?.error({ issuer, reason: check.detail }, "the identity provider is not usable");
    else logger?.info({ issuer }, "the identity provider's discovery and keys were checked");
  });
  return async () => {
    const check = await provider.check();
    // Said once per change, not at every poll of /readyz.
    if (check.detail !== lastDetail) {
      lastDetail = check.detail;
      if (!check.ok)
        logger?.error({ issuer, reason: check.detail }, "not ready: the identity provider is not usable");
      else if (check.detail)
        logger?.warn({ issuer, reason: check.detail }, "the identity provider cannot be reached");
    }
    return check;
  };
}

/**
 * The process as its own development issuer: its key files under DATA_DIR, its JWKS and discovery,
 * and sign-in links minted by the token CLI.
 */
async function embeddedAuthentication(shared: Shared): Promise<Authentication> {
  const { config, options, store, principalOf, cookies } = shared;
  await ensureSigningKey(config.dataDir);
  const verifier = new TokenVerifier({
    ...shared.common,
    issuer: DEV_ISSUER,
    keys: devKeySet(config.dataDir).getKey,
    tokenTypes: DEV_TOKEN_TYPES,
  });
  const sessions = new SessionResolver({ store, verifier, principalOf });
  // Discovery names the keys under PUBLIC_URL, else where the server listens: never the Host header.
  let origin = publicOrigin(config);
  const issuer = devIssuerHandlers(config.dataDir, () => origin);
  const sessionOptions = { verifier, sessions: store, principalOf, ...cookies, ...refusalOf(options) };
  const handlers: AuthenticationHandlers = {
    ...sessionHandlers(sessionOptions),
    getDevIssuerKeys: issuer.keys,
    getDevIssuerDiscovery: issuer.discovery,
    signIn: linkSignIn({
      ...sessionOptions,
      landingPath: SESSION_LANDING_PATH,
      ...(options.claimSignInLink ? { claimOnce: options.claimSignInLink } : {}),
    }),
  };
  return authenticationOf(shared, sessions, handlers, {
    mode: "embedded",
    issuer: DEV_ISSUER,
    verifier,
    readiness: async () => ({ ok: true }),
    listening: (selfUrl) => {
      if (config.publicUrl === undefined) origin = new URL(selfUrl).origin;
    },
  });
}

/** Both modes authenticate a request alike, over their own verifier and session resolver. */
function authenticationOf(
  shared: Shared,
  sessions: SessionResolver,
  handlers: AuthenticationHandlers,
  withAdvice: Omit<Authentication, "authenticate" | "handlers" | "sessionCheck" | "endCustomerSessions"> & {
    readonly opaqueTokenAdvice?: string;
  },
): Authentication {
  const { options, principalOf, cookies } = shared;
  const { opaqueTokenAdvice: advice, ...mode } = withAdvice;
  const logger = options.logger ? { logger: options.logger } : {};
  const middleware = authenticate({
    verifier: mode.verifier,
    sessions,
    principalOf,
    secureCookie: cookies.secure,
    ...logger,
    ...(advice !== undefined ? { opaqueTokenAdvice: advice } : {}),
  });
  const sessionCheck = (req: Request) => {
    const id = sessionCookieOf(req);
    if (id === undefined || req.get("authorization") !== undefined) return undefined;
    return async () => {
      const record = await shared.store.get(id);
      return record !== undefined && record.ended === undefined;
    };
  };
  const endCustomerSessions = (customerId: string) => shared.store.revokePrincipal(customerId, STAFF_ROLES);
  return { ...mode, authenticate: middleware, handlers, sessionCheck, endCustomerSessions };
}

/** The idempotency HMAC key: IDEMPOTENCY_SECRET, else a random one kept under DATA_DIR/auth. */
export function idempotencySecretOf(config: Config): string {
  return (
    config.idempotencySecret ?? secretFromFile(join(authDirectory(config.dataDir), "idempotency-secret"))
  );
}

/** The key that seals webhook signing secrets: WEBHOOK_SECRET_KEY, else a random one kept under DATA_DIR/webhooks. */
export function webhookKeyOf(config: Config): string {
  return config.webhookSecretKey ?? secretFromFile(join(config.dataDir, "webhooks", "secret-key"));
}

/**
 * The provider's sign-out for a session (RP-initiated logout): its discovery's
 * `end_session_endpoint` with the session's ID token as `id_token_hint`, the page's client id, and
 * `post_logout_redirect_uri` the landing page (under PUBLIC_URL, else this request's origin; the
 * provider accepts only the URIs registered for the client).
 */
function endSessionAt(provider: ExternalProvider, config: Config): EndSession {
  return async (req, idToken) => {
    const endpoint = (await provider.metadata()).end_session_endpoint;
    if (!endpoint) return undefined;
    const origin =
      config.publicUrl !== undefined ? publicOrigin(config) : `${req.protocol}://${req.get("host")}`;
    const url = new URL(endpoint);
    if (idToken) url.searchParams.set("id_token_hint", idToken);
    url.searchParams.set("client_id", config.pageOidcClientId);
    url.searchParams.set("post_logout_redirect_uri", `${origin}${SESSION_LANDING_PATH}`);
    return url.href;
  };
}

/** The application's refusal of a session, when it has one. */
const refusalOf = (options: AuthenticationOptions) =>
  options.refuseSession ? { refuse: options.refuseSession } : {};

/** An operation this identity mode does not have: it passes on to the 404. */
const notServed: OperationHandler<never> = (_req, _res, next) => next();

/**
 * The session operations both identity modes serve: a session from a bearer token (the page's
 * sign-in), sign-out, and an operator's revocation of a subject's sessions.
 */
function sessionHandlers(options: Omit<SessionHandlerOptions, "landingPath">, endSession?: EndSession) {
  return {
    startSession: startSession({ ...options, landingPath: SESSION_LANDING_PATH }),
    signOut: signOut({
      ...options,
      landingPath: SESSION_LANDING_PATH,
      ...(endSession ? { endSession } : {}),
    }),
    // A subject's sessions may be an admin's: ending them reaches past any one lot's grant.
    revokeSessions: everyLotOnly(
      revokeSessions({ sessions: options.sessions }),
      "Ending another subject's sessions",
    ),
  };
}
