import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type BetterSqlite3 from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Database } from "../../platform/sqlite.js";
import { documentStoreContract, RESERVATION_INDEXES } from "../../test-support/document-store-contract.js";
import { DocumentStoreError, DocumentStoreStorageError, DocumentStoreUnavailableError } from "../port.js";
import { SqliteDocumentStore } from "./sqlite-document-store.js";

const FIXTURE = fileURLToPath(
  new URL("../../test-support/fixtures/sqlite-document-writer.ts", import.meta.url),
);
const PROJECT_ROOT = fileURLToPath(new URL("../..", import.meta.url));

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "docstore-"));
}

documentStoreContract(
  "embedded (SQLite)",
  async () => {
    const dir = tempDir();
    const store = SqliteDocumentStore.open({ file: join(dir, "read-models.sqlite") });
    return {
      store,
      dispose: async () => {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
  { refusesUnbounded: true },
);

function startFixture(file: string, ...args: string[]): ChildProcess {
  return spawn(process.execPath, ["--import", "tsx", FIXTURE, file, ...args], {
    cwd: PROJECT_ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolve({ code: child.exitCode, signal: child.signalCode });
      return;
    }
    child.once("exit", (code, signal) => resolve({ code, signal }));
  });
}

/** Resolves once the child has printed `count` lines starting with `prefix`. */
function linesSeen(child: ChildProcess, prefix: string, count: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = 0;
    let buffer = "";
    let stderr = "";
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.stdout?.on("data", (chunk: Buffer) => {
      buffer += chunk.toString();
      const lines = buffer.split("\n");
      buffer = lines.pop() ?? "";
      for (const line of lines) if (line.startsWith(prefix) && ++seen === count) resolve();
    });
    child.once("exit", (code) => {
      if (seen < count) reject(new Error(`fixture exited (${String(code)}) after ${seen} lines: ${stderr}`));
    });
  });
}

