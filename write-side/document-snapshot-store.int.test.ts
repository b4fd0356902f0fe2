import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { SqliteDocumentStore } from "../document-store/embedded/sqlite-document-store.js";
import type { DocumentStore, WriteOp } from "../document-store/port.js";
import { tempDataDir } from "../test-support/service.js";
import { DocumentLotSnapshotStore, LOT_SNAPSHOT_PARTS, LOT_SNAPSHOTS } from "./document-snapshot-store.js";
import type { StoredLotSnapshot } from "./lot-snapshots.js";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function openDocs(): SqliteDocumentStore {
  const data = tempDataDir("lot-snapshot-store-");
  const docs = SqliteDocumentStore.open({ file: join(data.dir, "read-models.sqlite") });
  cleanups.push(data.remove, () => docs.close());
  return docs;
}

/** A snapshot of `revision` whose parts say which revision they belong to. */
const snapshot = (revision: number, parts = 3, lot = "A"): StoredLotSnapshot => ({
  parkingLotId: lot,
  revision,
  eventId: `event-${revision}`,
  version: 1,
  parts: Array.from({ length: parts }, (_, i) => ({ of: revision, part: i, text: "가\n나" })),
});

describe("DocumentLotSnapshotStore (embedded document store)", () => {
  it("stores and loads a snapshot with its parts in order; lots without one have none", async () => {
    const store = new DocumentLotSnapshotStore(openDocs());
    expect(await store.load("A")).toBeNull();
    expect(await store.save(snapshot(10))).toBe(true);
    expect(await store.load("A")).toEqual(snapshot(10));
    expect(await store.save(snapshot(5, 1, "B"))).toBe(true);
    expect(await store.revisions(["A", "B", "C"])).toEqual(
      new Map([
        ["A", 10],
        ["B", 5],
      ]),
    );
    expect(await store.revisions([])).toEqual(new Map());
  });

  it("replaces a snapshot only with a later one, writing the other slot; never leaves parts behind", async () => {
    const docs = openDocs();
    const store = new DocumentLotSnapshotStore(docs);
    await store.save(snapshot(10, 3));
    expect(await store.save(snapshot(10, 2))).toBe(false);
    expect(await store.save(snapshot(7, 2))).toBe(false);
    expect(await store.load("A")).toEqual(snapshot(10, 3));
    expect(await store.save(snapshot(20, 2))).toBe(true);
    expect(await store.load("A")).toEqual(snapshot(20, 2));
    expect(await store.save(snapshot(30, 4))).toBe(true);
    expect(await store.load("A")).toEqual(snapshot(30, 4));
    expect(await docs.findById(LOT_SNAPSHOTS, "A")).toMatchObject({ revision: 30, slot: 0, parts: 4 });
    // Two slots' worth at most, whatever the number of saves.
    for (let revision = 40; revision < 100; revision += 10) await store.save(snapshot(revision, 4));
    expect(await docs.count(LOT_SNAPSHOT_PARTS, {})).toBe(8);
  });

  it("reports no snapshot when a part does not belong to the current one (a save overwrote the slot meanwhile)", async () => {
    const docs = openDocs();
    const store = new DocumentLotSnapshotStore(docs);
    await store.save(snapshot(10, 3));
    await docs.write([
      {
        op: "replace",
        collection: LOT_SNAPSHOT_PARTS,
        id: "A:0:1",
        document: { revision: 11, version: 1, part: {} },
      },
    ]);
    expect(await store.load("A")).toBeNull();
    await docs.write([{ op: "delete", collection: LOT_SNAPSHOT_PARTS, id: "A:0:1" }]);
    expect(await store.load("A")).toBeNull();
  });

  it("of two concurrent saves from the same header, one switches the header and the other stores nothing", async () => {
    const docs = openDocs();
    await new DocumentLotSnapshotStore(docs).save(snapshot(10, 2));
    // A store whose first header write lets another save go first.
    let raced = false;
    const racing: DocumentStore = Object.create(docs) as DocumentStore;
    racing.write = async (ops: readonly WriteOp[]) => {
      if (!raced && ops.some((op) => op.collection === LOT_SNAPSHOTS)) {
        raced = true;
        expect(await new DocumentLotSnapshotStore(docs).save(snapshot(30, 2))).toBe(true);
      }
      return docs.write(ops);
    };
    expect(await new DocumentLotSnapshotStore(racing).save(snapshot(20, 2))).toBe(false);
    expect(await docs.findById(LOT_SNAPSHOTS, "A")).toMatchObject({ revision: 30 });
    // Both wrote the same slot, the winner last here; had the loser written last, the slot would
    // be torn, and load would report no snapshot (previous test) rather than a mix.
    expect(await new DocumentLotSnapshotStore(docs).load("A")).toEqual(snapshot(30, 2));
  });
});
