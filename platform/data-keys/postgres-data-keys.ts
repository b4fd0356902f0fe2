import { type KeyObject, randomBytes } from "node:crypto";
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
];

/** The channel on which every process hears of new keys and erasures (payloads: `Change`). */
const CHANNEL = "data_keys";
type Change = { readonly k: readonly [id: string, subject: string, key: string] } | { readonly e: string };

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
 * applied here at once and on every other replica as it hears it (milliseconds after the commit;
 * docs/operations.md says so). A listener that drops reloads everything on reconnecting.
 */
export class PostgresDataKeys implements DataKeys {
  private readonly byId = new Map<string, { readonly subject: string; readonly key: KeyObject }>();
  private readonly current = new Map<string, DataKey>();
  private readonly erased = new Set<string>();
  private pending: { id: string; subject: string; key: KeyObject }[] = [];
  private inFlight: Promise<void> = Promise.resolve();
  private listener: pg.Client | undefined;
  private closed = false;

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
      const keys = new PostgresDataKeys(pool, secretKey((rows[0] as { value: Buffer }).value));
      await keys.listen();
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
    const erased = await this.pool.query<{ subject: string }>("SELECT subject FROM erased_subjects");
    for (const { subject } of erased.rows) this.apply({ e: subject });
    const keys = await this.pool.query<{ id: string; subject: string; key: Buffer }>(
      "SELECT id, subject, key FROM data_keys ORDER BY n",
    );
    for (const row of keys.rows) this.remember(row.id, row.subject, secretKey(row.key));
  }

  private apply(change: Change): void {
    if ("e" in change) {
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

  async erase(subject: string): Promise<number> {
    const name = this.pseudonym(subject);
    await this.commitNewKeys().catch(() => undefined);
    const erased = await this.transaction(async (client) => {
      await client.query(SUBJECT_LOCK, [name]);
      await client.query("INSERT INTO erased_subjects (subject) VALUES ($1) ON CONFLICT DO NOTHING", [name]);
      const deleted = await client.query("DELETE FROM data_keys WHERE subject = $1", [name]);
      await client.query("SELECT pg_notify($1, $2)", [CHANNEL, JSON.stringify({ e: name } satisfies Change)]);
      return deleted.rowCount ?? 0;
    });
    this.apply({ e: name });
    return erased;
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
    const listener = this.listener;
    this.listener = undefined;
    void this.inFlight.then(async () => {
      await listener?.end().catch(() => undefined);
      await this.pool.end().catch(() => undefined);
    });
  }
}
