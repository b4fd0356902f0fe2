import { createServer as createHttpServer, type Server } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { exportJWK, generateKeyPair, type JWK } from "jose";
import Provider, { errors } from "oidc-provider";
import selfsigned from "selfsigned";
import { freePort } from "./process.js";

/**
 * A certified OpenID Provider (`oidc-provider`, the implementation behind many hosted ones) as the
 * stand-in for Keycloak, Auth0, Entra ID and Okta: RS256 JWT access tokens for the API through a
 * resource indicator (RFC 8707), roles in a `roles` claim under the provider's own names (a string
 * for one role, an array for more), client credentials for scripts, Authorization Code with PKCE
 * and refresh tokens for the control-center page, over http or https (a throwaway self-signed
 * certificate). Its signing keys can be rotated, and the provider stopped and started again on the
 * same address (an outage).
 */

export const RESOURCE = "urn:parking-reservations:api";
export const API_AUDIENCE = "parking-reservations";
export const PAGE_CLIENT = "control-center";
/** Client-credentials clients: their `sub` is their client id (as Auth0's M2M tokens' is). */
export const CLIENTS = {
  operatorRobot: { id: "ops-robot", secret: "ops-robot-secret-0123456789abcdef" },
  customer7: { id: "auth0|customer-7", secret: "customer-7-secret-0123456789abcdef" },
} as const;
/** The provider's own role names (mapped by AUTH_ROLE_MAP), per account or client id. */
export const PROVIDER_ROLES: Readonly<Record<string, string | string[]>> = {
  "ops-robot": ["parking-admins", "offline_access"],
  "ops-1": ["parking-admins"],
  "auth0|customer-7": "parking-customer",
  "cust-browser": "parking-customer",
};
export const ROLE_MAP = "parking-admins=admin,parking-customer=customer";

export interface TestProviderOptions {
  readonly https?: boolean;
  /** The issuer's host name (it listens on 127.0.0.1 either way): `localhost` as in compose. */
  readonly host?: "127.0.0.1" | "localhost";
  /** The control-center page's redirect URIs. */
  readonly redirectUris: readonly string[];
  readonly accessTokenTtlSeconds?: number;
  /**
   * A sign-in that names no API (no `resource`) gets an opaque access token for the provider's own
   * userinfo, as Auth0 without `audience` does; by default the API is its default resource.
   */
  readonly opaqueWithoutResource?: boolean;
}

export interface TestProvider {
  readonly issuer: string;
  /** PEM of the self-signed certificate (https only): NODE_EXTRA_CA_CERTS for the service. */
  readonly certificate: string | undefined;
  /** A token for a client-credentials client (form-encoded client_secret_post). */
  clientCredentials(client: { id: string; secret: string }, resource?: string): Promise<string>;
  /** Forgets every session, grant and refresh token (an administrator revoking them all). */
  revokeAll(): void;
  /** The lifetime of the access tokens issued from now on. */
  setAccessTokenTtl(seconds: number): void;
  /**
   * The refresh-token grants answered so far: renewed, and refused (a rotated refresh token used
   * again is refused, and its whole grant revoked: reuse detection).
   */
  readonly refreshes: { readonly renewed: number; readonly refused: number };
  /** A new signing key, used from now on; the old one stays published. Restarts the provider. */
  rotateKey(): Promise<string>;
  stop(): Promise<void>;
  start(): Promise<void>;
}

/**
 * The provider's store (sessions, grants, codes, refresh tokens) in this instance's own map: it
 * survives restarts (rotation, outage) and `revokeAll` empties it, as an administrator ending
 * every session at the provider would.
 */
