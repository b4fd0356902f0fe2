import { CachedKeySet, fetchKeySet } from "./key-set.js";

/**
 * An external OpenID Connect provider as the service sees it: its discovery document (checked
 * against AUTH_ISSUER, with a message that says what to fix), its key set (fetched by the
 * service's own client, never through the service's own edge) and a readiness check.
 */

export interface ProviderMetadata {
  readonly issuer: string;
  readonly jwks_uri: string;
  readonly token_endpoint?: string;
  readonly authorization_endpoint?: string;
  /** RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): where sign-out ends the provider's session. */
  readonly end_session_endpoint?: string;
}

export const discoveryUrlOf = (issuer: string): string =>
  `${issuer.replace(/\/+$/, "")}/.well-known/openid-configuration`;

/** OpenID Connect discovery of `issuer`; the document must name exactly that issuer. */
export async function discover(issuer: string, timeoutMs = 5000): Promise<ProviderMetadata> {
  const url = discoveryUrlOf(issuer);
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: "error" });
  } catch (error) {
    throw new Error(`the provider's discovery document ${url} could not be fetched: ${causeOf(error)}`);
  }
  if (!response.ok) {
    throw new Error(
      `the provider's discovery document ${url} answered ${response.status}; is AUTH_ISSUER exactly the provider's issuer (realm or tenant path)?`,
    );
  }
  const document = (await response.json().catch(() => undefined)) as Partial<ProviderMetadata> | undefined;
  if (!document || typeof document !== "object") throw new Error(`${url} is not a JSON document`);
  if (document.issuer !== issuer) {
    throw new Error(
      `${url} names the issuer ${JSON.stringify(document.issuer)}, but AUTH_ISSUER is ${JSON.stringify(issuer)}: set AUTH_ISSUER to exactly the provider's issuer (a trailing slash counts)`,
    );
  }
  if (typeof document.jwks_uri !== "string") throw new Error(`${url} has no jwks_uri`);
  return document as ProviderMetadata;
}

function causeOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as { cause?: unknown }).cause;
  return cause instanceof Error ? `${error.message} (${cause.message})` : error.message;
}

export interface ReadinessCheck {
  readonly ok: boolean;
  readonly detail?: string;
}

export interface ExternalProviderOptions {
  readonly issuer: string;
  /** AUTH_JWKS_URL: the key set at this address instead of discovery's. */
  readonly jwksUrl?: string;
  readonly cooldownMs: number;
  readonly timeoutMs?: number;
}

const CHECK_EVERY_MS = 10_000;

export class ExternalProvider {
  readonly keySet: CachedKeySet;
  private metadataCache: Promise<ProviderMetadata> | undefined;
  private lastCheck: { at: number; result: Promise<ReadinessCheck> } | undefined;

  constructor(private readonly options: ExternalProviderOptions) {
    this.keySet = new CachedKeySet({
      cooldownMs: options.cooldownMs,
      load: async () =>
        fetchKeySet(new URL(options.jwksUrl ?? (await this.metadata()).jwks_uri), options.timeoutMs ?? 5000),
    });
  }

  /** The discovery document, cached once it was fetched and checked. */
  metadata(): Promise<ProviderMetadata> {
    this.metadataCache ??= discover(this.options.issuer, this.options.timeoutMs).catch((error: unknown) => {
      this.metadataCache = undefined;
      throw error;
    });
    return this.metadataCache;
  }

  /**
   * Whether tokens can be checked: discovery (unless AUTH_JWKS_URL names the keys) and the key set
   * load. A provider that cannot be reached after keys were loaded is an outage, not a
   * misconfiguration: still ready, the known keys verify, and the detail says so.
   */
  check(): Promise<ReadinessCheck> {
    const now = Date.now();
    if (this.lastCheck && now - this.lastCheck.at < CHECK_EVERY_MS) return this.lastCheck.result;
    const result = this.runCheck();
    this.lastCheck = { at: now, result };
    return result;
  }

  private async runCheck(): Promise<ReadinessCheck> {
    try {
      if (this.options.jwksUrl === undefined) {
        this.metadataCache = undefined; // checked afresh: a changed provider shows up
        await this.metadata();
      }
      await this.keySet.refresh();
      return { ok: true };
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      const loadedAt = this.keySet.loadedAt;
      if (loadedAt !== undefined && !/names the issuer/.test(reason)) {
        return {
          ok: true,
          detail: `the provider cannot be reached (${reason}); tokens are checked with the keys loaded at ${new Date(loadedAt).toISOString()}`,
        };
      }
      return { ok: false, detail: `tokens cannot be checked: ${reason}` };
    }
  }
}
