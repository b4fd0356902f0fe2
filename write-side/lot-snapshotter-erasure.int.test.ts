import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SqliteDocumentStore } from "../document-store/embedded/sqlite-document-store.js";
import { SqliteEventStore } from "../event-store/embedded/sqlite-event-store.js";
import { createLogger } from "../platform/logger.js";
import { tempDataDir } from "../test-support/service.js";
import {
  DocumentLotSnapshotStore,
  ENDED_RESERVATIONS,
  LOT_SNAPSHOT_PARTS,
  LOT_SNAPSHOTS,
} from "./document-snapshot-store.js";
import { lotSnapshotter } from "./lot-snapshotter.js";
import type { ReservationRecord } from "./parking-lot/state.js";

/**
 * Found by app/erasure-generated.e2e.test.ts: the snapshotter loads a lot with its customers' keys
 * and writes the snapshot's parts one write at a time; a customer erased meanwhile had the lot's
 * snapshots forgotten by the erasure before those parts landed, so a part in clear outlived the
 * erasure in the read models' file (its header's compare-and-set failed, the part stayed). The
 * snapshotter now forgets an erasure's lots itself, in the log's order, after its own saves.
 */
describe("the lot snapshotter and an erasure", () => {
  const CUSTOMER = "kim.erased+1@mail.example";

  it("forgets the erased customer's lots: snapshot headers, every part of both slots, and the archive", async () => {
    const data = tempDataDir("snapshotter-erasure-");
    const events = SqliteEventStore.open({ file: join(data.dir, "events.sqlite"), pollIntervalMs: 20 });
    const docs = SqliteDocumentStore.open({ file: ":memory:" });
    const snapshots = new DocumentLotSnapshotStore(docs);
    const part = { customerIds: `${CUSTOMER},${CUSTOMER}`, carNumbers: "caw-1004,caw-1004" };
    await snapshots.save({
      parkingLotId: "L1",
      revision: 10,
      eventId: "e10",
      version: 8,
      parts: [part, part],
    });
    // The parts an in-flight save wrote into the other slot after the erasure's own forget.
    await docs.write([
      {
        op: "replace",
        collection: LOT_SNAPSHOT_PARTS,
        id: "L1:1:0",
        document: { revision: 20, version: 8, part },
      },
      {
        op: "replace",
        collection: LOT_SNAPSHOT_PARTS,
        id: "L1:1:1",
        document: { revision: 20, version: 8, part },
      },
    ]);
    await snapshots.archive("L1", [
      ["R1", { customerId: CUSTOMER, carNumber: "caw-1004" } as unknown as ReservationRecord],
    ]);
    await snapshots.save({
      parkingLotId: "L2",
      revision: 3,
      eventId: "e3",
      version: 8,
      parts: [{ customerIds: "other" }],
    });

    const erasure = {
      streamId: "customer-abc",
      revision: 0,
      event: {
        type: "CustomerErased",
        data: {
          subject: "abc",
          reservationIds: ["R1"],
          parkingLotIds: ["L1"],
          erasedAt: "2026-11-28T10:00:00.000Z",
        },
      },
    };
    await lotSnapshotter({ every: 500 }).react([erasure], {
      eventStore: events,
      documentStore: docs,
      logger: createLogger("silent"),
    });

    const left = [
      ...(await docs.find(LOT_SNAPSHOTS, {})),
      ...(await docs.find(LOT_SNAPSHOT_PARTS, {})),
      ...(await docs.find(ENDED_RESERVATIONS, {})),
    ];
    expect(JSON.stringify(left)).not.toContain(CUSTOMER);
    expect(await snapshots.load("L1")).toBeNull();
    // Another lot's snapshot stays.
    expect(await snapshots.load("L2")).toMatchObject({ revision: 3 });
    await docs.close();
    await events.close();
    data.remove();
  });
});
