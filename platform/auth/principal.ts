import type { Request } from "express";
import { ProblemError } from "../http/problem.js";

/** Who is calling, as established by a verified token. Knows roles as strings, no domain. */
export interface Principal {
  /** The token's `sub`. */
  readonly sub: string;
  /** Roles found in the configured roles claims. */
  readonly roles: readonly string[];
  /** Grants from the configured grants claim (the lots a member of staff runs). */
  readonly grants?: readonly string[];
  /** The configured roles claims the token lacked or held no role at (said in the log on a 403). */
  readonly emptyRolesClaims?: readonly string[];
  /** How the request was authenticated. */
  readonly via: "bearer" | "session";
}

export const BEARER_REALM = "parking-reservations";

const principals = new WeakMap<Request, Principal>();

/** Records the authenticated caller of a request (the authentication middleware does this). */
export function setPrincipal(req: Request, principal: Principal): void {
  principals.set(req, principal);
}

const endedSessions = new WeakMap<Request, { reason: string; clearCookie: string }>();

/**
 * Records that the request's session cookie named a session that has ended, why, and the
 * Set-Cookie that clears it (sent with the 401 the request gets where it needs a caller).
 */
export function setSessionEnded(req: Request, reason: string, clearCookie: string): void {
  endedSessions.set(req, { reason, clearCookie });
}

/** The 401 of an anonymous request: says so, and clears the cookie, when its session has ended. */
export function anonymousRefusal(req: Request): ProblemError {
  const ended = endedSessions.get(req);
  if (!ended) return unauthorized("This request needs an access token.");
  const { reason, clearCookie } = ended;
  const problem = unauthorized(`${reason[0]?.toUpperCase()}${reason.slice(1)}. Sign in again.`, {
    code: "invalid_token",
    description: "the session has ended",
  });
  return new ProblemError("unauthorized", problem.detail, {
    headers: { ...problem.extra.headers, "Set-Cookie": clearCookie },
  });
}

/** The authenticated caller, or undefined for an anonymous request. */
export function principalOf(req: Request): Principal | undefined {
  return principals.get(req);
}

/** `WWW-Authenticate` value of a 401 (RFC 6750 section 3). */
export function bearerChallenge(error?: { code: string; description: string }): string {
  // A quoted-string (RFC 9110 section 5.6.4): quotes and backslashes escaped, not lost; line breaks
  // (never in a header) become spaces.
  const quote = (value: string) => `"${value.replace(/[\r\n]/g, " ").replace(/["\\]/g, "\\$&")}"`;
  return error
    ? `Bearer realm=${quote(BEARER_REALM)}, error=${quote(error.code)}, error_description=${quote(error.description)}`
    : `Bearer realm=${quote(BEARER_REALM)}`;
}

export function unauthorized(detail: string, error?: { code: string; description: string }): ProblemError {
  return new ProblemError("unauthorized", detail, {
    headers: { "WWW-Authenticate": bearerChallenge(error) },
  });
}

/** The authenticated caller; a 401 problem when the request is anonymous. */
export function requirePrincipal(req: Request): Principal {
  const principal = principalOf(req);
  if (!principal) throw anonymousRefusal(req);
  return principal;
}
