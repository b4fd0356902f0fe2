import {
  createRemoteJWKSet,
  errors,
  type JWTPayload,
  type JWTVerifyGetKey,
  jwtVerify,
  type ProtectedHeaderParameters,
} from "jose";

/**
 * Verifies OAuth 2.0 bearer JWTs (an OpenID Connect provider's access tokens) with `jose`:
 * the signature against the issuer's JSON Web Key Set (fetched over HTTP, cached, refetched for an
 * unknown `kid` at most once per cooldown), `iss`, `aud`, `exp`/`nbf` with a small clock skew and an
 * allowlist of asymmetric algorithms. The embedded development issuer is verified the same way,
 * through its own JWKS endpoint.
 */

export interface TokenVerifierOptions {
  readonly issuer: string;
  readonly audience: string;
  /** The key set's URL; a function for URLs known only later (discovery, the service's own port). */
  readonly jwksUrl: () => Promise<URL>;
  readonly algorithms: readonly string[];
  readonly clockSkewSeconds: number;
  /** Dot paths of claims holding string arrays of roles (their union counts). */
  readonly rolesClaims: readonly string[];
  /** Least time between refetches of the key set for an unknown key id. */
  readonly jwksCooldownMs: number;
  readonly jwksTimeoutMs?: number;
}

export interface VerifiedToken {
  readonly sub: string;
  readonly roles: readonly string[];
  readonly claims: JWTPayload;
  readonly header: ProtectedHeaderParameters;
}

/** The token is missing a part, expired, not for us, badly signed...: answer 401. */
export class InvalidTokenError extends Error {
  override name = "InvalidTokenError";
}

/** The issuer's keys could not be fetched: not the caller's fault, answer 503. */
export class KeySetUnavailableError extends Error {
  override name = "KeySetUnavailableError";
}

/** Token types that are never access tokens (the development sign-in link). */
export const SIGN_IN_TOKEN_TYPE = "sign-in+jwt";

const MAX_TOKEN_LENGTH = 8192;

export class TokenVerifier {
  private keySet: Promise<JWTVerifyGetKey> | undefined;

  constructor(private readonly options: TokenVerifierOptions) {
    if (options.algorithms.some((alg) => alg === "none" || /^HS/i.test(alg))) {
      throw new Error("only asymmetric algorithms may verify tokens");
    }
  }

  /**
   * Verifies `token`; `typ` requires that header type (the sign-in link), otherwise tokens of
   * another purpose are refused. Throws InvalidTokenError or KeySetUnavailableError.
   */
  async verify(token: string, expect: { readonly typ?: string } = {}): Promise<VerifiedToken> {
    if (token.length > MAX_TOKEN_LENGTH) throw new InvalidTokenError("the token is too long");
    let result: Awaited<ReturnType<typeof jwtVerify>>;
    try {
      result = await jwtVerify(token, (header, input) => this.key(header, input), {
        issuer: this.options.issuer,
        audience: this.options.audience,
        algorithms: [...this.options.algorithms],
        clockTolerance: this.options.clockSkewSeconds,
        requiredClaims: ["exp", "sub"],
        ...(expect.typ ? { typ: expect.typ } : {}),
      });
    } catch (error) {
      throw translate(error);
    }
    const { payload, protectedHeader } = result;
    if (!expect.typ && protectedHeader.typ?.toLowerCase() === SIGN_IN_TOKEN_TYPE) {
      throw new InvalidTokenError("a sign-in link token is not an access token");
    }
    const sub = payload.sub;
    if (typeof sub !== "string" || sub === "") throw new InvalidTokenError('the token has no "sub"');
    return {
      sub,
      roles: rolesOf(payload, this.options.rolesClaims),
      claims: payload,
      header: protectedHeader,
    };
  }

  private async key(...args: Parameters<JWTVerifyGetKey>) {
    this.keySet ??= this.options.jwksUrl().then(
      (url) =>
        createRemoteJWKSet(url, {
          cooldownDuration: this.options.jwksCooldownMs,
          timeoutDuration: this.options.jwksTimeoutMs ?? 5000,
        }),
      (error: unknown) => {
        this.keySet = undefined; // discovery failed: try again on the next request
        throw new KeySetUnavailableError(`the issuer's key set could not be located: ${messageOf(error)}`);
      },
    );
    return (await this.keySet)(...args);
  }
}

function translate(error: unknown): Error {
  if (error instanceof KeySetUnavailableError || error instanceof InvalidTokenError) return error;
  if (error instanceof errors.JWTExpired) return new InvalidTokenError("the token has expired");
  if (error instanceof errors.JWTClaimValidationFailed) {
    return new InvalidTokenError(`the token's "${error.claim}" claim is not accepted (${error.reason})`);
  }
  if (error instanceof errors.JOSEAlgNotAllowed) {
    return new InvalidTokenError("the token's signature algorithm is not accepted");
  }
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) {
    return new InvalidTokenError("the token is signed by a key the issuer does not publish");
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return new InvalidTokenError("the token's signature does not verify");
  }
  if (error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid) {
    return new KeySetUnavailableError(`the issuer's key set could not be fetched: ${error.message}`);
  }
  if (
    error instanceof errors.JWSInvalid ||
    error instanceof errors.JWTInvalid ||
    error instanceof errors.JOSENotSupported ||
    error instanceof errors.JWKInvalid
  ) {
    return new InvalidTokenError("the token is malformed");
  }
  if (error instanceof errors.JOSEError || error instanceof TypeError) {
    // jose's non-200 / unparsable key set answers, and fetch's network failures
    return new KeySetUnavailableError(`the issuer's key set could not be fetched: ${messageOf(error)}`);
  }
  return error instanceof Error ? error : new Error(String(error));
}

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** Union of the string arrays found at the dot paths `claims` (e.g. realm_access.roles). */
export function rolesOf(payload: JWTPayload, claims: readonly string[]): string[] {
  const roles = new Set<string>();
  for (const path of claims) {
    let value: unknown = payload;
    for (const step of path.split(".")) {
      value =
        value !== null && typeof value === "object" && Object.hasOwn(value, step)
          ? (value as Record<string, unknown>)[step]
          : undefined;
    }
    if (Array.isArray(value)) for (const role of value) if (typeof role === "string") roles.add(role);
  }
  return [...roles];
}

/**
 * The JWKS URL of an issuer by OpenID Connect discovery: `${issuer}/.well-known/openid-configuration`,
 * whose `issuer` must be exactly the configured one.
 */
export async function discoverJwksUrl(issuer: string, timeoutMs = 5000): Promise<URL> {
  const url = `${issuer.replace(/\/+$/, "")}/.well-known/openid-configuration`;
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: "error" });
  if (!response.ok) throw new Error(`${url} answered ${response.status}`);
  const document = (await response.json()) as { issuer?: unknown; jwks_uri?: unknown };
  if (document.issuer !== issuer) throw new Error(`${url} names issuer ${JSON.stringify(document.issuer)}`);
  if (typeof document.jwks_uri !== "string") throw new Error(`${url} has no jwks_uri`);
  return new URL(document.jwks_uri);
}
