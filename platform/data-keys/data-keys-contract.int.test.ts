import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type PostgresCluster, startPostgres } from "../../test-support/postgres/cluster.js";
import { tempDataDir } from "../../test-support/service.js";
import type { DataKeys } from "./port.js";
import { PostgresDataKeys, TRUST_MS } from "./postgres-data-keys.js";
import { SqliteDataKeys } from "./sqlite-data-keys.js";

/** A store as the service uses it: the keys it made committed before the log commits what is sealed under them. */
type Store = DataKeys & { commitNewKeys(): void | Promise<void> };

interface Adapter {
  /** A new handle on the shared keys (another process, a replica with an empty DATA_DIR). */
  open(): Promise<Store>;
}

/**
 * The data keys' contract, the same for the embedded store (handles on one file) and for PostgreSQL
 * (handles on one database, as replicas are): what one handle made or erased, every other sees
 * (PostgreSQL: as its LISTEN hears it, awaited with waitFor), and a handle opened later too.
 */
function contract(name: string, adapter: () => Adapter) {
  describe(`data keys: ${name}`, () => {
    const opened: Store[] = [];
    const open = async () => {
      const store = await adapter().open();
      opened.push(store);
      return store;
    };
    afterAll(() => {
      for (const store of opened) store.close();
    });

    it("gives a subject one key, found by its id from every handle, and one pseudonym everywhere", async () => {
      const [a, b] = [await open(), await open()];
      const made = a.keyFor("cust-1");
      expect(made).toBeDefined();
      expect(a.keyFor("cust-1")?.id).toBe(made?.id);
      await a.commitNewKeys();
      await vi.waitFor(() => expect(b.key(made?.id ?? "")).toBeDefined());
      expect(b.keyFor("cust-1")?.id, "the other handle seals under the same key").toBe(made?.id);
      expect(b.pseudonym("cust-1")).toBe(a.pseudonym("cust-1"));
      expect(a.pseudonym("cust-1")).not.toContain("cust-1");
      const later = await open();
      expect(
        later
          .key(made?.id ?? "")
          ?.export()
          .equals(made?.key.export() as Buffer),
      ).toBe(true);
    });

    it("looks a subject's key up without making one: none for a new subject, the key once made, none once erased", async () => {
      const [a, b] = [await open(), await open()];
      expect(a.existingKeyFor("cust-look")).toBeUndefined();
      await a.commitNewKeys();
      const later = await open();
      expect(later.existingKeyFor("cust-look"), "the lookup made no key").toBeUndefined();
      const made = a.keyFor("cust-look");
      expect(a.existingKeyFor("cust-look")?.id).toBe(made?.id);
      await a.commitNewKeys();
      await vi.waitFor(() => expect(b.existingKeyFor("cust-look")?.id).toBe(made?.id));
      await b.erase("cust-look");
      await vi.waitFor(() => expect(a.existingKeyFor("cust-look")).toBeUndefined());
      expect(b.existingKeyFor("cust-look")).toBeUndefined();
    });

    it("erases a subject for every handle and for good: no key, tombstoned, none made again", async () => {
      const [a, b] = [await open(), await open()];
      const made = a.keyFor("cust-2");
      await a.commitNewKeys();
      await vi.waitFor(() => expect(b.key(made?.id ?? "")).toBeDefined());
      expect(await b.erase("cust-2")).toBe(1);
      expect(b.isErased("cust-2")).toBe(true);
      await vi.waitFor(() => expect(a.isErased("cust-2")).toBe(true));
      expect(a.key(made?.id ?? "")).toBeUndefined();
      expect(a.keyFor("cust-2"), "erased stays erased").toBeUndefined();
      expect(b.keyFor("cust-2")).toBeUndefined();
      const later = await open();
      expect(later.isErased("cust-2")).toBe(true);
      expect(later.key(made?.id ?? "")).toBeUndefined();
      expect(later.isErased("cust-3")).toBe(false);
    });
  });
}

const data = tempDataDir("parking-data-keys-contract-");
afterAll(() => data.remove());
contract("embedded (SQLite)", () => ({
  open: async () => SqliteDataKeys.open(join(data.dir, "keys", "data-keys.sqlite")),
}));

