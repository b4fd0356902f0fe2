import { type KeyObject, randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import { poolConfig } from "../postgres/hosts.js";
import { type MigrationStep, migrate } from "../postgres/migrations.js";
import { inTransaction } from "../postgres/transaction.js";
import { secretKey } from "../secret-key.js";
import { type DataKey, type DataKeys, type DataKeysStorageError, newDataKey, pseudonymOf } from "./port.js";

const MIGRATIONS: readonly MigrationStep[] = [
  {
    version: 1,
    sql: `CREATE TABLE IF NOT EXISTS data_key_secrets (name text PRIMARY KEY, value bytea NOT NULL);
          CREATE TABLE IF NOT EXISTS data_keys (
            id text PRIMARY KEY, subject text NOT NULL, key bytea NOT NULL, n bigserial NOT NULL);
          CREATE INDEX IF NOT EXISTS data_keys_by_subject ON data_keys (subject);
          CREATE TABLE IF NOT EXISTS erased_subjects (subject text PRIMARY KEY);`,
  },
  {
    // A batch of new keys in one round trip (it was BEGIN, then the lock, the insert and the
    // NOTIFY per key, then COMMIT): each key under its subject's lock, then inserted unless the
    // subject is erased (each statement of a volatile function sees what committed before it, so
    // an erasure that held the lock is seen), and notified.
    version: 2,
    sql: `CREATE OR REPLACE FUNCTION data_keys_insert(ids text[], subjects text[], keys bytea[])
          RETURNS integer LANGUAGE plpgsql VOLATILE AS $$
          DECLARE stored integer := 0;
          BEGIN
            FOR i IN 1 .. coalesce(array_length(ids, 1), 0) LOOP
              PERFORM pg_advisory_xact_lock(hashtextextended(subjects[i], 7000070002));
              INSERT INTO data_keys (id, subject, key) SELECT ids[i], subjects[i], keys[i]
                WHERE NOT EXISTS (SELECT 1 FROM erased_subjects WHERE subject = subjects[i]);
              IF FOUND THEN
                stored := stored + 1;
                PERFORM pg_notify('data_keys', json_build_object(
                  'k', json_build_array(ids[i], subjects[i], encode(keys[i], 'base64')))::text);
              END IF;
            END LOOP;
            RETURN stored;
          END $$;`,
  },
  {
    // Erasures numbered in commit order (each erasing transaction holds ERASURE_LOCK), and the
    // readers (every open PostgresDataKeys) with the last erasure each has applied: what an
    // erasure waits for before it is answered (`erase`, `confirmOnce`).
    version: 3,
    sql: `ALTER TABLE erased_subjects ADD COLUMN IF NOT EXISTS n bigserial;
          CREATE INDEX IF NOT EXISTS erased_subjects_by_n ON erased_subjects (n);
          CREATE TABLE IF NOT EXISTS data_key_readers (
            id text PRIMARY KEY, heard bigint NOT NULL, confirmed_at timestamptz NOT NULL);`,
  },
];

/**
 * How long a reader trusts what it knows of erasures after asking the database (from the moment it
 * asked), and how often it asks while it runs. A reader that has not confirmed within TRUST_MS is
 * no longer waited for: it is not trusted either (`confirmed`).
 */
export const TRUST_MS = 1_000;
const CONFIRM_EVERY_MS = 250;

/** One erasure at a time, so that their numbers are in commit order and a reader skips none. */
const ERASURE_LOCK = "SELECT pg_advisory_xact_lock(7000070003)";

/**
 * A reader's confirmation, one statement: it records the last erasure it applied (`heard`), and
 * reads the erasures committed after it (those it may not have heard of yet).
 */
const CONFIRM = `WITH me AS (
    INSERT INTO data_key_readers (id, heard, confirmed_at) VALUES ($1, $2, clock_timestamp())
    ON CONFLICT (id) DO UPDATE SET heard = excluded.heard, confirmed_at = excluded.confirmed_at)
  SELECT n::text AS n, subject FROM erased_subjects WHERE n > $2 ORDER BY n`;

/** The other readers that have not applied erasure $2 and may still trust what they knew before it. */
const UNACKNOWLEDGED = `SELECT count(*)::int AS n FROM data_key_readers WHERE id <> $1 AND heard < $2
    AND confirmed_at > clock_timestamp() - make_interval(secs => $3::float8 / 1000)`;

/** The channel on which every process hears of new keys and erasures (payloads: `Change`). */
const CHANNEL = "data_keys";
type Change =
  | { readonly k: readonly [id: string, subject: string, key: string] }
  | { readonly e: string; readonly n?: number };

/** A subject's keys and erasure serialized in the database (a key is never inserted for an erased subject). */
const SUBJECT_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended($1, 7000070002))";