function mapAdapter(store: Map<string, Record<string, unknown>>) {
  return class MapAdapter {
    constructor(private readonly name: string) {}
    private key(id: string) {
      return `${this.name}:${id}`;
    }
    async upsert(id: string, payload: Record<string, unknown>) {
      store.set(this.key(id), { ...payload });
      if (typeof payload.uid === "string") store.set(`sessionUid:${payload.uid}`, { id });
      if (typeof payload.grantId === "string") {
        const members = (store.get(`grant:${payload.grantId}`)?.keys as string[] | undefined) ?? [];
        store.set(`grant:${payload.grantId}`, { keys: [...members, this.key(id)] });
      }
    }
    async find(id: string) {
      return store.get(this.key(id));
    }
    async findByUid(uid: string) {
      const ref = store.get(`sessionUid:${uid}`);
      return typeof ref?.id === "string" ? this.find(ref.id) : undefined;
    }
    async findByUserCode() {
      return undefined;
    }
    async consume(id: string) {
      const found = store.get(this.key(id));
      if (found) found.consumed = Math.floor(Date.now() / 1000);
    }
    async destroy(id: string) {
      store.delete(this.key(id));
    }
    async revokeByGrantId(grantId: string) {
      for (const key of (store.get(`grant:${grantId}`)?.keys as string[] | undefined) ?? [])
        store.delete(key);
      store.delete(`grant:${grantId}`);
    }
  };
}

interface SigningKey {
  readonly kid: string;
  readonly jwk: JWK;
}

async function newKey(n: number): Promise<SigningKey> {
  const { privateKey } = await generateKeyPair("RS256", { extractable: true });
  const kid = `test-key-${n}-${Date.now()}`;
  return { kid, jwk: { ...(await exportJWK(privateKey)), kid, alg: "RS256", use: "sig" } };
}

