import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { WriteConditionFailedError } from "../port.js";
import { SqliteDocumentStore } from "./sqlite-document-store.js";

/** A bulk load of the embedded store: written by its own thread, in order, its failures reported. */
describe("SqliteDocumentStore bulk load", () => {
  let dir: string;
  let store: SqliteDocumentStore;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "parking-bulk-"));
    store = SqliteDocumentStore.open({ file: join(dir, "read-models.sqlite") });
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("applies the batches in order, builds the indexes at the end, and this connection then reads them", async () => {
    const load = await store.openBulkLoad();
    await load.prepareIndexes("items_g2", [{ name: "by_n", keys: { n: 1 } }]);
    for (let b = 0; b < 20; b++) {
      await load.write(
        Array.from({ length: 50 }, (_, i) => ({
          op: "update" as const,
          collection: "items_g2",
          id: `i${i}`,
          upsert: true,
          update: { $inc: { n: 1 }, $set: { last: b } },
        })),
      );
    }
    await load.flush();
    await load.ensureIndexes("items_g2", [{ name: "by_n", keys: { n: 1 } }]);
    await load.close();
    expect(await store.count("items_g2", { n: 20, last: 19 })).toBe(50);
    expect((await store.explain("items_g2", { n: 20 })).indexed).toBe(true);
  });

  it("a refused batch is reported by flush, stores nothing of itself, and fails every later call", async () => {
    const load = await store.openBulkLoad();
    await load.write([
      { op: "update", collection: "items_g2", id: "a", upsert: true, update: { $set: { n: 1 } } },
    ]);
    await load.write([
      { op: "update", collection: "items_g2", id: "b", upsert: true, update: { $set: { n: 2 } } },
      { op: "update", collection: "items_g2", id: "a", update: { $set: { n: 3 } }, if: { n: 2 } },
    ]);
    await expect(load.flush()).rejects.toBeInstanceOf(WriteConditionFailedError);
    expect(load.failed()).toBeInstanceOf(WriteConditionFailedError);
    await expect(load.write([])).rejects.toBeInstanceOf(WriteConditionFailedError);
    await load.close();
    expect(await store.find("items_g2", {}, { sort: { _id: 1 } })).toEqual([{ _id: "a", n: 1 }]);
  });

  it("an in-memory file has no second connection: its load writes through the store", async () => {
    const memory = SqliteDocumentStore.open({ file: ":memory:" });
    const load = await memory.openBulkLoad();
    await load.write([{ op: "replace", collection: "items_g2", id: "a", document: { n: 1 } }]);
    await load.close();
    expect(await memory.findById("items_g2", "a")).toEqual({ _id: "a", n: 1 });
    await memory.close();
  });
});
