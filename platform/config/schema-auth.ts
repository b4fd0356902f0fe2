import { Type } from "@sinclair/typebox";
import { MAPPED_ROLES } from "./parsers.js";
import { env, literals } from "./setting.js";

/** Who may call: the token issuer and what its tokens must carry; the idempotency key's secret. Order is the documentation's. */
export const AUTH_SETTINGS = {
  authIssuer: Type.Optional(
    Type.String({
      format: "issuerIdentifier",
      ...env(
        "AUTH_ISSUER",
        undefined,
        "Issuer (`iss`) of the OpenID Connect provider whose access tokens the API accepts, e.g. a Keycloak realm URL. Unset: the service is its own development issuer (key pair under DATA_DIR/auth, tokens from `npm run -s token`).",
      ),
    }),
  ),
  authAudience: Type.String({
    format: "audience",
    ...env(
      "AUTH_AUDIENCE",
      "parking-reservations",
      "Audience (`aud`) every accepted access token must name.",
    ),
  }),
  authJwksUrl: Type.Optional(
    Type.String({
      format: "httpUrl",
      ...env(
        "AUTH_JWKS_URL",
        undefined,
        "URL of the issuer's JSON Web Key Set. Unset: found by OIDC discovery from AUTH_ISSUER (`/.well-known/openid-configuration`); the development issuer serves its own at `/.well-known/jwks.json`.",
      ),
    }),
  ),
  authRolesClaims: Type.Array(Type.String({ format: "claimPath" }), {
    listOf: "claim paths",
    ...env(
      "AUTH_ROLES_CLAIMS",
      "realm_access.roles,roles",
      "Claims holding the caller's roles: a string or an array of strings, through AUTH_ROLE_MAP (`customer`, `attendant`, `operator`, `admin`, `gate`); their union counts. A path is dot-separated (`realm_access.roles`), a JSON pointer (`/https:~1~1example.com~1roles`), or has quoted segments for keys with dots or slashes (`\"https://example.com/roles\"`, Auth0's namespaced claims).",
    ),
  }),
  authAlgorithms: Type.Array(Type.String({ format: "algorithm" }), {
    listOf: "asymmetric JWS algorithms",
    ...env(
      "AUTH_ALGORITHMS",
      "RS256,PS256,ES256,EdDSA",
      "Signature algorithms accepted on tokens; asymmetric only (`none` and HS* are never accepted).",
    ),
  }),
  authClockSkewSeconds: Type.Integer({
    minimum: 0,
    maximum: 300,
    ...env(
      "AUTH_CLOCK_SKEW_SECONDS",
      "30",
      "Clock skew (seconds) tolerated when checking a token's exp, nbf and iat.",
    ),
  }),
  authJwksCooldownMs: Type.Integer({
    minimum: 0,
    maximum: 3600000,
    ...env(
      "AUTH_JWKS_COOLDOWN_MS",
      "30000",
      "Least time (ms) between two fetches of the key set when a token names an unknown key id (rotation without restart, bounded refetching).",
    ),
  }),
  authIssuerAllowHttp: Type.Boolean(
    env(
      "AUTH_ISSUER_ALLOW_HTTP",
      "false",
      "Accept an `http://` AUTH_ISSUER on a host other than localhost/127.0.0.1/[::1] (a development or compose network). Off: such an issuer is a configuration error; tokens and keys travel over https everywhere else. The page then also talks to the provider over http.",
    ),
  ),
  authRoleMap: Type.Record(Type.String(), literals(MAPPED_ROLES), {
    format: "roleMap",
    ...env(
      "AUTH_ROLE_MAP",
      "-",
      "The provider's own role or group names that count as one of ours (`customer`, `attendant`, `operator`, `admin`, `gate`), e.g. `Parking Admins=admin,Lot Managers=operator,app-user=customer` (names may hold spaces); our names always count as themselves. `-`: no mapping.",
    ),
  }),
  authLotsClaim: Type.String({
    format: "claimPath",
    ...env(
      "AUTH_LOTS_CLAIM",
      "lots",
      "Claim (a path, as for AUTH_ROLES_CLAIMS) holding the lots an `operator` or `attendant` runs: a string or an array of strings, each a lot id (`gangnam-1`), a prefix of ids ending in `*` (`gangnam-*`) or `*` (every lot). Only values starting with AUTH_LOTS_PREFIX count. An `admin` has every lot whatever it says.",
    ),
  }),
  authLotsPrefix: Type.String({
    format: "grantPrefix",
    ...env(
      "AUTH_LOTS_PREFIX",
      "-",
      "The prefix that marks a lot grant among the AUTH_LOTS_CLAIM values (stripped), e.g. `lots:` with `AUTH_LOTS_CLAIM=groups` for Okta groups named `lots:gangnam-*`. `-`: none (every value is a grant).",
    ),
  }),
  authCustomerIdClaim: Type.String({
    format: "claimPath",
    ...env(
      "AUTH_CUSTOMER_ID_CLAIM",
      "sub",
      "Claim (dot path) whose string value is a customer's id; any value a provider issues works (ids are opaque: printable ASCII without spaces or commas, at most 255 characters). A customer's token without it is refused; an operator's falls back to `sub`.",
    ),
  }),
  authTokenTypes: Type.Array(Type.String({ format: "tokenType" }), {
    listOf: "typ values",
    ...env(
      "AUTH_TOKEN_TYPES",
      "at+jwt,JWT",
      "JWS `typ` header values accepted on access tokens (case-insensitive, `application/` optional). A token without `typ` is accepted (Okta sets none); ID tokens (`at_hash`/`c_hash`, or Keycloak's `typ: ID` claim) never are.",
    ),
  }),
  authMaxTokenLifetimeSeconds: Type.Integer({
    minimum: 60,
    maximum: 31_536_000,
    ...env(
      "AUTH_MAX_TOKEN_LIFETIME_SECONDS",
      "86400",
      "Longest validity (`exp` minus `iat`, or minus now without `iat`) an accepted access token may have; longer-lived tokens are refused.",
    ),
  }),
  idempotencySecret: Type.Optional(
    Type.String({
      format: "secret",
      ...env(
        "IDEMPOTENCY_SECRET",
        undefined,
        "Secret (32+ characters) of the HMAC that turns an Idempotency-Key into a reservation id; every API replica needs the same one. Unset: a random secret created once under DATA_DIR/auth (mode 0600).",
      ),
    }),
  ),
};
