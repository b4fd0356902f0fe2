import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { SqliteEventStore } from "../event-store/embedded/sqlite-event-store.js";
import { SqliteDataKeys } from "../platform/data-keys/sqlite-data-keys.js";
import { openPersonalFields, sealPersonalFields } from "../schemas/personal-data.js";
import { tempDataDir } from "../test-support/service.js";
import { commitKeysBeforeLog, DATA_KEYS_FILE, erasureKeysOf, useDataKeysOf } from "./personal-data.js";

/**
 * Two services in one process, on two DATA_DIRs (as tests run them): what one sealed while the
 * other's key store was opened last still opens, and an erasure through either deletes the
 * customer's keys wherever they are, not only in the store opened last.
 */
describe("the process's key ring", () => {
  const a = tempDataDir("parking-keys-a-");
  const b = tempDataDir("parking-keys-b-");
  afterAll(() => {
    a.remove();
    b.remove();
  });

  it("opens values sealed under any store it opened, and erases in all of them", () => {
    useDataKeysOf({ dataDir: a.dir });
    const data = { customerId: "ring-cust", carNumber: "99가9999", reservationId: "r1" };
    const sealedUnderA = sealPersonalFields("ParkingReserved", data);
    expect(JSON.stringify(sealedUnderA)).not.toContain("99가9999");
    // A second service starts in the same process: its DATA_DIR's store is opened last.
    useDataKeysOf({ dataDir: b.dir });
    expect(openPersonalFields(sealedUnderA)).toMatchObject({
      customerId: "ring-cust",
      carNumber: "99가9999",
    });
    const sealedUnderB = sealPersonalFields("ParkingReserved", data);
    // The first service erases its customer: gone from every store, whichever sealed it.
    erasureKeysOf({ dataDir: a.dir }).erase("ring-cust");
    expect(openPersonalFields(sealedUnderA)).toMatchObject({ customerId: "erased", carNumber: "erased" });
    expect(openPersonalFields(sealedUnderB)).toMatchObject({ customerId: "erased", carNumber: "erased" });
  });

  it("looks a customer's key up in the store it seals under, making none (the per-customer limit's lookup)", () => {
    const store = useDataKeysOf({ dataDir: b.dir });
    const ring = erasureKeysOf({ dataDir: b.dir });
    expect(ring.existingKeyFor("ring-look")).toBeUndefined();
    expect(store.existingKeyFor("ring-look"), "none made").toBeUndefined();
    const made = ring.keyFor("ring-look");
    expect(ring.existingKeyFor("ring-look")?.id).toBe(made?.id);
    expect(store.existingKeyFor("ring-look")?.id).toBe(made?.id);
  });
});

describe("how durable a DATA_DIR's new keys are", () => {
  const dirs: { remove: () => void }[] = [];
  afterAll(() => {
    for (const dir of dirs) dir.remove();
  });

  it("as the log: at checkpoints beside the embedded log's `normal`, synced with `full`, with EventStoreDB, or unsaid", () => {
    const cases = [
      [{ eventStoreSync: "normal" }, "normal"],
      [{ eventStoreSync: "full" }, "full"],
      [{ eventStoreSync: "normal", eventStoreUrl: "esdb://127.0.0.1:2113?tls=false" }, "full"],
      [{}, "full"],
    ] as const;
    for (const [config, expected] of cases) {
      const dir = tempDataDir("parking-keys-sync-");
      dirs.push(dir);
      expect(useDataKeysOf({ dataDir: dir.dir, ...config }).sync, JSON.stringify(config)).toBe(expected);
    }
  });
});

describe("new customers' keys beside the embedded log (issue 50)", () => {
  const data = tempDataDir("parking-keys-group-");
  afterAll(() => data.remove());

  it("are written in one transaction per turn, committed before the log commits what is sealed under them", async () => {
    const keys = useDataKeysOf({ dataDir: data.dir, eventStoreSync: "normal" });
    const log = SqliteEventStore.open({
      file: join(data.dir, "events.sqlite"),
      beforeCommit: commitKeysBeforeLog,
    });
    // What another process (or the processors thread) sees: only what the key store committed.
    const reader = SqliteDataKeys.open(join(data.dir, DATA_KEYS_FILE), { sync: "normal" });
    let commits = 0;
    keys.onWrite(() => commits++);
    try {
      const book = (customerId: string, lot: string) => {
        const sealed = sealPersonalFields("ParkingReserved", { customerId, carNumber: "12가3456" });
        const keyId = String(sealed.customerId).split(".")[1] as string;
        const append = log.appendToStream(
          `parking-lot-${lot}`,
          [{ type: "ParkingReserved", data: sealed, metadata: {} }],
          {
            expectedRevision: "any",
          },
        );
        return append.then(() => keyId);
      };
      await book("group-first", "0"); // the thread's first commit through its log: grouping from then on
      commits = 0;
      // Ten bookings by new customers in one turn, on ten lots: one key-store commit for the ten.
      const keyIds = await Promise.all(Array.from({ length: 10 }, (_, i) => book(`group-${i}`, String(i))));
      expect(commits).toBe(1);
      for (const id of keyIds) expect(reader.key(id), id).toBeDefined();
      // A turn's keys with no append after them are committed at its end all the same.
      const alone = sealPersonalFields("ParkingReserved", {
        customerId: "group-alone",
        carNumber: "34나5678",
      });
      expect(reader.key(String(alone.customerId).split(".")[1] as string)).toBeUndefined();
      await new Promise((resolve) => setImmediate(resolve));
      expect(reader.key(String(alone.customerId).split(".")[1] as string)).toBeDefined();
      expect(commits).toBe(2);
      // An erasure in a turn with new keys: they are committed first, then the erasure, synced.
      const pending = sealPersonalFields("ParkingReserved", {
        customerId: "group-pending",
        carNumber: "56다7890",
      });
      expect(keys.erase("group-0")).toBe(1);
      expect(reader.key(String(pending.customerId).split(".")[1] as string)).toBeDefined();
      expect(reader.isErased("group-0")).toBe(true);
    } finally {
      reader.close();
      await log.close();
    }
  });
});
