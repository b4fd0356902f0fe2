import { createHash, randomBytes } from "node:crypto";

/**
 * Browser sessions are records on the server: the cookie holds only a random id (256 bits), the
 * record (who, roles, until when, and an external provider's refresh token) lives in the document
 * store under the id's SHA-256, so that reading the store yields no usable cookie. Every replica
 * sharing the store knows every session; signing out deletes the record at once; an expired
 * record counts as absent (and is deleted when met).
 */

export interface SessionRecord {
  /** The token's `sub`. */
  readonly sub: string;
  /** The caller's id as the service uses it (the customer id claim, else `sub`). */
  readonly principal: string;
  readonly roles: readonly string[];
  /** The token's grants (the lots a member of staff runs). */
  readonly grants?: readonly string[];
  readonly createdAt: string;
  /** The session ends then, whatever happens (refreshes do not extend it). */
  readonly expiresAt: string;
  /** External provider: when the access token the session rests on was issued, and expires. */
  readonly accessIssuedAt?: string;
  readonly accessExpiresAt?: string;
  /** External provider: the refresh token, never sent to the browser. */
  readonly refreshToken?: string;
  /** External provider: the ID token, the `id_token_hint` of the provider's sign-out. */
  readonly idToken?: string;
  /** Why the session ended, kept a few minutes so that every request of the page can say so. */
  readonly ended?: string;
  /** A replica is renewing the access token until then (claimRenewal); the others wait or go on. */
  readonly renewingUntil?: string;
}

export interface SessionStore {
  create(record: SessionRecord): Promise<string>;
  /** The live record of a session id, or undefined (unknown, signed out or expired). */
  get(id: string): Promise<SessionRecord | undefined>;
  replace(id: string, record: SessionRecord): Promise<void>;
  /**
   * Takes the renewal of a session until `until` (ISO) when its refresh token is still
   * `refreshToken` and no replica holds it (or its hold has passed): a compare-and-set on the
   * record, so that one replica at a time spends a (rotating) refresh token. Whether it took it.
   */
  claimRenewal(id: string, refreshToken: string, until: string): Promise<boolean>;
  /**
   * Replaces the record (dropping the renewal's hold) only while its refresh token is still
   * `refreshToken`: a renewal another replica stored, a sign-out or a revocation is never
   * overwritten. Whether it replaced it.
   */
  replaceIfUnrenewed(id: string, refreshToken: string, record: SessionRecord): Promise<boolean>;
  delete(id: string): Promise<void>;
  /** Deletes every session of a subject (an operator's revocation); how many there were. */
  revokeSubject(sub: string): Promise<number>;
  /**
   * Deletes every session whose caller is `principal` (the customer id a customer's sessions rest
   * on, which may differ from the token's `sub`) and that holds none of the roles `unless` (staff:
   * erasing a customer ends the customer's sessions, not those of a member of staff who happens to
   * share the id). How many were live.
   */
  revokePrincipal(principal: string, unless: readonly string[]): Promise<number>;
}

/** The shape of an id `newSessionId` makes (256 random bits, base64url). */
export const SESSION_ID = /^[A-Za-z0-9_-]{43}$/;

/** What a store keeps a session under: the id's SHA-256, so that reading the store yields no usable cookie. */
export const sessionKeyOf = (id: string) => createHash("sha256").update(id).digest("base64url");
export const newSessionId = (): string => randomBytes(32).toString("base64url");

/** Sessions in this process's memory: tests, and a lone process without a document store. */
export class MemorySessionStore implements SessionStore {
  private readonly records = new Map<string, SessionRecord>();
  constructor(private readonly now: () => number = Date.now) {}
  async create(record: SessionRecord): Promise<string> {
    const id = newSessionId();
    this.records.set(id, record);
    return id;
  }
  async get(id: string): Promise<SessionRecord | undefined> {
    return this.live(id);
  }
  private live(id: string): SessionRecord | undefined {
    const record = this.records.get(id);
    if (record && Date.parse(record.expiresAt) <= this.now()) {
      this.records.delete(id);
      return undefined;
    }
    return record;
  }
  async replace(id: string, record: SessionRecord): Promise<void> {
    this.records.set(id, record);
  }
  // Read and written in one turn of the loop (no await between): a compare-and-set.
  async claimRenewal(id: string, refreshToken: string, until: string): Promise<boolean> {
    const record = this.live(id);
    if (!record || record.refreshToken !== refreshToken) return false;
    if (record.renewingUntil !== undefined && Date.parse(record.renewingUntil) > this.now()) return false;
    this.records.set(id, { ...record, renewingUntil: until });
    return true;
  }
  async replaceIfUnrenewed(id: string, refreshToken: string, record: SessionRecord): Promise<boolean> {
    const current = this.live(id);
    if (!current || current.refreshToken !== refreshToken) return false;
    const { renewingUntil: _r, ...kept } = record;
    this.records.set(id, kept);
    return true;
  }
  async delete(id: string): Promise<void> {
    this.records.delete(id);
  }
  async revokeSubject(sub: string): Promise<number> {
    return this.revokeWhere((record) => record.sub === sub);
  }
  async revokePrincipal(principal: string, unless: readonly string[]): Promise<number> {
    return this.revokeWhere(
      (record) => record.principal === principal && !record.roles.some((role) => unless.includes(role)),
    );
  }
  private revokeWhere(ends: (record: SessionRecord) => boolean): number {
    let revoked = 0;
    for (const [id, record] of this.records) {
      if (!ends(record)) continue;
      this.records.delete(id);
      if (Date.parse(record.expiresAt) > this.now()) revoked++;
    }
    return revoked;
  }
}
