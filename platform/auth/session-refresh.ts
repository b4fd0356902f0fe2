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
    let pending = this.inflight.get(id);
    if (!pending) {
      pending = this.renew(id, record, left).finally(() => this.inflight.delete(id));
      this.inflight.set(id, pending);
    }
    return pending;
  }

  /** Ends a session: its record keeps only why, for a few minutes (no roles, no tokens). */
  private async end(id: string, record: SessionRecord, reason: string): Promise<SessionOutcome> {
    const until = Math.min(Date.parse(record.expiresAt), this.now + ENDED_KEPT_MS);
    await this.options.store.replace(id, {
      sub: record.sub,
      principal: record.principal,
      roles: [],
      createdAt: record.createdAt,
      expiresAt: new Date(until).toISOString(),
      ended: reason,
    });
    return { ended: reason };
  }

  private async renew(id: string, record: SessionRecord, left: number): Promise<SessionOutcome> {
    const refresh = this.options.refresh as Refresh;
    try {
      const tokens = await refresh(record.refreshToken as string);
      const verified = await this.options.verifier.verify(tokens.accessToken);
      const renewed: SessionRecord = {
        ...record,
        sub: verified.sub,
        principal: this.options.principalOf(verified),
        roles: verified.roles,
        grants: verified.grants,
        accessIssuedAt: new Date(this.now).toISOString(),
        accessExpiresAt: new Date(Number(verified.claims.exp) * 1000).toISOString(),
        refreshToken: tokens.refreshToken ?? (record.refreshToken as string),
      };
      await this.options.store.replace(id, renewed);
      return { record: renewed };
    } catch (error) {
      if (error instanceof RefreshRefusedError || error instanceof InvalidTokenError) {
        return this.end(id, record, `your session has ended: ${error.message}`);
      }
      if (error instanceof KeySetUnavailableError) {
        // Unreachable: the session goes on while its token is valid, and ends (sign in again) after.
        if (left > 0) return { record };
        return this.end(
          id,
          record,
          "your session has ended: the identity provider could not be reached to renew it",
        );
      }
      throw error;
    }
  }
}
