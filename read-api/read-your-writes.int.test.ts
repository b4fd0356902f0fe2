import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SqliteDocumentStore } from "../document-store/embedded/sqlite-document-store.js";
import { SqliteEventStore } from "../event-store/embedded/sqlite-event-store.js";
import { tempDataDir } from "../test-support/service.js";
import {
  PositionBeyondHeadError,
  PositionNotReachedError,
  TooManyWaitingError,
} from "./views/read-context.js";
import { readViews } from "./views/views.js";

/**
 * Read-your-writes waits are bounded three ways, with real stores and no projector running (so
 * nothing ever catches up): a position beyond the log's head is refused before any wait, a wait
 * ends at its timeout, and past the most waits at once a query is refused instead of queued.
 */
describe("read-your-writes bounds", () => {
  const data = tempDataDir("parking-ryw-");
  const events = SqliteEventStore.open({ file: join(data.dir, "events.sqlite") });
  const documents = SqliteDocumentStore.open({ file: join(data.dir, "read-models.sqlite") });
  const { lots, reservations } = readViews(documents, {
    eventStore: events,
    readYourWritesTimeoutMs: 400,
    readYourWritesMaxWaiting: 2,
  });
  let head = 0;

  beforeAll(async () => {
    const appended = await events.appendToStream(
      "parking-lot-1",
      [{ type: "ParkingLotRegistered", data: {}, metadata: {} }],
      { expectedRevision: "no_stream" },
    );
    head = appended.position.commit;
  });
  afterAll(async () => {
    await events.close();
    await documents.close();
    data.remove();
  });

  it("refuses a position beyond the head at once", async () => {
    const beyond = lots.parkingLot("1", { commit: head + 1000, prepare: 0 });
    await expect(beyond).rejects.toBeInstanceOf(PositionBeyondHeadError);
  });

  it("waits at most the timeout for a position in the log that the view has not reached", async () => {
    await expect(lots.parkingLot("1", { commit: head, prepare: 0 })).rejects.toBeInstanceOf(
      PositionNotReachedError,
    );
  });

  it("refuses a third waiting query while two already wait, and takes new ones once they end", async () => {
    const wanted = { commit: head, prepare: 0 };
    // Expectations attached at once: on a slow machine both may time out before they are awaited.
    const first = expect(lots.parkingLot("1", wanted)).rejects.toBeInstanceOf(PositionNotReachedError);
    const second = expect(reservations.reservation("r-1", wanted)).rejects.toBeInstanceOf(
      PositionNotReachedError,
    );
    await new Promise((r) => setTimeout(r, 50));
    await expect(lots.parkingLots({ limit: 1, minPosition: wanted })).rejects.toBeInstanceOf(
      TooManyWaitingError,
    );
    await first;
    await second;
    await expect(lots.parkingLots({ limit: 1, minPosition: wanted })).rejects.toBeInstanceOf(
      PositionNotReachedError,
    );
  });
});
