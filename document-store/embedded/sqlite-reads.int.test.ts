import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { SqliteDocumentStore } from "./sqlite-document-store.js";

/** Every mingo Query the store builds, counted (the class itself is mingo's). */
const compiled = vi.hoisted(() => ({ queries: 0 }));
vi.mock("mingo", async (importOriginal) => {
  const mingo = await importOriginal<typeof import("mingo")>();
  class CountedQuery extends mingo.Query {
    constructor(...args: ConstructorParameters<typeof mingo.Query>) {
      super(...args);
      compiled.queries++;
    }
  }
  return { ...mingo, Query: CountedQuery };
});

describe("embedded document store: a filter the SQL answers exactly is not compiled by mingo (issue 50)", () => {
  let dir: string;
  let store: SqliteDocumentStore;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "docstore-reads-"));
    store = SqliteDocumentStore.open({ file: join(dir, "read-models.sqlite") });
    await store.ensureIndexes("facts", [{ name: "by_lot_at", keys: { parkingLotId: 1, at: 1 } }]);
    await store.write(
      [1, 2, 3].flatMap((at) =>
        ["A", "B"].map((lot) => ({
          op: "update" as const,
          collection: "facts",
          id: `${lot}-${at}`,
          upsert: true,
          update: { $set: { parkingLotId: lot, at, note: at % 2 === 0 ? "even" : "odd" } },
        })),
      ),
    );
    compiled.queries = 0;
  });

  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("answers an indexed equality and range from SQL alone, as the read side's refresh of a lot asks", async () => {
    const docs = await store.find("facts", { parkingLotId: "A", at: { $gt: 1 } }, { sort: { at: 1 } });
    expect(docs.map((d) => d._id)).toEqual(["A-2", "A-3"]);
    expect(await store.count("facts", { parkingLotId: "B", at: { $gte: 2 } })).toBe(2);
    expect(compiled.queries).toBe(0);
  });

  it("still tests the rows with mingo when the SQL selects a superset (an unindexed field)", async () => {
    const docs = await store.find("facts", { parkingLotId: "A", note: "even" });
    expect(docs.map((d) => d._id)).toEqual(["A-2"]);
    expect(await store.count("facts", { parkingLotId: "B", note: "odd" })).toBe(2);
    expect(compiled.queries).toBe(2);
  });
});
