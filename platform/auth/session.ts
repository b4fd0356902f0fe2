import { serialize } from "cookie";
import type { Request, Response } from "express";
import { bodyOf, type OperationHandler, queryOf } from "../http/operation-routes.js";
import { ProblemError } from "../http/problem.js";
import { isSameOrigin, SESSION_COOKIE, sessionCookieOf } from "./middleware.js";
import type { SessionRecord, SessionStore } from "./session-store.js";
import {
  RevokeSessionsBody,
  type SessionsRevoked,
  SignInQuery,
  StartSessionBody,
} from "./sign-in-schemas.js";
import {
  InvalidTokenError,
  KeySetUnavailableError,
  SIGN_IN_TOKEN_TYPE,
  type TokenVerifier,
  type VerifiedToken,
} from "./verifier.js";

/** A sign-in link is valid this long at most, whatever its token says. */
export const SIGN_IN_LINK_MAX_AGE_SECONDS = 300;
/** Longest browser session, however it was started (refreshes do not extend it). */
export const MAX_SESSION_SECONDS = 12 * 3600;
/** Where a sign-in link leads (the token CLI builds links to it; its operation's row has the same path). */
export const SIGN_IN_PATH = "/sign-in";

/**
 * Answers with a page that moves on to `path` at once (meta refresh): the sign-in link leaves the
 * address bar, and the next navigation starts on this origin, so the SameSite=Strict cookie goes
 * with it even when the link was opened from another site.
 */
const attribute = (value: string) =>
  value.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

function continueTo(res: Response, path: string, message: string): void {
  res
    .status(200)
    .set({ "Cache-Control": "no-store", "Referrer-Policy": "no-referrer" })
    .type("html")
    .send(
      `<!doctype html><html><head><meta charset="utf-8"><meta http-equiv="refresh" content="0;url=${attribute(path)}"><title>${message}</title></head><body><a href="${attribute(path)}">${message} Continue</a></body></html>`,
    );
}

export interface CookiePolicy {
  /** Whether the cookie gets `Secure`: the request came over TLS (directly or via a trusted proxy), or PUBLIC_URL is https. */
  readonly secure: (req: Request) => boolean;
}

/** The session cookie: the random id only; HttpOnly, SameSite=Strict, Secure where TLS is in use. */
export function setSessionCookie(
  res: Response,
  req: Request,
  policy: CookiePolicy,
  id: string,
  maxAgeSeconds: number,
): void {
  res.append(
    "Set-Cookie",
    serialize(SESSION_COOKIE, id, {
      httpOnly: true,
      sameSite: "strict",
      secure: policy.secure(req),
      path: "/",
      maxAge: Math.max(0, Math.floor(maxAgeSeconds)),
    }),
  );
}

export const clearSessionCookie = (res: Response, req: Request, policy: CookiePolicy) =>
  setSessionCookie(res, req, policy, "", 0);

