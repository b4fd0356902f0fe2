import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SqliteDocumentStore } from "../document-store/embedded/sqlite-document-store.js";
import { PLATE_SUFFIXES, reservationsProjection } from "../projections/read-models/reservations.js";
import { fragmentRange, plateForm, plateSuffixes } from "../schemas/plates.js";

/**
 * A plate fragment is a prefix range over the plates' suffixes, through their index: explain()
 * shows the range searched (bounded both ways), never a scan of every reservation's suffixes; and
 * the range finds exactly the plates that hold the fragment.
 */
let dir: string;
let store: SqliteDocumentStore;
const plate = (seq: number) => `${10 + (seq % 89)}${["더", "가", "나"][seq % 3]}${1000 + seq}`;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "plate-search-"));
  store = SqliteDocumentStore.open({ file: join(dir, "read-models.sqlite") });
  await store.ensureIndexes(PLATE_SUFFIXES, reservationsProjection.collections[PLATE_SUFFIXES] ?? []);
  const ops = [];
  for (let seq = 1; seq <= 3000; seq++) {
    const parkingLotId = `L${seq % 4}`;
    const customerId = `C${seq % 40}`;
    for (const [i, suffix] of plateSuffixes(plate(seq)).entries())
      ops.push({
        op: "replace" as const,
        collection: PLATE_SUFFIXES,
        id: `r${seq}~${i}`,
        document: { suffix, reservationId: `r${seq}`, parkingLotId, customerId, seq },
      });
  }
  await store.write(ops);
});
afterAll(async () => {
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("plate fragments", () => {
  it("are compared without spaces, hyphens or case", () => {
    expect(plateForm(" ab-12 3\u2011cd ")).toBe("AB123CD");
    expect(plateSuffixes("10더8612")).toEqual(["10더8612", "0더8612", "더8612", "8612", "612", "12"]);
    expect(plateSuffixes("1111")).toEqual(["1111", "111", "11"]);
  });

  it("are found through the suffix index, by a range bounded both ways", async () => {
    const range = /\S+suffix>\? AND \S+suffix<\?\)/;
    for (const [filter, index] of [
      [{ suffix: fragmentRange("2더") }, "by_suffix"],
      [{ parkingLotId: "L1", suffix: fragmentRange("2더") }, "by_lot_suffix"],
      [{ customerId: "C7", suffix: fragmentRange("2더") }, "by_customer_suffix"],
    ] as const) {
      const plan = await store.explain(PLATE_SUFFIXES, filter, { sort: { seq: -1 }, limit: 21 });
      expect(plan.indexed, plan.detail).toBe(true);
      expect(plan.detail).toContain(Buffer.from(index, "utf8").toString("hex"));
      expect(plan.detail).toMatch(range);
    }
  });

  it("find exactly the plates that hold the fragment", async () => {
    for (const fragment of ["2더", "8612", "더10", "99", "1 0-0"]) {
      const rows = await store.find(PLATE_SUFFIXES, { suffix: fragmentRange(fragment) });
      const found = new Set(rows.map((r) => r.reservationId));
      const expected = new Set<string>();
      for (let seq = 1; seq <= 3000; seq++)
        if (plateForm(plate(seq)).includes(plateForm(fragment))) expected.add(`r${seq}`);
      expect(found, fragment).toEqual(expected);
    }
  });
});
