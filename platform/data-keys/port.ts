import { createHmac, type KeyObject, randomBytes } from "node:crypto";
import { secretKey } from "../secret-key.js";
import type { StorageFailure } from "../storage-failure.js";

/**
 * Data keys for crypto-shredding: one AES-256 key per subject (a person), kept apart from what is
 * sealed under it, so that deleting a subject's keys makes everything sealed under them unreadable
 * for good, wherever copies of the ciphertext went (the log, snapshots, replays).
 *
 * Synchronous on purpose: the event codec seals and opens fields as it encodes and decodes, and
 * those are synchronous. A KMS sits behind the same port by envelope encryption: the store keeps
 * each data key wrapped by a KMS master key (never the key itself), unwraps it on first use and
 * keeps the plaintext key in memory; erasing deletes the wrapped key (and forgets the cached one).
 * Subjects are kept under a keyed pseudonym, never by name.
 */
export interface DataKey {
  /** Names the key in what is sealed under it (random: it says nothing about its subject). */
  readonly id: string;
  /** The AES-256 key, as Node's crypto takes it fastest (see `secretKey`). */
  readonly key: KeyObject;
}

export interface DataKeys {
  /**
   * The subject's current key, created on first use; undefined once the subject was erased: an
   * erased subject stays erased (nothing is sealed for them again, so a stale copy of their data,
   * such as a lot's state cached before the erasure, cannot be written back readable).
   */
  keyFor(subject: string): DataKey | undefined;
  /**
   * The subject's current key if it has one, never making one (a read, no write): undefined for a
   * subject without a key or erased. For a lookup that seals nothing (the lot's per-customer limit,
   * `holderOf`): a key made there would outlive a refused request with nothing sealed under it, a
   * subject who never booked for an erasure, a backup or a count of keys to find.
   */
  existingKeyFor(subject: string): DataKey | undefined;
  /** The key named `id`; undefined once its subject was erased (or if it never existed). */
  key(id: string): KeyObject | undefined;
  /**
   * The keys of these ids that exist (those of erased or unknown ids left out), read at once: a
   * cold lot's opening names 20,000 customers' keys, one statement instead of one each (issue 68).
   * Optional: a store that keeps its keys in memory answers `key` as cheaply.
   */
  keysOf?(ids: readonly string[]): ReadonlyMap<string, KeyObject>;
  /**
   * Deletes every key of `subject` and remembers the subject as erased; returns how many keys it
   * deleted (once durable: a promise from a store over the network).
   */
  erase(subject: string): number | Promise<number>;
  /**
   * Whether `subject` was erased: one indexed read of the tombstones the store shares with every
   * process, so an erasure made by any of them is seen by the next call. Read on every request of a
   * customer (app/erased-customers.ts): an adapter over a remote store (a KMS) keeps it as cheap
   * (erased stays erased, so a yes may be cached for good; a no only briefly).
   */
  isErased(subject: string): boolean;
  /**
   * Undefined when what this process knows of erasures may be trusted now; else a promise that
   * resolves once it may (an adapter whose erasures reach other processes late: PostgreSQL's).
   */
  confirmed?(): Promise<void> | undefined;
  /** A stable name of `subject` that does not reveal it (a keyed HMAC): what an erasure fact records. */
  pseudonym(subject: string): string;
  close(): void;
}

/** A key's id and its bytes, drawn from the CSPRNG many keys at a time (issue 50: two draws per new customer cost more than their key's SQL). */
const KEY_DRAW = 16 + 32;
const KEYS_PER_DRAW = 256;
let keyPool = Buffer.alloc(0);
let keyAt = 0;

/** Random bytes for a new key and its id, each handed out once and wiped from the pool as it is. */
export function newDataKey(): { readonly id: string; readonly key: Buffer } {
  if (keyAt + KEY_DRAW > keyPool.length) {
    keyPool = randomBytes(KEY_DRAW * KEYS_PER_DRAW);
    keyAt = 0;
  }
  const id = keyPool.toString("base64url", keyAt, keyAt + 16);
  const key = Buffer.alloc(32); // its own memory, not a view of the pool (or of Node's shared one)
  keyPool.copy(key, 0, keyAt + 16, keyAt + KEY_DRAW);
  keyPool.fill(0, keyAt, keyAt + KEY_DRAW);
  keyAt += KEY_DRAW;
  return { id, key };
}

export function pseudonymOf(secret: KeyObject, subject: string): string {
  return createHmac("sha256", secret).update(subject, "utf8").digest("base64url");
}

/** Keys kept in memory only (tests, and processes that must not persist them). */
export class MemoryDataKeys implements DataKeys {
  private readonly keys = new Map<string, { subject: string; key: KeyObject }>();
  private readonly current = new Map<string, DataKey>();
  private readonly erased = new Set<string>();
  private readonly secret = secretKey(randomBytes(32));

  keyFor(subject: string): DataKey | undefined {
    const name = this.pseudonym(subject);
    if (this.erased.has(name)) return undefined;
    const found = this.current.get(name);
    if (found) return found;
    const made = newDataKey();
    const created: DataKey = { id: made.id, key: secretKey(made.key) };
    this.keys.set(created.id, { subject: name, key: created.key });
    this.current.set(name, created);
    return created;
  }

  existingKeyFor(subject: string): DataKey | undefined {
    return this.current.get(this.pseudonym(subject));
  }

  key(id: string): KeyObject | undefined {
    return this.keys.get(id)?.key;
  }

  erase(subject: string): number {
    const name = this.pseudonym(subject);
    let erased = 0;
    for (const [id, entry] of this.keys) {
      if (entry.subject !== name) continue;
      this.keys.delete(id);
      erased++;
    }
    this.current.delete(name);
    this.erased.add(name);
    return erased;
  }

  isErased(subject: string): boolean {
    return this.erased.has(this.pseudonym(subject));
  }

  pseudonym(subject: string): string {
    return pseudonymOf(this.secret, subject);
  }

  close(): void {}
}

/** The disk under the key store is full or read-only: no key was made or deleted; retry once it has room. */
export class DataKeysStorageError extends Error {
  override name = "DataKeysStorageError";
  constructor(
    message: string,
    readonly storage: StorageFailure,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