const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * A refused sign-in link, for a browser: a page that says why and how to get a new link (the
 * command, with this service's own address), never the token. API clients get the problem
 * document, whose `instance` leaves the token out (platform/http/middleware.ts).
 */
function refusedPage(req: Request, res: Response, error: ProblemError): boolean {
  if (error.problem !== "sign-in-failed" || req.accepts(["application/json", "text/html"]) !== "text/html")
    return false;
  const origin = `${req.protocol}://${req.get("host") ?? "localhost"}`;
  const command = `npm run -s token -- --role operator --sub ops-1 --sign-in-url ${origin}`;
  res
    .status(401)
    .set({ "Cache-Control": "no-store", "Referrer-Policy": "no-referrer" })
    .type("html")
    .send(
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>This sign-in link cannot be used</title><link rel="icon" href="/favicon.ico"></head><body><main><h1>This sign-in link cannot be used</h1><p id="why">${escapeHtml(error.detail ?? "The link is not valid.")}</p><p>Sign-in links are valid for 5 minutes and only once. Print a new one (on the service's machine, in the project folder) and open it:</p><pre id="command">${escapeHtml(command)}</pre><p><a href="/control-center">Back to the control center</a></p></main></body></html>`,
    );
  return true;
}

export interface SessionHandlerOptions extends CookiePolicy {
  readonly verifier: TokenVerifier;
  readonly sessions: SessionStore;
  /** The caller's id for a verified token (the customer id claim rules). */
  readonly principalOf: (token: VerifiedToken) => string;
  /** Where a signed-in (or signed-out) browser goes next. */
  readonly landingPath: string;
  /**
   * Records a sign-in link as used; false if it already was. Shared by every replica when given
   * (the document store); else this process's memory.
   */
  readonly claimOnce?: (jti: string, expiresAtMs: number) => Promise<boolean>;
  /**
   * Whether the caller may have a session at all, beyond a valid token (the application's rule:
   * an erased customer may not): the problem to answer instead, or undefined. Checked before a
   * session is recorded, so none is made for a caller every request would refuse.
   */
  readonly refuse?: (principal: {
    readonly sub: string;
    readonly roles: readonly string[];
  }) => ProblemError | undefined;
}

/** Throws the application's refusal of a session for this caller, if it has one. */
function admit(options: SessionHandlerOptions, principal: string, roles: readonly string[]): void {
  const refused = options.refuse?.({ sub: principal, roles });
  if (refused) throw refused;
}

/** Single use within one process: what a lone process, or a test, needs. */
function claimInMemory(): (jti: string, expiresAtMs: number) => Promise<boolean> {
  const used = new Map<string, number>(); // jti -> expiry (ms)
  return async (jti, expiresAtMs) => {
    const now = Date.now();
    for (const [id, expiry] of used) if (expiry < now) used.delete(id);
    if (used.has(jti)) return false;
    used.set(jti, expiresAtMs);
    return true;
  };
}

/**
 * Browser sign-in with a link (development issuer), the handler of `GET /sign-in?token=<sign-in
 * token>`: checks the short-lived, single-use token, records a session (as long as the link's
 * `session_ttl` asks, at most 12 hours) whose random id goes in an HttpOnly, SameSite=Strict
 * cookie, and moves on to the landing page (so the link leaves the address bar). A browser whose
 * link is refused gets a page saying why and how to get a new one.
 */
export function linkSignIn(options: SessionHandlerOptions): OperationHandler {
  const claimOnce = options.claimOnce ?? claimInMemory();
  const signIn = async (req: Request, res: Response) => {
    res.setHeader("Cache-Control", "no-store");
    res.setHeader("Referrer-Policy", "no-referrer");
    const { token } = queryOf(req, SignInQuery);
    if (!token) throw new ProblemError("sign-in-failed", "The sign-in link has no token.");
    const { signIn, jti, exp } = await verifiedSignInToken(options.verifier, token);
    admit(options, options.principalOf(signIn), signIn.roles);
    if (!(await claimOnce(jti, exp * 1000)))
      throw new ProblemError("sign-in-failed", "This sign-in link was already used.");
    const requested = Number(signIn.claims.session_ttl);
    const seconds =
      Number.isInteger(requested) && requested > 0 ? Math.min(requested, MAX_SESSION_SECONDS) : 3600;
    const now = Date.now();
    const id = await options.sessions.create({
      sub: signIn.sub,
      principal: options.principalOf(signIn),
      roles: signIn.roles,
      grants: signIn.grants,
      createdAt: new Date(now).toISOString(),
      expiresAt: new Date(now + seconds * 1000).toISOString(),
    });
    setSessionCookie(res, req, options, id, seconds);
    continueTo(res, options.landingPath, "Signed in.");
  };
  return async (req, res) => {
    try {
      await signIn(req, res);
    } catch (error) {
      if (error instanceof ProblemError && refusedPage(req, res, error)) return;
      throw error;
    }
  };
}

/**
 * A sign-in link's token, verified: a sign-in token (not an access token), valid 5 minutes at most,
 * with the id and expiry its single use is recorded by.
 */
async function verifiedSignInToken(
  verifier: TokenVerifier,
  token: string,
): Promise<{ signIn: VerifiedToken; jti: string; exp: number }> {
  let signIn: VerifiedToken;
  try {
    signIn = await verifier.verify(token, { typ: SIGN_IN_TOKEN_TYPE });
  } catch (error) {
    if (error instanceof InvalidTokenError) throw new ProblemError("sign-in-failed", `${error.message}.`);
    if (error instanceof KeySetUnavailableError) {
      throw new ProblemError(
        "identity-provider-unavailable",
        "The sign-in link cannot be checked right now.",
        {
          retryAfterSeconds: 5,
        },
      );
    }
    throw error;
  }
  const { jti, iat, exp } = signIn.claims;
  if (typeof jti !== "string" || typeof iat !== "number" || typeof exp !== "number") {
    throw new ProblemError("sign-in-failed", "The sign-in token lacks jti, iat or exp.");
  }
  if (exp - iat > SIGN_IN_LINK_MAX_AGE_SECONDS) {
    throw new ProblemError("sign-in-failed", "The sign-in token is valid for longer than 5 minutes.");
  }
  return { signIn, jti, exp };
}

/**
 * The handler of `POST /sessions/revoke { sub }` (operators, by the access table): ends every
 * browser session of that subject at once, on every replica (the records are deleted); its tokens
 * are not touched.
 */
export function revokeSessions(options: { sessions: SessionStore }): OperationHandler<SessionsRevoked> {
  return async (req, res) => {
    res.setHeader("Cache-Control", "no-store");
    const { sub } = bodyOf(req, RevokeSessionsBody);
    const revoked = await options.sessions.revokeSubject(sub);
    res.status(200).json({ sub, revoked });
  };
}

/**
 * Where the provider ends its own session for this one (RP-initiated logout), given the session's
 * ID token and the request; undefined: the provider has no such endpoint (or this is the
 * development issuer).
 */
export type EndSession = (req: Request, idToken: string | undefined) => Promise<string | undefined>;

/**
 * The handler of `POST /sign-out`: deletes the session record (it stops working everywhere at
 * once), clears the cookie, and sends the browser on to the provider's sign-out (`endSession`),
 * which comes back to the landing page, or to the landing page directly: on a shared console the
 * next person's "Sign in" asks for a password again.
 */
export function signOut(
  options: CookiePolicy & { sessions: SessionStore; landingPath: string; endSession?: EndSession },
): OperationHandler {
  return async (req, res) => {
    const id = sessionCookieOf(req);
    const record = id === undefined ? undefined : await options.sessions.get(id);
    if (id !== undefined) await options.sessions.delete(id);
    clearSessionCookie(res, req, options);
    const provider =
      record && options.endSession
        ? await options.endSession(req, record.idToken).catch(() => undefined)
        : undefined;
    continueTo(res, provider ?? options.landingPath, "Signed out.");
  };
}

/** The access token a session is started with: the request's bearer token (403 without one). */
function bearerTokenOf(req: Request): string {
  const token = /^Bearer\s+(\S+)$/i.exec(req.get("authorization") ?? "")?.[1];
  if (!token)
    throw new ProblemError("forbidden", "Send the access token as a bearer token to start a session.");
  return token;
}

/**
 * Who may start a session beyond the role the access table requires (the `authorize` of its row,
 * checked before its body): this site's own page (another site may not plant a session in this
 * browser: login CSRF), with the access token as the bearer token (a session cookie is not one).
 */
export function sessionStartedHere(req: Request): void {
  if (!isSameOrigin(req))
    throw new ProblemError("forbidden", "A session can only be started from this site.");
  bearerTokenOf(req);
}

/**
 * The page's sign-in with an external OpenID Connect provider, the handler of `POST
 * /sign-in/session`: after Authorization Code + PKCE the page posts the provider's access token
 * once (bearer) with the refresh token, if the provider gave one, in the JSON body
 * (`{"refreshToken": …}`). The service records a session (the refresh token stays in the record,
 * never in the browser) and sets the HttpOnly, SameSite=Strict cookie holding its id. Its row's
 * `authorize` (sessionStartedHere) holds it to this site and a bearer token.
 */
export function startSession(options: SessionHandlerOptions): OperationHandler {
  return async (req, res) => {
    res.setHeader("Cache-Control", "no-store");
    const verified = await options.verifier.verify(bearerTokenOf(req));
    admit(options, options.principalOf(verified), verified.roles);
    const { refreshToken, idToken } = bodyOf(req, StartSessionBody);
    const now = Date.now();
    const accessExpiresAt = Number(verified.claims.exp) * 1000;
    if (!Number.isFinite(accessExpiresAt) || accessExpiresAt <= now)
      throw new ProblemError("sign-in-failed", "The token has expired.");
    const expiresAt = refreshToken
      ? now + MAX_SESSION_SECONDS * 1000
      : Math.min(accessExpiresAt, now + MAX_SESSION_SECONDS * 1000);
    const record: SessionRecord = {
      sub: verified.sub,
      principal: options.principalOf(verified),
      roles: verified.roles,
      grants: verified.grants,
      createdAt: new Date(now).toISOString(),
      expiresAt: new Date(expiresAt).toISOString(),
      accessIssuedAt: new Date(now).toISOString(),
      accessExpiresAt: new Date(accessExpiresAt).toISOString(),
      ...(refreshToken ? { refreshToken } : {}),
      ...(idToken ? { idToken } : {}),
    };
    const previous = sessionCookieOf(req);
    if (previous !== undefined) await options.sessions.delete(previous);
    const id = await options.sessions.create(record);
    setSessionCookie(res, req, options, id, (expiresAt - now) / 1000);
    res.status(204).end();
  };
}
