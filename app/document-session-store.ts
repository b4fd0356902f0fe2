import { type DocumentStore, WriteConditionFailedError, type WriteOp } from "../document-store/port.js";
import {
  newSessionId,
  SESSION_ID,
  type SessionRecord,
  type SessionStore,
  sessionKeyOf,
} from "../platform/auth/session-store.js";

/**
 * The browser sessions of `platform/auth` kept in the document store, so that every replica sharing
 * the store knows every session. The composition root supplies it: platform knows no store.
 */
const COLLECTION = "sessions";

/** Every field a session record may have (those a replacement lacks are unset). */
const RECORD_FIELDS: readonly (keyof SessionRecord)[] = [
  "sub",
  "principal",
  "roles",
  "grants",
  "createdAt",
  "expiresAt",
  "accessIssuedAt",
  "accessExpiresAt",
  "refreshToken",
  "idToken",
  "ended",
  "renewingUntil",
];

/** Sessions in the document store (opened on first use where the role has none of its own). */
export class DocumentSessionStore implements SessionStore {
  constructor(
    private readonly store: () => Promise<DocumentStore>,
    private readonly now: () => number = Date.now,
  ) {}

  private indexed: Promise<void> | undefined;

  async create(record: SessionRecord): Promise<string> {
    const id = newSessionId();
    await this.replace(id, record);
    await this.sweep();
    return id;
  }

  /** Deletes some expired records (abandoned sessions are never met again): a bounded batch per sign-in. */
  async sweep(limit = 100): Promise<void> {
    const store = await this.store();
    await this.ensureIndexes(store);
    const expired = await store.find(
      COLLECTION,
      { expiresAt: { $lt: new Date(this.now()).toISOString() } },
      { limit },
    );
    if (expired.length === 0) return;
    await store.write(
      expired.map((doc) => ({ op: "delete" as const, collection: COLLECTION, id: String(doc._id) })),
    );
  }

  private ensureIndexes(store: DocumentStore): Promise<void> {
    this.indexed ??= store.ensureIndexes(COLLECTION, [
      { name: "expiresAt", keys: { expiresAt: 1 } },
      { name: "sub", keys: { sub: 1 } },
      { name: "principal", keys: { principal: 1 } },
    ]);
    return this.indexed;
  }

  async revokeSubject(sub: string): Promise<number> {
    return this.revokeWhere({ sub });
  }

  async revokePrincipal(principal: string, unless: readonly string[]): Promise<number> {
    return this.revokeWhere({ principal, roles: { $nin: [...unless] } });
  }

  /** Deletes the sessions of a subject or of a caller (each field indexed); how many were live. */
  private async revokeWhere(filter: Record<string, unknown>): Promise<number> {
    const store = await this.store();
    await this.ensureIndexes(store);
    const sessions = await store.find(COLLECTION, filter);
    if (sessions.length === 0) return 0;
    await store.write(
      sessions.map((doc) => ({ op: "delete" as const, collection: COLLECTION, id: String(doc._id) })),
    );
    const now = this.now();
    return sessions.filter((doc) => Date.parse(String(doc.expiresAt)) > now).length;
  }

  async get(id: string): Promise<SessionRecord | undefined> {
    if (!SESSION_ID.test(id)) return undefined;
    const store = await this.store();
    const document = await store.findById(COLLECTION, sessionKeyOf(id));
    if (!document) return undefined;
    const { _id, ...rest } = document;
    const record = rest as unknown as SessionRecord;
    if (Date.parse(record.expiresAt) <= this.now()) {
      await store.write([{ op: "delete", collection: COLLECTION, id: sessionKeyOf(id) }]);
      return undefined;
    }
    return record;
  }

  async replace(id: string, record: SessionRecord): Promise<void> {
    const store = await this.store();
    await store.write([
      { op: "replace", collection: COLLECTION, id: sessionKeyOf(id), document: { ...record } },
    ]);
  }

  async claimRenewal(id: string, refreshToken: string, until: string): Promise<boolean> {
    if (!SESSION_ID.test(id)) return false;
    const now = new Date(this.now()).toISOString();
    return this.writeIf({
      op: "update",
      collection: COLLECTION,
      id: sessionKeyOf(id),
      update: { $set: { renewingUntil: until } },
      if: {
        refreshToken,
        expiresAt: { $gt: now },
        $or: [{ renewingUntil: { $exists: false } }, { renewingUntil: { $lte: now } }],
      },
    });
  }

  async replaceIfUnrenewed(id: string, refreshToken: string, record: SessionRecord): Promise<boolean> {
    if (!SESSION_ID.test(id)) return false;
    const { renewingUntil: _r, ...kept } = record;
    const absent = RECORD_FIELDS.filter((field) => !(field in kept));
    return this.writeIf({
      op: "update",
      collection: COLLECTION,
      id: sessionKeyOf(id),
      update: {
        $set: { ...kept },
        ...(absent.length ? { $unset: Object.fromEntries(absent.map((f) => [f, ""])) } : {}),
      },
      if: { refreshToken },
    });
  }

  /** One conditional write: whether its condition held (and so it was written). */
  private async writeIf(op: WriteOp): Promise<boolean> {
    try {
      await (await this.store()).write([op]);
      return true;
    } catch (error) {
      if (error instanceof WriteConditionFailedError) return false;
      throw error;
    }
  }

  async delete(id: string): Promise<void> {
    if (!SESSION_ID.test(id)) return;
    await (await this.store()).write([{ op: "delete", collection: COLLECTION, id: sessionKeyOf(id) }]);
  }
}
