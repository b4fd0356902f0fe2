import { type Static, Type } from "@sinclair/typebox";

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
      scope: Type.String(),
    }),
  ],
  { $id: "SignInConfig" },
);
export type SignInConfig = Static<typeof SignInConfig>;
