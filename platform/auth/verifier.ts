import { createHash } from "node:crypto";
import {
  type CompactJWSHeaderParameters,
  decodeJwt,
  decodeProtectedHeader,
  errors,
  type JWTPayload,
  type JWTVerifyGetKey,
  jwtVerify,
  type ProtectedHeaderParameters,
} from "jose";
import { claimAt } from "./claim-path.js";

/**
 * Verifies OAuth 2.0 bearer JWTs (an OpenID Connect provider's access tokens) with `jose`, in this
 * order, and says which check refused a token (with the expected value where that is public):
 * the form and the `typ` header (access tokens only: `AUTH_TOKEN_TYPES`, never a sign-in link or an
 * ID token), `iss` (before any key is looked up, so a foreign token reads as foreign), the
 * signature against the issuer's keys (`keys`: a cached key set), the algorithm allowlist, `aud`,
 * `exp`/`nbf` with the clock skew, an `iat` no later than now plus the skew, and a lifetime of at
 * most `maxLifetimeSeconds`. Roles come from claim paths (a string or an array of strings) through
 * a mapping of the provider's own names; the customer id from a configurable claim.
 */

export interface TokenVerifierOptions {
  readonly issuer: string;
  readonly audience: string;
  /** The issuer's signing keys (a CachedKeySet's getKey). */
  readonly keys: JWTVerifyGetKey;
  readonly algorithms: readonly string[];
  readonly clockSkewSeconds: number;
  /** Dot paths of claims holding roles: a string or an array of strings (their union counts). */
  readonly rolesClaims: readonly string[];
  /** The provider's role names that count as one of ours; `customer`/`operator` count as themselves. */
  readonly roleMap?: Readonly<Record<string, string>>;
  /** Dot path of the claim naming the customer; default `sub`. */
  readonly customerIdClaim?: string;
  /**
   * Where a caller's grants are (a claim path holding a string or an array of strings) and the
   * prefix that marks one (e.g. `lots:` among Okta groups; stripped); values without it are ignored.
   */
  readonly grants?: { readonly claim: string; readonly prefix: string };
  /** Accepted `typ` header values of access tokens (a token without `typ` is accepted). */
  readonly tokenTypes: readonly string[];
  /** Longest accepted validity of a token (exp - iat). */
  readonly maxLifetimeSeconds: number;
  /**
   * How many verified access tokens to remember (least recently used go first; 0: none), so that
   * a client's repeated token skips the signature check until its `exp`. Default 10,000.
   */
  readonly cacheSize?: number;
}