/**
 * The data keys in PostgreSQL (DATABASE_URL), so that a replica needs nothing on its disk: every key
 * and tombstone is read into memory at start (the port is synchronous: the event codec seals and
 * opens as it encodes), and kept current by LISTEN/NOTIFY: each new key and each erasure is
 * notified by the transaction that writes it, with the key in the payload, so a replica applies it
 * as it hears it, without a query. (A key in the payload is no more exposed than in the table: both
 * need the database's credentials.)
 *
 * A new key is made in memory and committed by `commitNewKeys`, which the log awaits before it
 * commits the events sealed under it (app/postgres-stores.ts), and at the turn's end at the latest.
 * A key is inserted only if its subject was not erased meanwhile (both under the subject's advisory
 * lock): an event sealed under a refused key then reads as erased, as it should. An erasure deletes
 * the keys and writes the tombstone in one transaction, durable before `erase` resolves, and is
 * applied here at once and on every other replica as it hears it. A listener that drops reloads
 * everything on reconnecting.
 *
 * An erasure is answered only once no other reader can still open the subject's values: each
 * reader confirms what it knows with the database every CONFIRM_EVERY_MS and at once after it
 * applied an erasure (recording the last one it applied), and trusts what it knows for TRUST_MS
 * from the moment it asked; `erase` waits until every other reader has applied the erasure or
 * has not confirmed for TRUST_MS (so trusts nothing any more). The service asks `confirmed()`
 * before each authenticated request (app/erased-customers.ts), which costs nothing while trusted.
 */
