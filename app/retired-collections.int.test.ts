import { afterEach, describe, expect, it } from "vitest";
import { SqliteDocumentStore } from "../document-store/embedded/sqlite-document-store.js";
import { createLogger } from "../platform/logger.js";
import { dropRetiredCollections, RETIRED_COLLECTIONS } from "./upgrades.js";

/**
 * Issue 68: the lot snapshots, the archive of ended reservations and the read side's lot facts
 * (every generation) an older version wrote (they hold customer ids and plates) are dropped at start; nothing else is touched, and a second start
 * finds nothing to drop.
 */
describe("the retired collections of lot state", () => {
  const stores: SqliteDocumentStore[] = [];
  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close();
  });

  it("are dropped by name on start, and nothing else", async () => {
    const documents = SqliteDocumentStore.open({ file: ":memory:" });
    stores.push(documents);
    const put = (collection: string, id: string) =>
      ({ op: "replace", collection, id, document: { _id: id, customerId: "CUST1" } }) as const;
    await documents.write([
      put("lot_snapshots", "L1"),
      put("lot_snapshot_parts", "L1/0/0"),
      put("ended_reservations", "L1/R1"),
      put("lot_facts_g1", "r:L1:R1"),
      put("lot_facts_g2", "r:L1:R1"),
      put("reservations", "R2"),
    ]);
    const logger = createLogger("silent");
    await dropRetiredCollections(documents, logger);
    const left = await documents.listCollections();
    for (const name of [...RETIRED_COLLECTIONS, "lot_facts_g1", "lot_facts_g2"])
      expect(left).not.toContain(name);
    expect(left).toContain("reservations");
    expect(await documents.findById("reservations", "R2")).toMatchObject({ _id: "R2" });
    await dropRetiredCollections(documents, logger);
    expect(await documents.listCollections()).toEqual(left);
  });
});
