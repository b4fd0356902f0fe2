import { type Static, Type } from "@sinclair/typebox";
import { PLAIN_TEXT_PATTERN, PLAIN_TEXT_RULE } from "../plain-text.js";

/**
 * How the control-center page signs an operator in, served by GET /control-center/sign-in-config:
 * with the service's own development issuer, a one-time link from `npm run -s token`; with an
 * external OpenID Connect provider, Authorization Code with PKCE in the browser.
 */
export const SignInConfig = Type.Union(
  [
    Type.Object({ mode: Type.Literal("link") }),
    Type.Object({
      mode: Type.Literal("oidc"),
      issuer: Type.String({ format: "uri", description: "The provider's issuer (OIDC discovery base)." }),
      clientId: Type.String({ description: "The page's public client id at the provider." }),
      scope: Type.String({ description: "The scope to ask for (PAGE_OIDC_SCOPE)." }),
      audience: Type.Optional(
        Type.String({
          description: "`audience` parameter of the authorization request (PAGE_OIDC_AUDIENCE, Auth0).",
        }),
      ),
      resource: Type.Optional(
        Type.String({ description: "`resource` parameter, RFC 8707 (PAGE_OIDC_RESOURCE)." }),
      ),
      allowHttp: Type.Boolean({
        description: "Whether the issuer is reached over http (a development issuer the operator allowed).",
      }),
    }),
  ],
  { $id: "SignInConfig" },
);
export type SignInConfig = Static<typeof SignInConfig>;

/**
 * A sign-in link's query: its one-time sign-in token (`npm run -s token -- --sign-in-url`). Left
 * optional so that a link without one is refused like any bad link (401 `sign-in-failed`, and a
 * browser gets the page saying how to get a new one) rather than as a malformed request.
 */
export const SignInQuery = Type.Object({
  token: Type.Optional(
    Type.String({
      maxLength: 8192,
      pattern: PLAIN_TEXT_PATTERN,
      description: `The one-time sign-in token; a link without one is refused as \`sign-in-failed\`. Plain text: ${PLAIN_TEXT_RULE}.`,
    }),
  ),
});
export type SignInQuery = Static<typeof SignInQuery>;

/** What the page posts with its access token to start a session: the refresh token, if any. */
export const StartSessionBody = Type.Object(
  {
    refreshToken: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 4096,
        pattern: PLAIN_TEXT_PATTERN,
        description: `The provider's refresh token: kept in the session record on the server (never in the browser), it renews the session's access token before it expires. Plain text: ${PLAIN_TEXT_RULE}.`,
      }),
    ),
    idToken: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 8192,
        description:
          "The provider's ID token: kept in the session record, sent back to the provider only as `id_token_hint` when the session signs out (RP-initiated logout), never accepted as an access token.",
      }),
    ),
  },
  { additionalProperties: false, $id: "StartSessionBody" },
);
export type StartSessionBody = Static<typeof StartSessionBody>;

/** An operator ends every browser session of one subject (a lost device, a left employee). */
export const RevokeSessionsBody = Type.Object(
  {
    sub: Type.String({
      minLength: 1,
      maxLength: 255,
      pattern: "^[\\x21-\\x7e]+$",
      description: "The `sub` of the tokens the sessions were started with (printable ASCII, no spaces).",
    }),
  },
  { additionalProperties: false, $id: "RevokeSessionsBody" },
);
export type RevokeSessionsBody = Static<typeof RevokeSessionsBody>;

export const SessionsRevoked = Type.Object(
  {
    sub: Type.String(),
    revoked: Type.Integer({ minimum: 0, description: "How many live sessions were ended." }),
  },
  { $id: "SessionsRevoked" },
);
export type SessionsRevoked = Static<typeof SessionsRevoked>;
