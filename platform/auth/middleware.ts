import { parse as parseCookies } from "cookie";
import type { NextFunction, Request, RequestHandler, Response } from "express";
import { ProblemError } from "../http/problem.js";
import type { Logger } from "../logger.js";
import { setPrincipal, unauthorized } from "./principal.js";
import { InvalidTokenError, KeySetUnavailableError, type TokenVerifier } from "./verifier.js";

export const SESSION_COOKIE = "parking_session";

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * Establishes who is calling: `Authorization: Bearer <jwt>` or, failing that, the browser session
 * cookie. No credentials: anonymous (the access table decides). A bad bearer token: 401 with a
 * `WWW-Authenticate` challenge, on every route. A bad or expired session cookie counts as absent.
 * A cookie-authenticated request that changes something must come from the same origin (CSRF).
 */
export function authenticate(verifier: TokenVerifier, logger?: Logger): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    void identify(req, res, verifier, logger).then(() => next(), next);
  };
}

async function identify(req: Request, _res: Response, verifier: TokenVerifier, logger?: Logger) {
  const authorization = req.get("authorization");
  if (authorization !== undefined) {
    const match = /^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i.exec(authorization);
    if (!match?.[1]) {
      throw unauthorized("The Authorization header must be `Bearer <access token>`.", {
        code: "invalid_request",
        description: "expected the Bearer scheme with one token",
      });
    }
    try {
      const token = await verifier.verify(match[1]);
      setPrincipal(req, { sub: token.sub, roles: token.roles, via: "bearer" });
    } catch (error) {
      throw refusal(error);
    }
    return;
  }
  const cookie = sessionCookieOf(req);
  if (cookie === undefined) return;
  try {
    const token = await verifier.verify(cookie);
    if (!SAFE_METHODS.has(req.method) && !isSameOrigin(req)) {
      throw new ProblemError(
        "forbidden",
        "A request authenticated by the session cookie must come from this service's own pages (same origin).",
      );
    }
    setPrincipal(req, { sub: token.sub, roles: token.roles, via: "session" });
  } catch (error) {
    if (error instanceof InvalidTokenError) {
      logger?.debug({ reason: error.message }, "ignoring an invalid session cookie");
      return;
    }
    throw refusal(error);
  }
}

function refusal(error: unknown): unknown {
  if (error instanceof InvalidTokenError) {
    return unauthorized(`The access token was refused: ${error.message}.`, {
      code: "invalid_token",
      description: error.message,
    });
  }
  if (error instanceof KeySetUnavailableError) {
    return new ProblemError("identity-provider-unavailable", "The token cannot be checked right now.", {
      retryAfterSeconds: 5,
    });
  }
  return error;
}

export function sessionCookieOf(req: Request): string | undefined {
  const header = req.get("cookie");
  if (!header) return undefined;
  const value = parseCookies(header)[SESSION_COOKIE];
  return value === undefined || value === "" ? undefined : value;
}

/**
 * Whether a browser request comes from this origin: Fetch Metadata when the browser sends it,
 * else the Origin header against the request's own origin. Neither present: refused.
 */
export function isSameOrigin(req: Request): boolean {
  const site = req.get("sec-fetch-site");
  if (site !== undefined) return site === "same-origin";
  const origin = req.get("origin");
  if (origin === undefined || origin === "null") return false;
  return origin === `${req.protocol}://${req.get("host")}`;
}