export class PostgresDataKeys implements DataKeys {
  private readonly byId = new Map<string, { readonly subject: string; readonly key: KeyObject }>();
  private readonly current = new Map<string, DataKey>();
  private readonly erased = new Set<string>();
  private pending: { id: string; subject: string; key: KeyObject }[] = [];
  private inFlight: Promise<void> = Promise.resolve();
  private listener: pg.Client | undefined;
  private closed = false;
  /** This reader's row in data_key_readers. */
  private readonly reader = randomBytes(12).toString("base64url");
  /** The last erasure applied (its number), and the last this reader told the database of. */
  private heard = 0;
  private reported = -1;
  /** Until when (performance.now()) what this reader knows of erasures is trusted. */
  private trustedUntil = 0;
  private confirming: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly pool: pg.Pool,
    private readonly secret: KeyObject,
  ) {}

  static async open(url: string): Promise<PostgresDataKeys> {
    const pool = new pg.Pool(poolConfig(url, { max: 4, connectionTimeoutMillis: 5000 }));
    pool.on("error", () => undefined); // an idle connection lost: the next query reconnects
    try {
      await migrate(pool, "data-keys", MIGRATIONS);
      await pool.query(
        "INSERT INTO data_key_secrets (name, value) VALUES ('pseudonym-secret', $1) ON CONFLICT DO NOTHING",
        [randomBytes(32)],
      );
      const { rows } = await pool.query<{ value: Buffer }>(
        "SELECT value FROM data_key_secrets WHERE name = 'pseudonym-secret'",
      );
      // Readers gone for an hour (a process killed): their rows only.
      await pool.query(
        "DELETE FROM data_key_readers WHERE confirmed_at < clock_timestamp() - interval '1 hour'",
      );
      const keys = new PostgresDataKeys(pool, secretKey((rows[0] as { value: Buffer }).value));
      await keys.listen();
      await keys.confirm();
      keys.timer = setInterval(() => keys.confirm().catch(() => undefined), CONFIRM_EVERY_MS).unref();
      return keys;
    } catch (error) {
      await pool.end();
      throw error;
    }
  }

  /** LISTEN first, then load: nothing committed between the two is missed. */
  private async listen(): Promise<void> {
    // The pool's configuration: a multi-host URL's host choice too (platform/postgres/hosts.ts).
    const Client = (this.pool.options.Client ?? pg.Client) as typeof pg.Client;
    const client = new Client(this.pool.options);
    client.on("notification", (message) => {
      if (message.channel === CHANNEL && message.payload) this.apply(JSON.parse(message.payload) as Change);
    });
    client.on("error", () => this.relisten(client));
    client.on("end", () => this.relisten(client));
    await client.connect();
    await client.query(`LISTEN ${CHANNEL}`);
    this.listener = client;
    await this.load();
  }

  private relisten(client: pg.Client): void {
    if (this.closed || this.listener !== client) return;
    this.listener = undefined;
    const again = (): void => {
      if (!this.closed) this.listen().catch(() => setTimeout(again, 500).unref());
    };
    setTimeout(again, 100).unref();
  }

  private async load(): Promise<void> {
    const erased = await this.pool.query<{ subject: string; n: string }>(
      "SELECT subject, n::text AS n FROM erased_subjects",
    );
    for (const { subject, n } of erased.rows) this.apply({ e: subject, n: Number(n) });
    const keys = await this.pool.query<{ id: string; subject: string; key: Buffer }>(
      "SELECT id, subject, key FROM data_keys ORDER BY n",
    );
    for (const row of keys.rows) this.remember(row.id, row.subject, secretKey(row.key));
  }

  private apply(change: Change): void {
    if ("e" in change) {
      if (change.n !== undefined && change.n > this.heard) {
        this.heard = change.n;
        // Told at once (not at the next tick), so that the erasure's answer waits no longer.
        if (this.confirming === undefined && !this.closed) this.confirm().catch(() => undefined);
      }
      this.erased.add(change.e);
      this.current.delete(change.e);
      for (const [id, entry] of this.byId) if (entry.subject === change.e) this.byId.delete(id);
    } else {
      const [id, subject, key] = change.k;
      if (!this.byId.has(id)) this.remember(id, subject, secretKey(Buffer.from(key, "base64")));
    }
  }

  private remember(id: string, subject: string, key: KeyObject): void {
    if (this.erased.has(subject)) return;
    this.byId.set(id, { subject, key });
    this.current.set(subject, { id, key });
  }

  keyFor(subject: string): DataKey | undefined {
    const name = this.pseudonym(subject);
    if (this.erased.has(name)) return undefined;
    const found = this.current.get(name);
    if (found) return found;
    const made = newDataKey();
    if (this.pending.length === 0) setImmediate(() => this.commitNewKeys().catch(() => undefined));
    const key = secretKey(made.key); // wipes made.key: the KeyObject holds the only copy
    this.pending.push({ id: made.id, subject: name, key });
    this.remember(made.id, name, key);
    return this.current.get(name);
  }

  /** From memory, as `keyFor` finds one: an erased subject's key is gone from `current`. */
  existingKeyFor(subject: string): DataKey | undefined {
    return this.current.get(this.pseudonym(subject));
  }

  /** Commits the keys made since the last call (and waits for those already on their way). */
  commitNewKeys(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    const previous = this.inFlight;
    const done = previous.then(() => (batch.length === 0 ? undefined : this.insert(batch)));
    // Not committed: the keys wait for the next call (and no event sealed under them commits before).
    this.inFlight = done.catch(() => {
      this.pending.unshift(...batch);
    });
    return done;
  }

  /** One statement (data_keys_insert), its subjects in one order so that two batches never deadlock. */
  private async insert(batch: readonly { id: string; subject: string; key: KeyObject }[]): Promise<void> {
    const sorted = [...batch].sort((a, b) => (a.subject < b.subject ? -1 : a.subject > b.subject ? 1 : 0));
    await this.pool.query("SELECT data_keys_insert($1::text[], $2::text[], $3::bytea[])", [
      sorted.map((k) => k.id),
      sorted.map((k) => k.subject),
      sorted.map((k) => k.key.export()),
    ]);
  }

  key(id: string): KeyObject | undefined {
    return this.byId.get(id)?.key;
  }

  /**
   * Erases, then waits (TRUST_MS and a few round trips at most) until every other reader has
   * applied the erasure or trusts nothing it knew before it: once this resolves, no reader opens
   * the subject's values.
   */
  async erase(subject: string): Promise<number> {
    const name = this.pseudonym(subject);
    await this.commitNewKeys().catch(() => undefined);
    const { deleted, n } = await this.transaction(async (client) => {
      await client.query(ERASURE_LOCK);
      await client.query(SUBJECT_LOCK, [name]);
      const { rows } = await client.query<{ n: string }>(
        `INSERT INTO erased_subjects (subject) VALUES ($1)
         ON CONFLICT (subject) DO UPDATE SET subject = excluded.subject RETURNING n::text AS n`,
        [name],
      );
      const n = Number(rows[0]?.n);
      const gone = await client.query("DELETE FROM data_keys WHERE subject = $1", [name]);
      await client.query("SELECT pg_notify($1, $2)", [
        CHANNEL,
        JSON.stringify({ e: name, n } satisfies Change),
      ]);
      return { deleted: gone.rowCount ?? 0, n };
    });
    this.apply({ e: name, n });
    // Bounded by the readers' trust (the database's clock); the deadline only guards against a
    // clock that jumps, so that no erasure waits for ever.
    const deadline = performance.now() + 3 * TRUST_MS;
    for (let pause = 1; performance.now() < deadline; pause = Math.min(2 * pause, 50)) {
      const { rows } = await this.pool.query<{ n: number }>(UNACKNOWLEDGED, [this.reader, n, TRUST_MS]);
      if ((rows[0]?.n ?? 0) === 0) break;
      await sleep(pause);
    }
    return deleted;
  }

  /**
   * Undefined while what this reader knows of erasures is trusted (confirmed within TRUST_MS);
   * else a confirmation, after which it is (a database that cannot be reached rejects it).
   */
  confirmed(): Promise<void> | undefined {
    if (performance.now() < this.trustedUntil) return undefined;
    return this.confirm().then(() => this.confirmed());
  }

  /** One confirmation at a time; callers meanwhile share it. */
  private confirm(): Promise<void> {
    this.confirming ??= this.confirmOnce().finally(() => {
      this.confirming = undefined;
      if (this.heard > this.reported && !this.closed) this.confirm().catch(() => undefined);
    });
    return this.confirming;
  }

  private async confirmOnce(): Promise<void> {
    const asked = performance.now();
    const heard = this.heard;
    const { rows } = await this.pool.query<{ n: string; subject: string }>(CONFIRM, [this.reader, heard]);
    this.reported = Math.max(this.reported, heard);
    for (const row of rows) this.apply({ e: row.subject, n: Number(row.n) });
    this.trustedUntil = Math.max(this.trustedUntil, asked + TRUST_MS);
  }

  /** Every key is committed durably, as the database commits (the embedded store's "full"). */
  readonly sync = "full";

  /**
   * Told of writes to the disk under DATA_DIR, which these keys are not on: a database that refuses
   * them fails the append or the erasure that needed them (answered as the stores' failures are).
   */
  onWrite(_listener: (failure?: DataKeysStorageError) => void): void {}

  isErased(subject: string): boolean {
    return this.erased.has(this.pseudonym(subject));
  }

  pseudonym(subject: string): string {
    return pseudonymOf(this.secret, subject);
  }

  private transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return inTransaction(this.pool, work);
  }

  close(): void {
    this.closed = true;
    clearInterval(this.timer);
    this.trustedUntil = 0;
    const listener = this.listener;
    this.listener = undefined;
    void this.inFlight.then(async () => {
      await listener?.end().catch(() => undefined);
      // No longer a reader: erasures stop waiting for it.
      await this.pool
        .query("DELETE FROM data_key_readers WHERE id = $1", [this.reader])
        .catch(() => undefined);
      await this.pool.end().catch(() => undefined);
    });
  }
}