describe("SqliteDocumentStore", () => {
  let dir: string;
  let file: string;
  const children: ChildProcess[] = [];

  beforeEach(() => {
    dir = tempDir();
    file = join(dir, "nested", "dir", "read-models.sqlite");
  });

  afterEach(async () => {
    for (const child of children.splice(0)) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGKILL");
        await exited(child);
      }
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it("creates the parent directory and keeps data and index specs across a reopen", async () => {
    const first = SqliteDocumentStore.open({ file });
    expect(existsSync(file)).toBe(true);
    await first.ensureIndexes("reservations", RESERVATION_INDEXES);
    await first.write([
      {
        op: "replace",
        collection: "reservations",
        id: "r1",
        document: { parkingLotId: "L1", status: "RESERVED", seq: 1 },
      },
      { op: "update", collection: "lots", id: "L1", update: { $inc: { active: 1 } }, upsert: true },
    ]);
    await first.close();

    const second = SqliteDocumentStore.open({ file });
    try {
      expect(await second.findById("lots", "L1")).toEqual({ _id: "L1", active: 1 });
      expect(await second.listCollections()).toEqual(["lots", "reservations"]);
      const plan = await second.explain(
        "reservations",
        { parkingLotId: "L1" },
        { sort: { seq: -1 }, limit: 50 },
      );
      expect(plan.indexed, plan.detail).toBe(true);
      await second.ensureIndexes("reservations", RESERVATION_INDEXES);
      await expect(
        second.ensureIndexes("reservations", [{ name: "parkingLotId_1_seq_-1", keys: { parkingLotId: 1 } }]),
      ).rejects.toBeInstanceOf(DocumentStoreError);
    } finally {
      await second.close();
    }
  });

  it("answers only the query operators it supports: no scripts ($where), no $expr, no $regex", async () => {
    const store = SqliteDocumentStore.open({ file });
    try {
      await store.write([{ op: "replace", collection: "lots", id: "L1", document: { capacity: 5 } }]);
      for (const filter of [
        { $where: "this.capacity > 1" },
        { $expr: { $gt: ["$capacity", 1] } },
        { name: { $regex: "^a" } },
        { $or: [{ capacity: { $function: { body: "return true", args: [], lang: "js" } } }] },
      ]) {
        await expect(store.find("lots", filter), JSON.stringify(filter)).rejects.toBeInstanceOf(
          DocumentStoreError,
        );
      }
      expect(await store.count("lots", { capacity: { $gte: 5 }, $or: [{ name: { $exists: false } }] })).toBe(
        1,
      );
    } finally {
      await store.close();
    }
  });

  it("refuses arrays and embedded documents at indexed paths instead of answering wrongly", async () => {
    const store = SqliteDocumentStore.open({ file });
    try {
      await store.ensureIndexes("r", [
        { name: "tags_1", keys: { tags: 1 } },
        { name: "a_b_1", keys: { "a.b": 1 } },
      ]);
      await expect(
        store.write([{ op: "replace", collection: "r", id: "x", document: { tags: ["a", "b"] } }]),
      ).rejects.toThrow(/indexed/);
      await expect(
        store.write([{ op: "replace", collection: "r", id: "x", document: { a: [{ b: 1 }] } }]),
      ).rejects.toThrow(/indexed/);
      await store.write([
        { op: "replace", collection: "r", id: "y", document: { list: [1, 2], a: "scalar" } },
      ]);
      await expect(store.ensureIndexes("r", [{ name: "list_1", keys: { list: 1 } }])).rejects.toThrow(
        /array/,
      );
      expect(await store.findById("r", "x")).toBeNull();
    } finally {
      await store.close();
    }
  });

  it("keeps indexed fields in columns, filled from the documents, also when added to a populated collection", async () => {
    const store = SqliteDocumentStore.open({ file });
    try {
      await store.write([
        {
          op: "replace",
          collection: "r",
          id: "a",
          document: { lot: "L1", n: 1, flag: true, sub: { k: "x" } },
        },
        { op: "replace", collection: "r", id: "b", document: { lot: "L2", tags: ["t"], sub: "scalar" } },
      ]);
      await expect(store.prepareIndexes("r", [{ name: "tags_1", keys: { tags: 1 } }])).rejects.toThrow(
        /array/,
      );
      await store.prepareIndexes("r", [{ name: "lot_1_n_1", keys: { lot: 1, n: 1 } }]);
      await store.ensureIndexes("r", [
        { name: "lot_1_n_1", keys: { lot: 1, n: 1 } },
        { name: "flag_1_sub.k_1", keys: { flag: 1, "sub.k": 1 } },
      ]);
      await store.write([
        { op: "update", collection: "r", id: "b", update: { $set: { n: 2, flag: false } } },
        {
          op: "update",
          collection: "r",
          id: "c",
          update: { $set: { lot: "L1", "sub.k": "y" } },
          upsert: true,
        },
        { op: "update", collection: "r", id: "a", update: { $set: { other: 1 } } },
      ]);
      const db = new Database(file, { readonly: true });
      try {
        const rows = db
          .prepare('SELECT id, "f:lot", "f:n", "f:flag", "f:sub.k" FROM c_r ORDER BY id')
          .raw()
          .all();
        expect(rows).toEqual([
          ["a", "L1", 1, Buffer.from([1]), "x"],
          ["b", "L2", 2, Buffer.from([0]), null],
          ["c", "L1", null, null, "y"],
        ]);
        const indexSql = db
          .prepare("SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'c_r' ORDER BY name")
          .pluck()
          .all();
        expect(indexSql.join("\n")).not.toMatch(/json/);
      } finally {
        db.close();
      }
      const plan = await store.explain("r", { flag: false }, { sort: { "sub.k": 1 } });
      expect(plan.indexed, plan.detail).toBe(true);
      expect((await store.find("r", { lot: "L1" }, { sort: { n: 1 } })).map((d) => d._id)).toEqual([
        "c",
        "a",
      ]);
    } finally {
      await store.close();
    }
  });

  it("a collection indexed by an older version (expression indexes, no columns) keeps and extends that layout", async () => {
    const legacyFile = join(dir, "legacy.sqlite");
    const db = new Database(legacyFile);
    const expression = (path: string) =>
      `(CASE json_type(doc,'$.${path}') WHEN 'true' THEN x'01' WHEN 'false' THEN x'00' ELSE json_extract(doc,'$.${path}') END)`;
    try {
      db.exec(`CREATE TABLE _docstore_indexes (collection TEXT NOT NULL, name TEXT NOT NULL, keys TEXT NOT NULL,
                 is_unique INTEGER NOT NULL, PRIMARY KEY (collection, name));
               CREATE TABLE c_r (id TEXT PRIMARY KEY, doc TEXT NOT NULL);
               CREATE INDEX ix_r__6c6f745f31 ON c_r (${expression("lot")});
               INSERT INTO _docstore_indexes VALUES ('r', 'lot_1', '{"lot":1}', 0);
               INSERT INTO c_r VALUES ('a', '{"_id":"a","lot":"L1","n":1}');`);
      const insert = db.prepare("INSERT INTO c_r VALUES (?, ?)");
      for (let i = 0; i < 50; i++) insert.run(`z${i}`, JSON.stringify({ _id: `z${i}`, lot: `Z${i}` }));
    } finally {
      db.close();
    }
    const store = SqliteDocumentStore.open({ file: legacyFile });
    try {
      await store.prepareIndexes("r", [{ name: "n_1", keys: { n: 1 } }]);
      await store.write([
        { op: "update", collection: "r", id: "a", update: { $set: { lot: "L2" } } },
        { op: "replace", collection: "r", id: "b", document: { lot: "L1", n: 0 } },
      ]);
      await store.ensureIndexes("r", [{ name: "n_1", keys: { n: 1 } }]);
      expect((await store.find("r", { lot: "L2" })).map((d) => d._id)).toEqual(["a"]);
      expect((await store.find("r", { n: { $gte: 0 } }, { sort: { n: 1 } })).map((d) => d._id)).toEqual([
        "b",
        "a",
      ]);
      for (const [filter, sort] of [
        [{ lot: "L1" }, undefined],
        [{ n: { $gt: 0 } }, { n: 1 as const }],
      ] as const) {
        const plan = await store.explain("r", filter, sort === undefined ? {} : { sort });
        expect(plan.indexed, plan.detail).toBe(true);
      }
    } finally {
      await store.close();
    }
    const check = new Database(legacyFile, { readonly: true });
    try {
      const columns = check.prepare("SELECT name FROM pragma_table_info('c_r')").pluck().all();
      expect(columns).toEqual(["id", "doc"]);
    } finally {
      check.close();
    }
  });

  it("moves unique values between documents within one batch", async () => {
    const store = SqliteDocumentStore.open({ file });
    try {
      await store.ensureIndexes("u", [{ name: "slot_1", keys: { slot: 1 }, unique: true }]);
      await store.write([
        { op: "replace", collection: "u", id: "a", document: { slot: 1 } },
        { op: "replace", collection: "u", id: "b", document: { slot: 2 } },
      ]);
      // Written once per document, a and b would collide on the final states; applied in order they do not.
      await store.write([
        { op: "update", collection: "u", id: "a", update: { $set: { slot: 3 } } },
        { op: "update", collection: "u", id: "b", update: { $set: { slot: 1 } } },
        { op: "update", collection: "u", id: "a", update: { $set: { slot: 2 } } },
      ]);
      expect(await store.find("u", {}, { sort: { slot: 1 } })).toEqual([
        { _id: "b", slot: 1 },
        { _id: "a", slot: 2 },
      ]);
    } finally {
      await store.close();
    }
  });

  it("keeps a write batch's temporary files in memory, and on disk what touches a whole collection", async () => {
    // temp_store as SQLite sees it when each statement runs: 1 on disk, 2 in memory.
    const seen: { sql: string; tempStore: unknown }[] = [];
    const exec = Database.prototype.exec;
    const spy = vi.spyOn(Database.prototype, "exec").mockImplementation(function (
      this: BetterSqlite3.Database,
      sql: string,
    ) {
      seen.push({ sql, tempStore: this.pragma("temp_store", { simple: true }) });
      return exec.call(this, sql);
    });
    const store = SqliteDocumentStore.open({ file });
    const tempStore = () =>
      (store as unknown as { db: BetterSqlite3.Database }).db.pragma("temp_store", { simple: true });
    try {
      expect(tempStore()).toBe(2);
      await store.write([{ op: "replace", collection: "r", id: "a", document: { lot: "L1", n: 1 } }]);
      await store.prepareIndexes("r", [{ name: "lot_1", keys: { lot: 1 } }]);
      await store.ensureIndexes("r", [{ name: "n_1", keys: { n: 1 } }]);
      await store.dropCollection("r");
      const whole = seen.filter(({ sql }) => /^(UPDATE|CREATE INDEX|DROP TABLE)/.test(sql));
      expect(whole.map(({ sql }) => sql.split(" ").slice(0, 2).join(" "))).toEqual([
        'UPDATE "c_r"', // prepareIndexes: the lot column filled from every document
        'UPDATE "c_r"', // ensureIndexes: the n column, then its index built
        "CREATE INDEX", // sorting the collection
        "DROP TABLE", // every page freed (and zeroed: secure_delete)
      ]);
      for (const statement of whole) expect(statement).toMatchObject({ tempStore: 1 });
      // Back in memory for the write batches after them.
      expect(tempStore()).toBe(2);
    } finally {
      spy.mockRestore();
      await store.close();
    }
  });

  it("picks the index of the rarer value when equalities lead two indexes", async () => {
    const store = SqliteDocumentStore.open({ file });
    try {
      await store.ensureIndexes("reservations", RESERVATION_INDEXES);
      const ops = Array.from({ length: 3000 }, (_, i) => ({
        op: "replace" as const,
        collection: "reservations",
        id: `r${i}`,
        // L0 is a huge lot, the others are small; CANCELED is rare, RESERVED common.
        document: {
          parkingLotId: i < 2800 ? "L0" : `L${i % 50}`,
          status: i % 100 === 0 ? "CANCELED" : "RESERVED",
          seq: i,
        },
      }));
      await store.write(ops);
      const page = { sort: { seq: -1 as const }, limit: 50 };
      const lotIndex = /INDEX ix_reservations__7061726b696e674c6f7449645f315f7365715f2d31 /; // parkingLotId_1_seq_-1
      const statusIndex = /INDEX ix_reservations__7374617475735f315f7365715f2d31 /; // status_1_seq_-1
      expect(
        (await store.explain("reservations", { parkingLotId: "L7", status: "RESERVED" }, page)).detail,
      ).toMatch(lotIndex);
      expect(
        (await store.explain("reservations", { parkingLotId: "L0", status: "CANCELED" }, page)).detail,
      ).toMatch(statusIndex);
      const found = await store.find("reservations", { parkingLotId: "L0", status: "CANCELED" }, page);
      expect(found.map((d) => d._id)).toEqual(
        ops
          .filter((o) => o.document.parkingLotId === "L0" && o.document.status === "CANCELED")
          .sort((a, b) => b.document.seq - a.document.seq)
          .slice(0, 50)
          .map((o) => o.id),
      );
      expect(await store.count("reservations", { parkingLotId: "L0", status: "CANCELED" })).toBe(
        ops.filter((o) => o.document.parkingLotId === "L0" && o.document.status === "CANCELED").length,
      );
    } finally {
      await store.close();
    }
  });

  it("a closed store refuses calls", async () => {
    const store = SqliteDocumentStore.open({ file });
    await store.close();
    await store.close();
    await expect(store.find("x", {})).rejects.toBeInstanceOf(DocumentStoreError);
  });

  it("sees what another process writes to the same file, including its new collections and indexes", async () => {
    const reader = SqliteDocumentStore.open({ file });
    try {
      expect(await reader.find("reservations", {})).toEqual([]);
      const child = startFixture(file, "seed", "300");
      children.push(child);
      await linesSeen(child, "seeded", 1);
      expect((await exited(child)).code).toBe(0);
      expect(await reader.count("reservations", {})).toBe(300);
      const page = await reader.find(
        "reservations",
        { parkingLotId: "L1", seq: { $lt: 100 } },
        { sort: { seq: -1 }, limit: 3 },
      );
      expect(page.map((d) => d._id)).toEqual(["r99", "r97", "r95"]);
      expect(page[0]).toEqual({ _id: "r99", parkingLotId: "L1", seq: 99, carNumber: "10더8612" });
      const plan = await reader.explain(
        "reservations",
        { parkingLotId: "L1" },
        { sort: { seq: -1 }, limit: 50 },
      );
      expect(plan.indexed, plan.detail).toBe(true);
    } finally {
      await reader.close();
    }
  });

  it("kill -9 in the middle of write batches leaves every batch all or nothing", async () => {
    const reader = SqliteDocumentStore.open({ file });
    try {
      let lastBatches = 0;
      for (let round = 0; round < 3; round++) {
        const child = startFixture(file, "batches");
        children.push(child);
        await linesSeen(child, "committed", 2);
        await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 40)));
        child.kill("SIGKILL");
        expect((await exited(child)).signal).toBe("SIGKILL");

        const counter = await reader.findById<{ _id: string; batches: number; touches: number }>(
          "counters",
          "items",
        );
        expect(counter).not.toBeNull();
        const batches = counter!.batches;
        expect(batches).toBeGreaterThanOrEqual(lastBatches + 2);
        expect(counter!.touches).toBe(batches * 10);
        expect(await reader.count("items", {})).toBe(batches * 1000);
        expect(await reader.count("items", { batch: batches })).toBe(0);
        lastBatches = batches;
      }
      const db = new Database(file, { readonly: true });
      try {
        expect(db.pragma("integrity_check", { simple: true })).toBe("ok");
      } finally {
        db.close();
      }
    } finally {
      await reader.close();
    }
  });
});