export interface VerifiedToken {
  readonly sub: string;
  /** The value of the customer id claim, when it is a usable string. */
  readonly customerId: string | undefined;
  readonly roles: readonly string[];
  /** The values of the grants claim carrying the grants prefix, without it. */
  readonly grants: readonly string[];
  /** The configured roles claims this token lacks, or holds no role string at (for the log). */
  readonly emptyRolesClaims: readonly string[];
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

/**
 * A customer id: what OpenID Connect allows a `sub` to be (printable ASCII, at most 255), without
 * the comma (lot snapshots join ids with it). Must match schemas/common.ts's CustomerId.
 */
export const CUSTOMER_ID_PATTERN = /^[\x21-\x2B\x2D-\x7E]{1,255}$/;

const MAX_TOKEN_LENGTH = 8192;
const DEFAULT_CACHE_SIZE = 10_000;

/** A verified access token remembered by its hash, with the key that verified it. */
interface Remembered {
  readonly token: VerifiedToken;
  /** Its `exp` (seconds): past it (and the skew) the token is refused as jwtVerify would. */
  readonly exp: number;
  /** The key the issuer's key set gave for it: the entry holds while the set gives the same key. */
  readonly key: unknown;
}

const normalType = (typ: string) => typ.toLowerCase().replace(/^application\//, "");

export class TokenVerifier {
  private readonly tokenTypes: ReadonlySet<string>;
  /** Verified access tokens by the SHA-256 of the token, in least-recently-used-first order. */
  private readonly verified = new Map<string, Remembered>();
  private readonly cacheSize: number;

  constructor(private readonly options: TokenVerifierOptions) {
    if (options.algorithms.some((alg) => alg === "none" || /^HS/i.test(alg))) {
      throw new Error("only asymmetric algorithms may verify tokens");
    }
    this.tokenTypes = new Set(options.tokenTypes.map(normalType));
    this.cacheSize = options.cacheSize ?? DEFAULT_CACHE_SIZE;
  }

  get issuer(): string {
    return this.options.issuer;
  }

  /**
   * Verifies `token`; `typ` requires that header type (the sign-in link), otherwise tokens of
   * another purpose are refused. Throws InvalidTokenError or KeySetUnavailableError.
   */
  async verify(token: string, expect: { readonly typ?: string } = {}): Promise<VerifiedToken> {
    if (token.length > MAX_TOKEN_LENGTH) throw new InvalidTokenError("the token is too long");
    // Access tokens only (a sign-in link is verified once, where it is claimed).
    if (this.cacheSize === 0 || expect.typ !== undefined) return this.verifyFully(token, expect, undefined);
    const hash = createHash("sha256").update(token).digest("base64url");
    const remembered = await this.recall(hash, token);
    return remembered ?? this.verifyFully(token, expect, hash);
  }

  /**
   * The token verified before, if it still holds: not expired (with the skew, as jwtVerify
   * decides), and the issuer's key set (refreshed as for any token) still gives the key that
   * verified it: a key withdrawn from the set, or replaced, sends the token through the full
   * check again. Marks it most recently used.
   */
  private async recall(hash: string, token: string): Promise<VerifiedToken | undefined> {
    const remembered = this.verified.get(hash);
    if (remembered === undefined) return undefined;
    this.verified.delete(hash);
    if (remembered.exp <= Date.now() / 1000 - this.options.clockSkewSeconds) return undefined;
    let key: unknown;
    try {
      const [protectedHeader = "", payload = "", signature = ""] = token.split(".");
      key = await this.options.keys(remembered.token.header as CompactJWSHeaderParameters, {
        protected: protectedHeader,
        payload,
        signature,
      });
    } catch {
      return undefined; // no such key any more (or no key set): the full check says why
    }
    if (key !== remembered.key) return undefined;
    this.verified.set(hash, remembered);
    return remembered.token;
  }

  private remember(hash: string, token: VerifiedToken, key: unknown): void {
    if (this.verified.size >= this.cacheSize) {
      const oldest = this.verified.keys().next();
      if (!oldest.done) this.verified.delete(oldest.value);
    }
    this.verified.set(hash, { token, exp: Number(token.claims.exp), key });
  }

  private async verifyFully(
    token: string,
    expect: { readonly typ?: string },
    hash: string | undefined,
  ): Promise<VerifiedToken> {
    let header: ProtectedHeaderParameters;
    let unverified: JWTPayload;
    try {
      header = decodeProtectedHeader(token);
      unverified = decodeJwt(token);
    } catch {
      throw new InvalidTokenError("the token is malformed");
    }
    this.checkType(header, unverified, expect.typ);
    if (unverified.iss !== this.options.issuer) {
      throw new InvalidTokenError(
        `the token's issuer (iss) is not the expected ${JSON.stringify(this.options.issuer)}`,
      );
    }
    let result: Awaited<ReturnType<typeof jwtVerify>>;
    let key: unknown;
    const keys: JWTVerifyGetKey = async (header, input) => {
      key = await this.options.keys(header, input);
      return key as Awaited<ReturnType<JWTVerifyGetKey>>;
    };
    try {
      result = await jwtVerify(token, keys, {
        issuer: this.options.issuer,
        audience: this.options.audience,
        algorithms: [...this.options.algorithms],
        clockTolerance: this.options.clockSkewSeconds,
        requiredClaims: ["exp", "sub"],
        ...(expect.typ ? { typ: expect.typ } : {}),
      });
    } catch (error) {
      throw this.translate(error);
    }
    const { payload, protectedHeader } = result;
    this.checkTimes(payload);
    const sub = payload.sub;
    if (typeof sub !== "string" || sub === "") throw new InvalidTokenError('the token has no "sub"');
    const customerId = valueAt(payload, this.options.customerIdClaim ?? "sub");
    const verified: VerifiedToken = {
      sub,
      customerId:
        typeof customerId === "string" && CUSTOMER_ID_PATTERN.test(customerId) ? customerId : undefined,
      roles: rolesOf(payload, this.options.rolesClaims, this.options.roleMap),
      grants: this.options.grants ? grantsOf(payload, this.options.grants) : [],
      emptyRolesClaims: this.options.rolesClaims.filter((path) => rolesOf(payload, [path]).length === 0),
      claims: payload,
      header: protectedHeader,
    };
    if (hash !== undefined) this.remember(hash, verified, key);
    return verified;
  }

  private checkType(header: ProtectedHeaderParameters, payload: JWTPayload, expected?: string): void {
    if (expected) return; // jwtVerify requires exactly that typ
    const typ = header.typ;
    if (typ !== undefined && normalType(typ) === SIGN_IN_TOKEN_TYPE) {
      throw new InvalidTokenError("a sign-in link token is not an access token");
    }
    if (typ !== undefined && !this.tokenTypes.has(normalType(typ))) {
      throw new InvalidTokenError(
        `the token's type (typ) ${JSON.stringify(typ.slice(0, 40))} is not an accepted access token type (${this.options.tokenTypes.join(", ")})`,
      );
    }
    // ID tokens: the OpenID Connect hash claims, or Keycloak's own marker.
    if (payload.at_hash !== undefined || payload.c_hash !== undefined || payload.typ === "ID") {
      throw new InvalidTokenError("an ID token is not an access token");
    }
  }

  private checkTimes(payload: JWTPayload): void {
    const now = Math.floor(Date.now() / 1000);
    const skew = this.options.clockSkewSeconds;
    const exp = Number(payload.exp);
    if (payload.iat !== undefined) {
      if (typeof payload.iat !== "number") throw new InvalidTokenError('the token\'s "iat" is not a number');
      if (payload.iat > now + skew)
        throw new InvalidTokenError("the token's issue time (iat) is in the future");
    }
    const from = typeof payload.iat === "number" ? payload.iat : now;
    if (exp - from > this.options.maxLifetimeSeconds) {
      throw new InvalidTokenError(
        `the token is valid for longer than the accepted ${this.options.maxLifetimeSeconds} seconds`,
      );
    }
  }

  private translate(error: unknown): Error {
    if (error instanceof KeySetUnavailableError || error instanceof InvalidTokenError) return error;
    if (error instanceof errors.JWTExpired) return new InvalidTokenError("the token has expired (exp)");
    if (error instanceof errors.JWTClaimValidationFailed) {
      switch (error.claim) {
        case "aud":
          return new InvalidTokenError(
            `the token's audience (aud) does not include the expected ${JSON.stringify(this.options.audience)}; it carries ${JSON.stringify(error.payload.aud ?? null)}`,
          );
        case "iss":
          return new InvalidTokenError(
            `the token's issuer (iss) is not the expected ${JSON.stringify(this.options.issuer)}`,
          );
        case "nbf":
          return new InvalidTokenError("the token is not valid yet (nbf)");
        case "typ":
          return new InvalidTokenError("the token's type (typ) is not the one expected here");
        default:
          return new InvalidTokenError(`the token's "${error.claim}" claim is missing or invalid`);
      }
    }
    if (error instanceof errors.JOSEAlgNotAllowed) {
      return new InvalidTokenError(
        `the token's signature algorithm is not accepted (${this.options.algorithms.join(", ")})`,
      );
    }
    if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) {
      return new InvalidTokenError("the token is signed by a key the issuer does not publish");
    }
    if (error instanceof errors.JWSSignatureVerificationFailed) {
      return new InvalidTokenError("the token's signature does not verify");
    }
    if (
      error instanceof errors.JWSInvalid ||
      error instanceof errors.JWTInvalid ||
      error instanceof errors.JOSENotSupported ||
      error instanceof errors.JWKInvalid
    ) {
      return new InvalidTokenError("the token is malformed");
    }
    // The key set could not be loaded (network, non-200, not a key set) and none is known yet.
    return new KeySetUnavailableError(
      `the issuer's key set could not be loaded: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

const valueAt = claimAt;

/**
 * The roles at the dot paths `claims` (a string, or an array whose strings count), each through
 * `map` (the provider's name -> ours); unmapped names stay as they are.
 */
export function rolesOf(
  payload: JWTPayload,
  claims: readonly string[],
  map: Readonly<Record<string, string>> = {},
): string[] {
  const roles = new Set<string>();
  const add = (role: unknown) => {
    if (typeof role === "string") roles.add(Object.hasOwn(map, role) ? (map[role] as string) : role);
  };
  for (const path of claims) {
    const value = valueAt(payload, path);
    if (Array.isArray(value)) for (const role of value) add(role);
    else add(value);
  }
  return [...roles];
}

/** The strings at the grants claim that start with the prefix, without it. */
export function grantsOf(
  payload: JWTPayload,
  grants: { readonly claim: string; readonly prefix: string },
): string[] {
  const value = claimAt(payload, grants.claim);
  const values = Array.isArray(value) ? value : [value];
  return values
    .filter((v): v is string => typeof v === "string" && v.startsWith(grants.prefix))
    .map((v) => v.slice(grants.prefix.length));
}
