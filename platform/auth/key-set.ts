import { createLocalJWKSet, type JSONWebKeySet, type JWTVerifyGetKey } from "jose";

/**
 * An issuer's signing keys, cached: the key set is loaded on first use and again when it is older
 * than `maxAgeMs`; a token naming a key id the cached set lacks loads it again at once (at most one
 * load per `minIntervalMs`, concurrent asks share it), so a newly published key is found without
 * waiting. A key id that a load made after it was first asked for did not find is not looked for
 * again within `cooldownMs` (a stream of made-up key ids costs the issuer one fetch per
 * `minIntervalMs` at most). When a load fails the keys already known keep verifying (an outage of
 * the provider); with none known, or for a key id the known set lacks, the failure is thrown (the
 * verifier's "unavailable": 503, retry later), and the set is fetched again at the next ask.
 */
export interface KeySetOptions {
  /** Loads the whole key set (a fetch of the issuer's JWKS, or the development issuer's files). */
  readonly load: () => Promise<JSONWebKeySet>;
  readonly cooldownMs: number;
  readonly minIntervalMs?: number;
  readonly maxAgeMs?: number;
  readonly now?: () => number;
}

interface Loaded {
  readonly kids: ReadonlySet<string>;
  readonly getKey: JWTVerifyGetKey;
  readonly loadedAt: number;
}

const MAX_REMEMBERED_MISSES = 1000;
/** While the provider is down, how often a stale key set is tried again. */
const STALE_RETRY_MS = 5000;

export class CachedKeySet {
  private current: Loaded | undefined;
  private loading: Promise<Loaded> | undefined;
  private lastAttempt = Number.NEGATIVE_INFINITY;
  private readonly misses = new Map<string, number>();
  /** Why the last load failed, if it did (cleared by a successful one). */
  lastError: string | undefined;

  constructor(private readonly options: KeySetOptions) {}

  private get now() {
    return (this.options.now ?? Date.now)();
  }

  /** When the keys in use were loaded, if ever. */
  get loadedAt(): number | undefined {
    return this.current?.loadedAt;
  }

  /**
   * Loads the set now (readiness checks, start-up); throws when it cannot be loaded. A set loaded
   * within `minIntervalMs` (a request's load that overtook the start-up check) is fresh enough:
   * fetching it again would only cost the issuer a request.
   */
  async refresh(): Promise<void> {
    if (this.loading) {
      await this.loading;
      return;
    }
    const loadedAt = this.current?.loadedAt;
    if (loadedAt !== undefined && this.now - loadedAt < (this.options.minIntervalMs ?? 1000)) return;
    await this.reload();
  }

  private reload(): Promise<Loaded> {
    this.loading ??= (async () => {
      const wait = this.lastAttempt + (this.options.minIntervalMs ?? 1000) - this.now;
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      this.lastAttempt = this.now;
      try {
        const set = await this.options.load();
        if (!Array.isArray(set?.keys)) throw new Error("the key set has no keys array");
        const kids = new Set(set.keys.map((key) => key.kid).filter((kid): kid is string => !!kid));
        this.current = { kids, getKey: createLocalJWKSet(set), loadedAt: this.now };
        this.lastError = undefined;
        return this.current;
      } catch (error) {
        this.lastError = error instanceof Error ? error.message : String(error);
        throw error;
      }
    })().finally(() => {
      this.loading = undefined;
    });
    return this.loading;
  }

  /** The key for a token's header: what jose's jwtVerify asks of a key set. */
  readonly getKey: JWTVerifyGetKey = async (header, token) => {
    let loaded = this.current;
    if (!loaded) {
      // None known and the last load just failed: say so at once rather than queue every caller.
      if (
        this.lastError !== undefined &&
        this.now - this.lastAttempt < (this.options.minIntervalMs ?? 1000)
      ) {
        throw new Error(this.lastError);
      }
      loaded = await this.reload();
    } else if (
      this.now - loaded.loadedAt > (this.options.maxAgeMs ?? 600_000) &&
      this.now - this.lastAttempt >= STALE_RETRY_MS
    ) {
      loaded = await this.reload().catch(() => loaded as Loaded); // outage: the known keys verify
    }
    const kid = header.kid;
    if (kid !== undefined && !loaded.kids.has(kid) && this.mayLookFor(kid)) {
      try {
        loaded = await this.reload();
      } catch (error) {
        // Whether the issuer publishes this key cannot be known now: an outage ("retry later",
        // the verifier's KeySetUnavailableError), not a bad token. Not remembered as a miss, so
        // the set is fetched again as soon as the issuer answers.
        throw new Error(
          `the token's key id is not among the keys known, and the key set cannot be fetched now: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
      if (!loaded.kids.has(kid)) this.remember(kid);
    }
    return loaded.getKey(header, token);
  };

  private mayLookFor(kid: string): boolean {
    const missedAt = this.misses.get(kid);
    return missedAt === undefined || this.now - missedAt >= this.options.cooldownMs;
  }

  private remember(kid: string): void {
    if (this.misses.size >= MAX_REMEMBERED_MISSES) this.misses.clear();
    this.misses.set(kid, this.now);
  }
}

/** Fetches a JSON Web Key Set over http(s) with the service's own client (no redirects). */
export async function fetchKeySet(url: URL, timeoutMs = 5000): Promise<JSONWebKeySet> {
  const response = await fetch(url, {
    signal: AbortSignal.timeout(timeoutMs),
    redirect: "error",
    headers: { accept: "application/json, application/jwk-set+json" },
  });
  if (!response.ok) throw new Error(`${url.href} answered ${response.status}`);
  const body = (await response.json().catch(() => undefined)) as JSONWebKeySet | undefined;
  if (!body || !Array.isArray(body.keys)) throw new Error(`${url.href} is not a JSON Web Key Set`);
  return body;
}