describe("a full disk under the embedded document store", () => {
  it("refuses a write batch whole with a storage error (an outage to retry), and writes again once there is room", async () => {
    const dir = tempDir();
    const store = SqliteDocumentStore.open({ file: join(dir, "read-models.sqlite") });
    try {
      await store.write([{ op: "replace", collection: "things", id: "a", document: { n: 1 } }]);
      // SQLite's own cap on the file's pages: it answers SQLITE_FULL as a full disk does.
      const db = (store as unknown as { db: BetterSqlite3.Database }).db;
      db.pragma(`max_page_count = ${db.pragma("page_count", { simple: true }) as number}`);
      const batch = Array.from({ length: 20 }, (_, i) => ({
        op: "replace" as const,
        collection: "things",
        id: `b${i}`,
        document: { pad: "x".repeat(8000) },
      }));
      const refused = await store.write(batch).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(DocumentStoreStorageError);
      expect(refused).toBeInstanceOf(DocumentStoreUnavailableError);
      expect((refused as DocumentStoreStorageError).storage).toBe("full");
      expect((await store.find("things", {})).map((d) => d._id)).toEqual(["a"]);
      db.pragma("max_page_count = 1073741823");
      await store.write(batch);
      expect(await store.find("things", {})).toHaveLength(21);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
