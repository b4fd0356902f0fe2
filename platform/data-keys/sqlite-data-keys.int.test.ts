import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { afterAll, describe, expect, it, vi } from "vitest";
import { PROJECT_ROOT } from "../../test-support/process.js";
import { tempDataDir } from "../../test-support/service.js";
import { Database } from "../sqlite.js";
import { SqliteDataKeys } from "./sqlite-data-keys.js";

/**
 * The key store's durability: a new key committed as the log commits (synced, or at checkpoints),
 * an erasure always synced before it returns, and a key made at checkpoints kept across a crash of
 * the process that made it (a real process, killed with SIGKILL right after the commit).
 */
describe("the embedded key store's durability", () => {
  const data = tempDataDir("parking-data-keys-");
  afterAll(() => data.remove());
  const file = (name: string) => join(data.dir, name, "data-keys.sqlite");

  /** The PRAGMA statements a store sends while `work` runs. */
  function pragmasDuring(work: () => void): string[] {
    const pragma = vi.spyOn(Database.prototype, "pragma");
    try {
      work();
      return pragma.mock.calls.map(([statement]) => statement);
    } finally {
      pragma.mockRestore();
    }
  }

  it("commits a new key in the store's mode, and an erasure synced whatever the mode", () => {
    for (const sync of ["normal", "full"] as const) {
      let keys: SqliteDataKeys | undefined;
      const opening = pragmasDuring(() => {
        keys = SqliteDataKeys.open(file(sync), { sync });
      });
      expect(opening).toContain(`synchronous = ${sync.toUpperCase()}`);
      const store = keys as SqliteDataKeys;
      const made = pragmasDuring(() => expect(store.keyFor("cust-1")).toBeDefined());
      expect(
        made.filter((p) => p.startsWith("synchronous")),
        "a new key changes no mode",
      ).toEqual([]);
      const erasing = pragmasDuring(() => expect(store.erase("cust-1")).toBe(1));
      const modes = erasing.filter((p) => p.startsWith("synchronous"));
      // In normal mode the erasure's commit alone is synced, and the store goes back to its mode.
      expect(modes).toEqual(sync === "normal" ? ["synchronous = FULL", "synchronous = NORMAL"] : []);
      expect(store.keyFor("cust-1"), "erased stays erased").toBeUndefined();
      store.close();
    }
  });

  it("tells every handle on the file that a subject was erased, at the next call (no cache)", () => {
    const path = file("tombstones");
    const erasing = SqliteDataKeys.open(path);
    const other = SqliteDataKeys.open(path);
    try {
      expect(other.keyFor("cust-t")).toBeDefined();
      expect(other.isErased("cust-t")).toBe(false);
      erasing.erase("cust-t");
      expect(other.isErased("cust-t")).toBe(true);
      expect(other.isErased("cust-u")).toBe(false);
    } finally {
      erasing.close();
      other.close();
    }
  });

  it("keeps a key made at checkpoints across a crash of the process that made it", () => {
    const path = file("crash");
    const script = `
      import { SqliteDataKeys } from ${JSON.stringify(join(PROJECT_ROOT, "platform/data-keys/sqlite-data-keys.ts"))};
      const keys = SqliteDataKeys.open(${JSON.stringify(path)}, { sync: "normal" });
      const key = keys.keyFor("cust-crash");
      process.stdout.write(JSON.stringify({ id: key.id, key: key.key.export().toString("base64") }), () =>
        process.kill(process.pid, "SIGKILL"));
    `;
    const child = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      cwd: PROJECT_ROOT,
      encoding: "utf8",
    });
    expect(child.signal, child.stderr).toBe("SIGKILL");
    const made = JSON.parse(child.stdout) as { id: string; key: string };
    const keys = SqliteDataKeys.open(path, { sync: "normal" });
    try {
      expect(keys.key(made.id)?.export().toString("base64")).toBe(made.key);
      expect(keys.keyFor("cust-crash")?.id).toBe(made.id);
    } finally {
      keys.close();
    }
  });
});

/**
 * A subject's key as the store reads it in one statement (issue 50): its keys and its tombstone
 * together, the newest key picked from the rows rather than by an ORDER BY.
 */
describe("the embedded key store's lookup of a subject", () => {
  const data = tempDataDir("parking-data-keys-lookup-");
  afterAll(() => data.remove());
  const file = (name: string) => join(data.dir, name, "data-keys.sqlite");

  it("gives a subject one key, the same from every handle, and none once erased, making none", () => {
    const path = file("one");
    const a = SqliteDataKeys.open(path);
    const b = SqliteDataKeys.open(path);
    try {
      const made = a.keyFor("cust-a");
      expect(made).toBeDefined();
      expect(a.keyFor("cust-a")?.id).toBe(made?.id);
      const seen = b.keyFor("cust-a");
      expect(seen?.id).toBe(made?.id);
      expect(seen?.key.equals(made?.key as NonNullable<typeof made>["key"])).toBe(true);
      expect(b.key(made?.id as string)?.equals(made?.key as NonNullable<typeof made>["key"])).toBe(true);
      expect(a.erase("cust-a")).toBe(1);
      expect(b.keyFor("cust-a")).toBeUndefined();
      expect(a.keyFor("cust-a")).toBeUndefined();
      expect(b.key(made?.id as string)).toBeUndefined();
    } finally {
      a.close();
      b.close();
    }
    const db = new Database(path);
    try {
      expect(db.prepare("SELECT count(*) FROM data_keys").pluck().get()).toBe(0);
    } finally {
      db.close();
    }
  });

  it("reads many keys at once (keysOf): each the key `key` gives, erased and unknown ids left out", () => {
    const keys = SqliteDataKeys.open(file("many"));
    try {
      const made = ["c1", "c2", "c3"].map(
        (subject) => keys.keyFor(subject) as NonNullable<ReturnType<typeof keys.keyFor>>,
      );
      keys.erase("c2");
      const found = keys.keysOf([...made.map((k) => k.id), "no-such-key"]);
      expect([...found.keys()].sort()).toEqual([made[0]?.id, made[2]?.id].sort());
      for (const k of [made[0], made[2]])
        expect(found.get(k?.id as string)?.equals(k?.key as never)).toBe(true);
    } finally {
      keys.close();
    }
  });

  it("picks the newest of several keys of a subject (rows written by hand: the store itself makes one)", () => {
    const path = file("several");
    const store = SqliteDataKeys.open(path);
    const first = store.keyFor("cust-s");
    const name = store.pseudonym("cust-s");
    store.close();
    const db = new Database(path);
    try {
      const insert = db.prepare("INSERT INTO data_keys (id, subject, key) VALUES (?, ?, ?)");
      insert.run("newer-key", name, Buffer.alloc(32, 7));
      insert.run("other-subject", store.pseudonym("cust-t"), Buffer.alloc(32, 9));
    } finally {
      db.close();
    }
    const again = SqliteDataKeys.open(path);
    try {
      const newest = again.keyFor("cust-s");
      expect(first?.id).not.toBe("newer-key");
      expect(newest?.id).toBe("newer-key");
      expect(newest?.key.export().equals(Buffer.alloc(32, 7))).toBe(true);
      expect(again.keyFor("cust-t")?.id).toBe("other-subject");
    } finally {
      again.close();
    }
  });
});
