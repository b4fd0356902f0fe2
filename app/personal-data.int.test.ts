import { afterAll, describe, expect, it } from "vitest";
import { openPersonalFields, sealPersonalFields } from "../schemas/personal-data.js";
import { tempDataDir } from "../test-support/service.js";
import { erasureKeysOf, useDataKeysOf } from "./personal-data.js";

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
