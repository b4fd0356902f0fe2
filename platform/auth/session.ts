import { serialize } from "cookie";
import { type Request, type Response, Router } from "express";
import { ProblemError } from "../http/problem.js";
import { isSameOrigin, SESSION_COOKIE } from "./middleware.js";
import {
  InvalidTokenError,
  KeySetUnavailableError,
  SIGN_IN_TOKEN_TYPE,
  type TokenVerifier,
  type VerifiedToken,
} from "./verifier.js";

/** A sign-in link is valid this long at most, whatever its token says. */
export const SIGN_IN_LINK_MAX_AGE_SECONDS = 300;
export const SIGN_IN_PATH = "/sign-in";
export const SIGN_OUT_PATH = "/sign-out";
export const SESSION_PATH = "/sign-in/session";

/**
 * Answers with a page that moves on to `path` at once (meta refresh): the sign-in link leaves the
 * address bar, and the next navigation starts on this origin, so the SameSite=Strict cookie goes
 * with it even when the link was opened from another site.
 */
function continueTo(res: Response, path: string, message: string): void {
  res
    .status(200)
    .set({ "Cache-Control": "no-store", "Referrer-Policy": "no-referrer" })
    .type("html")
    .send(
      `<!doctype html><html><head><meta charset="utf-8"><meta http-equiv="refresh" content="0;url=${path}"><title>${message}</title></head><body><a href="${path}">${message} Continue</a></body></html>`,
    );
}

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
  const command = `npm run token -- --role operator --sub ops-1 --sign-in-url ${origin}`;
  res
    .status(401)
    .set({ "Cache-Control": "no-store", "Referrer-Policy": "no-referrer" })
    .type("html")
    .send(
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>This sign-in link cannot be used</title><link rel="icon" href="/favicon.ico"></head><body><main><h1>This sign-in link cannot be used</h1><p id="why">${escapeHtml(error.detail ?? "The link is not valid.")}</p><p>Sign-in links are valid for 5 minutes and only once. Print a new one (on the service's machine, in the project folder) and open it:</p><pre id="command">${escapeHtml(command)}</pre><p><a href="/control-center">Back to the control center</a></p></main></body></html>`,
    );
  return true;
}

export interface SessionOptions {
  readonly verifier: TokenVerifier;
  /** Mints the session token the cookie holds, for a verified sign-in token. */
  readonly mintSession: (signIn: VerifiedToken) => Promise<{ token: string; maxAgeSeconds: number }>;
  /** Where a signed-in (or signed-out) browser goes next. */
  readonly landingPath: string;
  /**
   * Records a sign-in link as used; false if it already was. Shared by every replica when given
   * (the document store); else this process's memory.
   */
  readonly claimOnce?: (jti: string, expiresAtMs: number) => Promise<boolean>;
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
 * Browser sign-in with a link (development issuer): `GET /sign-in?token=<sign-in token>` checks the
 * short-lived, single-use token, sets an HttpOnly, SameSite=Strict session cookie holding a
 * server-minted access token, and moves on to the landing page (so the link leaves the address bar).
 * `POST /sign-out` clears the cookie. Single use holds across replicas when they share a
 * `claimOnce` (the composition root gives them the document store's).
 */
export function sessionRoutes(options: SessionOptions): Router {
  const router = Router();
  const claimOnce = options.claimOnce ?? claimInMemory();

  router.get(SIGN_IN_PATH, async (req: Request, res: Response) => {
    try {
      await signIn(req, res);
    } catch (error) {
      if (error instanceof ProblemError && refusedPage(req, res, error)) return;
      throw error;
    }
  });

  const signIn = async (req: Request, res: Response) => {
    res.setHeader("Cache-Control", "no-store");
    res.setHeader("Referrer-Policy", "no-referrer");
    const token = typeof req.query.token === "string" ? req.query.token : undefined;
    if (!token) throw new ProblemError("sign-in-failed", "The sign-in link has no token.");
    let signIn: VerifiedToken;
    try {
      signIn = await options.verifier.verify(token, { typ: SIGN_IN_TOKEN_TYPE });
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
    if (!(await claimOnce(jti, exp * 1000)))
      throw new ProblemError("sign-in-failed", "This sign-in link was already used.");
    const session = await options.mintSession(signIn);
    res.setHeader(
      "Set-Cookie",
      serialize(SESSION_COOKIE, session.token, {
        httpOnly: true,
        sameSite: "strict",
        secure: req.secure,
        path: "/",
        maxAge: session.maxAgeSeconds,
      }),
    );
    continueTo(res, options.landingPath, "Signed in.");
  };

  router.post(SIGN_OUT_PATH, (req: Request, res: Response) => {
    res.setHeader(
      "Set-Cookie",
      serialize(SESSION_COOKIE, "", {
        httpOnly: true,
        sameSite: "strict",
        secure: req.secure,
        path: "/",
        maxAge: 0,
      }),
    );
    continueTo(res, options.landingPath, "Signed out.");
  });

  return router;
}

/**
 * The page's sign-in with an external OpenID Connect provider: after Authorization Code + PKCE the
 * page posts the provider's access token once (`POST /sign-in/session`, bearer), and gets the same
 * HttpOnly, SameSite=Strict session cookie holding that token, for as long as the token is valid;
 * the token then never sits in the page's storage. Same-origin only: another site may not plant a
 * session in this browser (login CSRF). The access table requires a verified bearer caller.
 */
export function sessionFromBearer(verifier: TokenVerifier): Router {
  const router = Router();
  router.post(SESSION_PATH, async (req: Request, res: Response) => {
    res.setHeader("Cache-Control", "no-store");
    if (!isSameOrigin(req))
      throw new ProblemError("forbidden", "A session can only be started from this site.");
    const header = req.get("authorization") ?? "";
    const token = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
    if (!token)
      throw new ProblemError("forbidden", "Send the access token as a bearer token to start a session.");
    const verified = await verifier.verify(token);
    const exp = Number(verified.claims.exp);
    const maxAge = Math.floor(exp - Date.now() / 1000);
    if (!Number.isFinite(maxAge) || maxAge <= 0)
      throw new ProblemError("sign-in-failed", "The token has expired.");
    res.setHeader(
      "Set-Cookie",
      serialize(SESSION_COOKIE, token, {
        httpOnly: true,
        sameSite: "strict",
        secure: req.secure,
        path: "/",
        maxAge,
      }),
    );
    res.status(204).end();
  });
  return router;
}
