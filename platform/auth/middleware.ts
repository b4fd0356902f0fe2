import { parse as parseCookies, serialize } from "cookie";
import type { NextFunction, Request, RequestHandler, Response } from "express";
import { ProblemError } from "../http/problem.js";
import type { Logger } from "../logger.js";
import { setPrincipal, setSessionEnded, unauthorized } from "./principal.js";
import { RESERVED_CUSTOMER_PREFIX } from "./reserved-customers.js";
import type { SessionResolver } from "./session-refresh.js";
import {
  InvalidTokenError,
  KeySetUnavailableError,
  type TokenVerifier,
  type VerifiedToken,
} from "./verifier.js";

/** Roles of staff (who may act on others' behalf; their customer id claim may be absent). */
const STAFF = new Set(["operator", "attendant", "admin", "gate"]);

export const SESSION_COOKIE = "parking_session";

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

export interface AuthenticateOptions {
  readonly verifier: TokenVerifier;
  readonly sessions: SessionResolver;
  /** The caller's id for a verified token (the customer id claim rules). */
  readonly principalOf: (token: VerifiedToken) => string;
  /** Whether the cookie is set `Secure` (to clear it the same way). */
  readonly secureCookie: (req: Request) => boolean;
  readonly logger?: Logger;
  /**
   * What to say of a bearer token that is not a JWT at all (an identity provider's opaque token,
   * issued when the sign-in named no API): which setting to set. Without it, such a token is
   * refused as any malformed one.
   */
  readonly opaqueTokenAdvice?: string;
}

/**
 * Establishes who is calling: `Authorization: Bearer <jwt>` or, failing that, the browser session
 * cookie (a random id whose record the server keeps). No credentials: anonymous (the access table
 * decides). A bad bearer token: 401 with a `WWW-Authenticate` challenge that says which check
 * failed, on every route. An unknown, signed-out or expired session counts as absent, its cookie is
 * cleared, and a 401 says the session ended. A cookie-authenticated request that changes something
 * must come from the same origin (CSRF).
 */
export function authenticate(options: AuthenticateOptions): RequestHandler {
  let audienceLogged = false;
  return (req: Request, res: Response, next: NextFunction) => {
    void identify(req, res, options).then(
      () => next(),
      (error: unknown) => {
        // A wrong AUTH_AUDIENCE refuses every token: said once in the log, not only to each caller.
        if (!audienceLogged && error instanceof ProblemError && /audience \(aud\)/.test(error.detail ?? "")) {
          audienceLogged = true;
          // The audience expected and the one the token carried, both in the reason.
          options.logger?.warn(
            { reason: error.detail },
            "a token was refused for its audience: if every token is, check AUTH_AUDIENCE (and the page's PAGE_OIDC_AUDIENCE/PAGE_OIDC_RESOURCE)",
          );
        }
        next(error);
      },
    );
  };
}

async function identify(req: Request, _res: Response, options: AuthenticateOptions) {
  const authorization = req.get("authorization");
  if (authorization !== undefined) {
    const match = /^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i.exec(authorization);
    if (!match?.[1]) {
      throw unauthorized("The Authorization header must be `Bearer <access token>`.", {
        code: "invalid_request",
        description: "expected the Bearer scheme with one token",
      });
    }
    if (options.opaqueTokenAdvice !== undefined && match[1].split(".").length !== 3)
      throw unauthorized(options.opaqueTokenAdvice, {
        code: "invalid_token",
        description: "the access token is not a JWT (an opaque token of the identity provider)",
      });
    try {
      const token = await options.verifier.verify(match[1]);
      setPrincipal(req, {
        sub: options.principalOf(token),
        roles: token.roles,
        grants: token.grants,
        emptyRolesClaims: token.emptyRolesClaims,
        via: "bearer",
      });
    } catch (error) {
      throw refusal(error);
    }
    return;
  }
  const id = sessionCookieOf(req);
  if (id === undefined) return;
  let outcome: Awaited<ReturnType<SessionResolver["resolve"]>>;
  try {
    outcome = await options.sessions.resolve(id);
  } catch (error) {
    throw refusal(error);
  }
  if ("ended" in outcome) {
    options.logger?.debug({ reason: outcome.ended }, "a session cookie names no live session");
    setSessionEnded(
      req,
      outcome.ended,
      serialize(SESSION_COOKIE, "", {
        httpOnly: true,
        sameSite: "strict",
        secure: options.secureCookie(req),
        path: "/",
        maxAge: 0,
      }),
    );
    return;
  }
  if (!SAFE_METHODS.has(req.method) && !isSameOrigin(req)) {
    throw new ProblemError(
      "forbidden",
      "A request authenticated by the session cookie must come from this service's own pages (same origin).",
    );
  }
  setPrincipal(req, {
    sub: outcome.record.principal,
    roles: outcome.record.roles,
    grants: outcome.record.grants ?? [],
    via: "session",
  });
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

/**
 * The caller's id for a verified token: the customer id claim when it holds a usable id; else, for
 * a caller who is no customer (an operator, a client without roles), the token's `sub`. A customer
 * without one is refused (401): they could not be told apart.
 */
export function principalIdOf(claim: string): (token: VerifiedToken) => string {
  return (token) => {
    const staff = token.roles.some((r) => STAFF.has(r));
    const id = principalIdOfToken(claim, token, staff);
    if (!staff && id.startsWith(RESERVED_CUSTOMER_PREFIX))
      throw new InvalidTokenError(
        `the token's customer id starts with "${RESERVED_CUSTOMER_PREFIX}", which the service keeps for a lot's drive-up stays`,
      );
    return id;
  };
}

function principalIdOfToken(claim: string, token: VerifiedToken, staff: boolean): string {
  if (token.customerId !== undefined) return token.customerId;
  if (token.roles.includes("customer") && !staff) {
    throw new InvalidTokenError(
      `the token's "${claim}" claim (the customer id) is missing or not printable ASCII of at most 255 characters`,
    );
  }
  return token.sub;
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