let cluster: PostgresCluster | undefined;
let url = "";
beforeAll(async () => {
  cluster = await startPostgres();
  url = await cluster.createDatabase("keys");
}, 60_000);
afterAll(async () => {
  await cluster?.stop();
});
contract("PostgreSQL", () => ({ open: () => PostgresDataKeys.open(url) }));

describe("data keys on PostgreSQL", () => {
  /** Runs `body` while the backend of the LISTEN connection of the reader named `app` is stopped (SIGSTOP). */
  async function deaf<R>(app: string, body: () => Promise<R>): Promise<R> {
    const db = new pg.Client({ connectionString: url });
    await db.connect();
    try {
      const { rows } = await db.query<{ pid: number }>(
        "SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND query LIKE 'LISTEN%'",
        [app],
      );
      const pid = rows[0]?.pid as number;
      expect(pid).toBeGreaterThan(0);
      process.kill(pid, "SIGSTOP");
      try {
        return await body();
      } finally {
        process.kill(pid, "SIGCONT");
      }
    } finally {
      await db.end();
    }
  }

  it("answers an erasure only once every other reader has applied it, even one that hears no notification", async () => {
    const named = (app: string) => `${url}?application_name=${app}`;
    const [a, b] = [
      await PostgresDataKeys.open(named("keys-a")),
      await PostgresDataKeys.open(named("keys-b")),
    ];
    try {
      const made = a.keyFor("cust-late");
      await a.commitNewKeys();
      await vi.waitFor(() => expect(b.key(made?.id ?? "")).toBeDefined());
      // b's listener hears nothing while its backend is stopped; b itself runs on.
      await deaf("keys-b", async () => {
        expect(await a.erase("cust-late")).toBe(1);
        // Before: b learnt of the erasure only by its notification, so it still opened the
        // customer's values (and let their token through) after the erasure was answered.
        expect(b.key(made?.id ?? ""), "b opens nothing sealed under the erased key").toBeUndefined();
        expect(b.isErased("cust-late")).toBe(true);
      });
    } finally {
      a.close();
      b.close();
    }
  });

  it("waits for a reader that neither applies the erasure nor confirms only until that reader trusts nothing", async () => {
    const a = await PostgresDataKeys.open(url);
    const db = new pg.Client({ connectionString: url });
    await db.connect();
    try {
      // A reader that confirmed just now and then stopped (its process stalled, or killed -9).
      await db.query("INSERT INTO data_key_readers VALUES ('stalled', 0, clock_timestamp())");
      await a.erase("cust-stalled");
      const { rows } = await db.query<{ trusted: boolean }>(
        `SELECT confirmed_at > clock_timestamp() - make_interval(secs => ${TRUST_MS} / 1000.0) AS trusted
           FROM data_key_readers WHERE id = 'stalled'`,
      );
      expect(rows[0]?.trusted, "answered once the stalled reader's trust ran out, not before").toBe(false);
    } finally {
      await db.query("DELETE FROM data_key_readers WHERE id = 'stalled'");
      await db.end();
      a.close();
    }
  });

  it("stores no key made for a subject erased meanwhile by another replica (what it sealed reads as erased)", async () => {
    const [a, b] = [await PostgresDataKeys.open(url), await PostgresDataKeys.open(url)];
    try {
      const made = a.keyFor("cust-race"); // made in memory, not yet committed
      // `a` commits its new keys at its next turn, which may come while `b` erases (usually after:
      // then the erasure finds no key and `a` must not store it; if before, the erasure removes it).
      // Either order must end the same: no key stored, the subject erased.
      expect(await b.erase("cust-race")).toBeLessThanOrEqual(1);
      await a.commitNewKeys();
      const db = new pg.Client({ connectionString: url });
      await db.connect();
      const { rows } = await db.query("SELECT id FROM data_keys WHERE id = $1", [made?.id]);
      await db.end();
      expect(rows).toEqual([]);
      const later = await PostgresDataKeys.open(url);
      expect(later.key(made?.id ?? "")).toBeUndefined();
      expect(later.isErased("cust-race")).toBe(true);
      later.close();
    } finally {
      a.close();
      b.close();
    }
  });
});