export async function startTestProvider(options: TestProviderOptions): Promise<TestProvider> {
  const port = await freePort();
  const scheme = options.https ? "https" : "http";
  const issuer = `${scheme}://${options.host ?? "127.0.0.1"}:${port}`;
  let ttl = options.accessTokenTtlSeconds ?? 300;
  let certificate: { cert: string; key: string } | undefined;
  if (options.https) {
    const pems = await selfsigned.generate([{ name: "commonName", value: "127.0.0.1" }], {
      keySize: 2048,
      algorithm: "sha256",
      extensions: [
        { name: "basicConstraints", cA: true },
        { name: "subjectAltName", altNames: [{ type: 7, ip: "127.0.0.1" }] },
      ],
    });
    certificate = { cert: pems.cert, key: pems.private };
  }
  const keys: SigningKey[] = [await newKey(1)];
  const store = new Map<string, Record<string, unknown>>();
  const Adapter = mapAdapter(store);
  let provider: Provider | undefined;
  let server: Server | undefined;

  const build = () => {
    const p = new Provider(issuer, {
      adapter: Adapter as never,
      clients: [
        {
          client_id: PAGE_CLIENT,
          token_endpoint_auth_method: "none",
          redirect_uris: [...options.redirectUris],
          // RP-initiated logout comes back to the page it signed in from.
          post_logout_redirect_uris: [...options.redirectUris],
          grant_types: ["authorization_code", "refresh_token"],
          response_types: ["code"],
        },
        ...Object.values(CLIENTS).map((client) => ({
          client_id: client.id,
          client_secret: client.secret,
          token_endpoint_auth_method: "client_secret_post" as const,
          grant_types: ["client_credentials"],
          response_types: [],
          redirect_uris: [],
        })),
      ],
      // Newest first: the provider signs with the first key of the algorithm.
      jwks: { keys: [...keys].reverse().map((k) => k.jwk) } as never,
      cookies: { keys: ["parking-test-provider-cookie-key"] },
      scopes: ["openid", "offline_access", "api"],
      features: {
        devInteractions: { enabled: true },
        rpInitiatedLogout: { enabled: true },
        clientCredentials: { enabled: true },
        resourceIndicators: {
          enabled: true,
          defaultResource: () => (options.opaqueWithoutResource ? undefined : RESOURCE),
          useGrantedResource: () => true,
          getResourceServerInfo: (_ctx, indicator) => {
            if (indicator !== RESOURCE) throw new errors.InvalidTarget();
            return {
              scope: "api",
              audience: API_AUDIENCE,
              accessTokenTTL: ttl,
              accessTokenFormat: "jwt",
              jwt: { sign: { alg: "RS256" } },
            };
          },
        },
      },
      findAccount: async (_ctx, id) => ({ accountId: id, claims: async () => ({ sub: id }) }),
      extraTokenClaims: async (_ctx, token) => {
        const who = (token as { accountId?: string }).accountId ?? (token as { clientId?: string }).clientId;
        const roles = who ? PROVIDER_ROLES[who] : undefined;
        return roles === undefined ? {} : { roles };
      },
      issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed("refresh_token"),
      // Every renewal spends the refresh token and issues a new one, as Auth0, Okta and Keycloak
      // do with rotation on; one used twice revokes the grant.
      rotateRefreshToken: true,
      pkce: { required: () => true },
      ttl: {
        AccessToken: () => ttl,
        ClientCredentials: () => ttl,
        RefreshToken: 3600,
        Session: 3600,
        Grant: 3600,
      },
    });
    return p;
  };

  const refreshes = { renewed: 0, refused: 0 };
  const start = async () => {
    provider = build();
    const isRefresh = (ctx: { oidc?: { params?: { grant_type?: unknown } } }) =>
      ctx.oidc?.params?.grant_type === "refresh_token";
    provider.on("grant.success", (ctx) => {
      if (isRefresh(ctx)) refreshes.renewed++;
    });
    provider.on("grant.error", (ctx) => {
      if (isRefresh(ctx)) refreshes.refused++;
    });
    const callback = provider.callback();
    server = certificate ? createHttpsServer(certificate, callback) : createHttpServer(callback);
    await new Promise<void>((resolve, reject) => {
      server?.once("error", reject);
      server?.listen(port, "127.0.0.1", () => resolve());
    });
  };
  const stop = async () => {
    const s = server;
    server = undefined;
    if (!s) return;
    s.closeAllConnections?.();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  };
  await start();

  return {
    issuer,
    certificate: certificate?.cert,
    async clientCredentials(client, resource = RESOURCE) {
      const response = await fetchProvider(`${issuer}/token`, {
        method: "POST",
        body: new URLSearchParams({
          grant_type: "client_credentials",
          client_id: client.id,
          client_secret: client.secret,
          scope: "api",
          resource,
        }),
      });
      const body = (await response.json()) as { access_token?: string; error?: string };
      if (!body.access_token) throw new Error(`client credentials refused: ${JSON.stringify(body)}`);
      return body.access_token;
    },
    async rotateKey() {
      const key = await newKey(keys.length + 1);
      keys.push(key);
      await stop();
      await start();
      return key.kid;
    },
    revokeAll: () => store.clear(),
    setAccessTokenTtl: (seconds) => {
      ttl = seconds;
    },
    refreshes,
    stop,
    start,
  };

  /**
   * The test's own requests to the provider: a fresh connection each (the provider restarts), and
   * over https trusting its certificate (nothing else does).
   */
  async function fetchProvider(url: string, init: RequestInit): Promise<Response> {
    const { request } = certificate ? await import("node:https") : await import("node:http");
    const body = init.body instanceof URLSearchParams ? init.body.toString() : String(init.body ?? "");
    return new Promise((resolve, reject) => {
      const req = request(
        url,
        {
          method: init.method ?? "GET",
          agent: false,
          ...(certificate ? { ca: certificate.cert } : {}),
          headers: {
            "content-type": "application/x-www-form-urlencoded",
            "content-length": Buffer.byteLength(body),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("end", () =>
            resolve(
              new Response(Buffer.concat(chunks), {
                status: res.statusCode ?? 500,
                headers: { "content-type": "application/json" },
              }),
            ),
          );
        },
      );
      req.on("error", reject);
      req.end(body);
    });
  }
}
