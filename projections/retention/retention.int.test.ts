import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { SqliteDocumentStore } from "../../document-store/embedded/sqlite-document-store.js";
import { SqliteEventStore } from "../../event-store/embedded/sqlite-event-store.js";
import { SqliteDataKeys } from "../../platform/data-keys/sqlite-data-keys.js";
import { createLogger } from "../../platform/logger.js";
import { decodeEvent } from "../../schemas/event-codec.js";
import { usePersonalDataKeys } from "../../schemas/personal-data.js";
import { tempDataDir } from "../../test-support/service.js";
import { HELD_OPEN_ENDED, RESERVATIONS } from "../read-models/reservations.js";
import { physicalCollection } from "../runtime/checkpoints.js";
import type { ReactorContext } from "../runtime/processor.js";
import { retention } from "./retention.js";

/**
 * RETENTION_DAYS (issue 36 item 4): the retention reactor's run erases exactly the customers whose
 * every reservation ended longer ago than the retention period, as the test's clock says.
 */
const DAY = 86_400_000;
const T0 = Date.parse("2026-11-25T00:00:00.000Z");
const daysAgo = (days: number) => new Date(T0 - days * DAY).toISOString();

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  usePersonalDataKeys(undefined);
});

describe("the retention reactor", () => {
  it("erases the customers whose reservations all ended longer ago, and only them", async () => {
    const data = tempDataDir("parking-retention-");
    const keys = SqliteDataKeys.open(join(data.dir, "keys", "data-keys.sqlite"));
    usePersonalDataKeys(keys);
    const eventStore = SqliteEventStore.open({ file: join(data.dir, "events.sqlite") });
    const documentStore = SqliteDocumentStore.open({ file: join(data.dir, "read-models.sqlite") });
    cleanups.push(
      data.remove,
      () => keys.close(),
      () => eventStore.close(),
      () => documentStore.close(),
    );

    const reservations: [string, string, string][] = [
      // customer, status, heldUntil
      ["old", "COMPLETED", daysAgo(40)],
      ["old", "CANCELED", daysAgo(45)],
      ["mixed", "COMPLETED", daysAgo(40)],
      ["mixed", "RESERVED", HELD_OPEN_ENDED],
      ["recent", "COMPLETED", daysAgo(10)],
      ["overstaying", "CHECKED_IN", daysAgo(40)],
      ["no-show", "NO_SHOW", daysAgo(31)],
    ];
    const collection = physicalCollection(RESERVATIONS, 1);
    await documentStore.write(
      reservations.map(([customerId, status, heldUntil], i) => ({
        op: "replace" as const,
        collection,
        id: `r-${i}`,
        document: { reservationId: `r-${i}`, parkingLotId: "lot-1", customerId, status, heldUntil, seq: i },
      })),
    );
    for (const [customerId] of reservations) keys.keyFor(customerId);

    let now = T0;
    const context: ReactorContext = {
      eventStore,
      documentStore,
      logger: createLogger("silent"),
      now: () => now,
    };
    const reactor = retention({ days: 30 });
    const erasedSubjects = async () => {
      const subjects: string[] = [];
      for await (const recorded of eventStore.readAll()) {
        const { event } = decodeEvent(recorded);
        if (event.type === "CustomerErased") subjects.push(event.data.subject);
      }
      return subjects.sort();
    };
    const subjectsOf = (...ids: string[]) => ids.map((id) => keys.pseudonym(id)).sort();

    await reactor.tick?.run(context);
    expect(await erasedSubjects()).toEqual(subjectsOf("old", "no-show"));
    expect(keys.keyFor("old")).toBeUndefined();
    expect(keys.keyFor("recent")).toBeDefined();
    expect(keys.keyFor("mixed")).toBeDefined();

    // The read model forgets them (as its projection does on the erasure fact), and time passes:
    // the recent customer's stay is now 41 days old; the active ones are still kept.
    await documentStore.write(
      reservations.flatMap(([customerId], i) =>
        customerId === "old" || customerId === "no-show"
          ? [{ op: "update" as const, collection, id: `r-${i}`, update: { $set: { customerId: "erased" } } }]
          : [],
      ),
    );
    now = T0 + 31 * DAY;
    await reactor.tick?.run(context);
    expect(await erasedSubjects()).toEqual(subjectsOf("old", "no-show", "recent"));
    expect(keys.keyFor("mixed")).toBeDefined();
    expect(keys.keyFor("overstaying")).toBeDefined();
  });

  it("does nothing without RETENTION_DAYS", () => {
    expect(retention({ days: undefined }).tick).toBeUndefined();
  });
});
