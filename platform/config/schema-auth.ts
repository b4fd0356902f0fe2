import { Type } from "@sinclair/typebox";
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
    listOf: "claim dot paths",
    ...env(
      "AUTH_ROLES_CLAIMS",
      "realm_access.roles,roles",
      "Claims (dot paths) holding the caller's roles: a string or an array of strings, through AUTH_ROLE_MAP (`customer`, `operator`); their union counts.",
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
  authRoleMap: Type.Record(Type.String(), literals(["customer", "operator"] as const), {
    format: "roleMap",
    ...env(
      "AUTH_ROLE_MAP",
      "-",
      "The provider's own role or group names that count as `customer` or `operator`, e.g. `ParkingAdmins=operator,app-user=customer`; the names `customer` and `operator` always count as themselves. `-`: no mapping.",
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
