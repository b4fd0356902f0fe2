import * as oauth from "oauth4webapi";
import { api, CONTROL_CENTER_URL, type SignInConfig } from "./api.js";

/**
 * Sign-in with an external OpenID Connect provider (Keycloak in docker compose): Authorization
 * Code with PKCE in the browser, through oauth4webapi. The provider sends the browser back to
 * /control-center with a code; the code and the verifier kept in this tab's sessionStorage buy an
 * access token (and a refresh token, if the provider gives one), which the service turns into a
 * session of its own behind an HttpOnly cookie (the page keeps neither token). The scope, the
 * `audience` (Auth0) and `resource` (RFC 8707) parameters come from the service's configuration;
 * plain http only with an issuer the operator allowed it for (development, compose).
 */

const PENDING = "control-center.oidc";

interface Pending {
  readonly verifier: string;
  readonly state: string;
  readonly redirectUri: string;
}

type OidcConfig = Extract<SignInConfig, { mode: "oidc" }>;

/** oauth4webapi refuses http:// unless told: told only when the service says the issuer is http. */
const transport = (config: OidcConfig) => (config.allowHttp ? { [oauth.allowInsecureRequests]: true } : {});

/**
 * A sign-in the provider did not complete: what happened, in words an operator can act on, and
 * by code (with its values) for the page to say it in the page's language.
 */
export class SignInProblem extends Error {
  override name = "SignInProblem";
  constructor(
    message: string,
    readonly code: "unreachable" | "canceled" | "refused",
    readonly values: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }
  /** The operator canceled it at the provider (`error=access_denied`): offer to try again. */
  get canceled(): boolean {
    return this.code === "canceled";
  }
}

/** The browser could not reach the provider at all (a network error, not an answer). */
const unreachable = (config: OidcConfig) =>
  new SignInProblem(
    `The sign-in provider at ${config.issuer} cannot be reached; try again shortly.`,
    "unreachable",
    {
      issuer: config.issuer,
    },
  );

/** A request to the provider; a network failure ("Failed to fetch") says the provider cannot be reached. */
async function toProvider<T>(config: OidcConfig, request: () => Promise<T>): Promise<T> {
  try {
    return await request();
  } catch (error) {
    if (error instanceof TypeError) throw unreachable(config);
    if (error instanceof oauth.OperationProcessingError && error.cause instanceof TypeError)
      throw unreachable(config);
    throw error;
  }
}

async function discover(config: OidcConfig) {
  const issuer = new URL(config.issuer);
  const response = await toProvider(config, () =>
    oauth.discoveryRequest(issuer, { algorithm: "oidc", ...transport(config) }),
  );
  return oauth.processDiscoveryResponse(issuer, response);
}

/**
 * The way back from the provider when it did not sign the operator in: canceled (`access_denied`,
 * the operator pressed cancel or declined), or refused for a reason the provider names.
 */
function refusedAtProvider(params: URLSearchParams): SignInProblem | null {
  const error = params.get("error");
  if (!error) return null;
  if (error === "access_denied")
    return new SignInProblem(
      "The sign-in was canceled at the provider. Sign in again when you are ready.",
      "canceled",
    );
  const description = params.get("error_description");
  const reason = description ? `${description} (${error})` : error;
  return new SignInProblem(
    `The sign-in provider did not sign you in: ${reason}. Try again, or ask the provider's administrator.`,
    "refused",
    { reason },
  );
}

/** Sends the browser to the provider's sign-in page. */
export async function startSignIn(config: OidcConfig): Promise<void> {
  const as = await discover(config);
  if (!as.authorization_endpoint) throw new Error("The identity provider has no authorization endpoint.");
  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const redirectUri = `${location.origin}${CONTROL_CENTER_URL}`;
  sessionStorage.setItem(PENDING, JSON.stringify({ verifier, state, redirectUri } satisfies Pending));
  const url = new URL(as.authorization_endpoint);
  url.searchParams.set("client_id", config.clientId);
  url.searchParams.set("redirect_uri", redirectUri);
  url.searchParams.set("response_type", "code");
  url.searchParams.set("scope", config.scope);
  if (config.audience) url.searchParams.set("audience", config.audience);
  if (config.resource) url.searchParams.set("resource", config.resource);
  url.searchParams.set("state", state);
  url.searchParams.set("code_challenge", await oauth.calculatePKCECodeChallenge(verifier));
  url.searchParams.set("code_challenge_method", "S256");
  location.assign(url);
}

/**
 * On the way back from the provider (`?code=…&state=…` in the address): exchanges the code for an
 * access token, hands it to the service for a session cookie, clears the address bar. Returns
 * false when this is not a way back.
 */
export async function finishSignIn(config: OidcConfig): Promise<boolean> {
  const params = new URLSearchParams(location.search);
  const saved = sessionStorage.getItem(PENDING);
  if (!saved || !(params.has("code") || params.has("error"))) return false;
  sessionStorage.removeItem(PENDING);
  history.replaceState(null, "", location.pathname);
  const pending = JSON.parse(saved) as Pending;
  const refused = refusedAtProvider(params);
  if (refused) throw refused;
  const as = await discover(config);
  const client: oauth.Client = { client_id: config.clientId };
  const callback = oauth.validateAuthResponse(as, client, params, pending.state);
  const response = await toProvider(config, () =>
    oauth.authorizationCodeGrantRequest(
      as,
      client,
      oauth.None(),
      callback,
      pending.redirectUri,
      pending.verifier,
      {
        ...transport(config),
        ...(config.resource ? { additionalParameters: { resource: config.resource } } : {}),
      },
    ),
  );
  const tokens = await oauth.processAuthorizationCodeResponse(as, client, response);
  await api.startSession(tokens.access_token, tokens.refresh_token, tokens.id_token);
  return true;
}
