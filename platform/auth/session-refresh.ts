import type { SessionRecord, SessionStore } from "./session-store.js";
import {
  InvalidTokenError,
  KeySetUnavailableError,
  type TokenVerifier,
  type VerifiedToken,
} from "./verifier.js";

/**
 * Keeps browser sessions of an external provider alive: when the access token a session rests on
 * is about to expire, the refresh token kept in the session record buys a new one at the provider's
 * token endpoint (the page's public client), which is verified like any token. A provider that
 * refuses (revoked, rotated away by another replica, its own session over) ends the session with
 * a reason the page shows; a provider that cannot be reached keeps the session while its token is
 * still valid, and ends it after (the page offers to sign in again).
 */

export class RefreshRefusedError extends Error {
  override name = "RefreshRefusedError";
}

export interface TokenSet {
  readonly accessToken: string;
  readonly refreshToken?: string;
}

export type Refresh = (refreshToken: string) => Promise<TokenSet>;

export interface RefreshOptions {
  readonly tokenEndpoint: () => Promise<string>;
  readonly clientId: string;
  readonly resource?: string;
  readonly timeoutMs?: number;
}

/** The refresh_token grant of a public client (RFC 6749 section 6). */
export function refreshAtTokenEndpoint(options: RefreshOptions): Refresh {
  return async (refreshToken) => {
    let response: Response;
    try {
      const body = new URLSearchParams({
        grant_type: "refresh_token",
        refresh_token: refreshToken,
        client_id: options.clientId,
        ...(options.resource ? { resource: options.resource } : {}),
      });
      response = await fetch(await options.tokenEndpoint(), {
        method: "POST",
        body,
        headers: { accept: "application/json" },
        redirect: "error",
        signal: AbortSignal.timeout(options.timeoutMs ?? 5000),
      });
    } catch (error) {
      throw new KeySetUnavailableError(
        `the provider's token endpoint could not be reached: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    const answer = (await response.json().catch(() => ({}))) as Record<string, unknown>;
    if (response.status >= 500) {
      throw new KeySetUnavailableError(`the provider's token endpoint answered ${response.status}`);
    }
    if (!response.ok || typeof answer.access_token !== "string") {
      const code = typeof answer.error === "string" ? answer.error.slice(0, 60) : `status ${response.status}`;
      throw new RefreshRefusedError(`the identity provider did not renew the sign-in (${code})`);
    }
    return {
      accessToken: answer.access_token,
      ...(typeof answer.refresh_token === "string" ? { refreshToken: answer.refresh_token } : {}),
    };
  };
}

export type SessionOutcome = { readonly record: SessionRecord } | { readonly ended: string };

export interface SessionResolverOptions {
  readonly store: SessionStore;
  readonly verifier: TokenVerifier;
  /** Turns a verified token into the caller's id (customer id claim rules). */
  readonly principalOf: (token: VerifiedToken) => string;
  readonly refresh?: Refresh;
  /** Refresh this long before the access token expires at most (else when half its life is over). */
  readonly refreshAheadMs?: number;
  readonly now?: () => number;
}

const ENDED_KEPT_MS = 5 * 60_000;
/** How long a replica holds a session's renewal: past the token endpoint's timeout and the check. */
const RENEWAL_HOLD_MS = 15_000;
/** How often a request waiting for another replica's renewal reads the record. */
const RENEWAL_POLL_MS = 100;

export class SessionResolver {
  private readonly inflight = new Map<string, Promise<SessionOutcome>>();

  constructor(private readonly options: SessionResolverOptions) {}

  private get now() {
    return (this.options.now ?? Date.now)();
  }

  async resolve(id: string): Promise<SessionOutcome> {
    const record = await this.options.store.get(id);
    if (!record) return { ended: "your session has ended (signed out, or it expired)" };
    if (record.ended !== undefined) return { ended: record.ended };
    if (record.accessExpiresAt === undefined) return { record };
    const expires = Date.parse(record.accessExpiresAt);
    const life = expires - Date.parse(record.accessIssuedAt ?? record.createdAt);
    const left = expires - this.now;
    if (left > Math.min(this.options.refreshAheadMs ?? 60_000, life / 2)) return { record };
    if (!record.refreshToken || !this.options.refresh) {
      if (left > 0) return { record };
      return this.end(id, record, "your sign-in at the identity provider has expired");
    }
    // One renewal per session in this process (the page sends up to three reads at once)...
    let pending = this.inflight.get(id);
    if (!pending) {
      pending = this.renewOnce(id, record, left).finally(() => this.inflight.delete(id));
      this.inflight.set(id, pending);
    }
    return pending;
  }

  /**
   * ...and across the replicas sharing the store: the one whose compare-and-set takes the record's
   * renewal spends the refresh token (a rotating provider accepts it once, and revokes the whole
   * grant when it sees it again); the others go on with the access token while it is valid, or
   * wait for the renewal's outcome.
   */
  private async renewOnce(id: string, record: SessionRecord, left: number): Promise<SessionOutcome> {
    const until = new Date(this.now + RENEWAL_HOLD_MS).toISOString();
    if (await this.options.store.claimRenewal(id, record.refreshToken as string, until)) {
      return this.renew(id, record, left);
    }
    return this.awaitRenewal(id, record, left);
  }

  /** Another replica is renewing: the access token while it is valid, else what their renewal gave. */
  private async awaitRenewal(id: string, record: SessionRecord, left: number): Promise<SessionOutcome> {
    if (left > 0) return { record };
    for (let waited = 0; waited < RENEWAL_HOLD_MS + RENEWAL_POLL_MS; waited += RENEWAL_POLL_MS) {
      await new Promise((resolve) => setTimeout(resolve, RENEWAL_POLL_MS));
      const current = await this.options.store.get(id);
      if (!current) return { ended: "your session has ended (signed out, or it expired)" };
      if (current.ended !== undefined) return { ended: current.ended };
      if (current.refreshToken !== record.refreshToken) return { record: current };
      const held = current.renewingUntil !== undefined && Date.parse(current.renewingUntil) > this.now;
      if (!held) return this.renewOnce(id, current, left);
    }
    throw new KeySetUnavailableError("the session's renewal by another replica did not finish in time");
  }

  /** Ends a session: its record keeps only why, for a few minutes (no roles, no tokens). */
  private async end(id: string, record: SessionRecord, reason: string): Promise<SessionOutcome> {
    await this.options.store.replace(id, this.endedRecord(record, reason));
    return { ended: reason };
  }

  private endedRecord(record: SessionRecord, reason: string): SessionRecord {
    const until = Math.min(Date.parse(record.expiresAt), this.now + ENDED_KEPT_MS);
    return {
      sub: record.sub,
      principal: record.principal,
      roles: [],
      createdAt: record.createdAt,
      expiresAt: new Date(until).toISOString(),
      ended: reason,
    };
  }

  /**
   * Spends the refresh token (this process holds the record's renewal). The renewed record, an
   * ended one, or a released hold is written only while the record still has that refresh token:
   * a refusal never overwrites another replica's renewal, and a signed-out session stays out.
   */
  private async renew(id: string, record: SessionRecord, left: number): Promise<SessionOutcome> {
    const refresh = this.options.refresh as Refresh;
    const spent = record.refreshToken as string;
    const { renewingUntil: _held, ...unheld } = record;
    try {
      const tokens = await refresh(spent);
      const verified = await this.options.verifier.verify(tokens.accessToken);
      const renewed: SessionRecord = {
        ...unheld,
        sub: verified.sub,
        principal: this.options.principalOf(verified),
        roles: verified.roles,
        grants: verified.grants,
        accessIssuedAt: new Date(this.now).toISOString(),
        accessExpiresAt: new Date(Number(verified.claims.exp) * 1000).toISOString(),
        refreshToken: tokens.refreshToken ?? spent,
      };
      if (await this.options.store.replaceIfUnrenewed(id, spent, renewed)) return { record: renewed };
      return this.current(id);
    } catch (error) {
      if (error instanceof RefreshRefusedError || error instanceof InvalidTokenError) {
        const reason = `your session has ended: ${error.message}`;
        if (await this.options.store.replaceIfUnrenewed(id, spent, this.endedRecord(record, reason))) {
          return { ended: reason };
        }
        return this.current(id);
      }
      if (error instanceof KeySetUnavailableError) {
        // Unreachable: the session goes on while its token is valid, and ends (sign in again) after.
        if (left > 0) {
          await this.options.store.replaceIfUnrenewed(id, spent, unheld);
          return { record: unheld };
        }
        const reason = "your session has ended: the identity provider could not be reached to renew it";
        if (await this.options.store.replaceIfUnrenewed(id, spent, this.endedRecord(record, reason))) {
          return { ended: reason };
        }
        return this.current(id);
      }
      throw error;
    }
  }

  /** The session as another writer left it (a replica's renewal, a sign-out, a revocation). */
  private async current(id: string): Promise<SessionOutcome> {
    const record = await this.options.store.get(id);
    if (!record) return { ended: "your session has ended (signed out, or it expired)" };
    return record.ended !== undefined ? { ended: record.ended } : { record };
  }
}
