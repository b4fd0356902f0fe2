import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SqliteDocumentStore } from "../document-store/embedded/sqlite-document-store.js";
import { sqlIndexName } from "../document-store/embedded/sqlite-schema.js";
import type { Filter, FindOptions } from "../document-store/port.js";
import { CLOSURE_ID_END, CONTROL_CENTER, closureId } from "../projections/read-models/control-center.js";
import {
  HELD_OPEN_ENDED,
  RESERVATIONS,
  reservationsProjection,
} from "../projections/read-models/reservations.js";
import type { ReservationStatus } from "../schemas/read-models.js";
import { statusFilters } from "./views/rules.js";

/**
 * The reads behind the figures of the moment, on the embedded store with the reservations
 * projection's own indexes and a lot history of two months (mostly ended windows, some no-shows,
 * some still checked in): explain() shows each one searching the index meant for it, bounded by
 * the lots and the time range, and every page read in the index's order (no sort of all matches).
 */

const HOUR = 3_600_000;
const NOW = Date.parse("2026-11-23T12:00:00.000Z");
const iso = (ms: number) => new Date(ms).toISOString();
const LOTS = ["L1", "L2", "L3", "L4"];

let dir: string;
let store: SqliteDocumentStore;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "now-paths-"));
  store = SqliteDocumentStore.open({ file: join(dir, "read-models.sqlite") });
  await store.ensureIndexes(RESERVATIONS, reservationsProjection.collections[RESERVATIONS] ?? []);
  await store.ensureIndexes(CONTROL_CENTER, []);
  const docs = [];
  let seq = 0;
  for (const lot of LOTS) {
    for (let i = 0; i < 1500; i++) {
      seq++;
      // Windows of two hours, one every hour from 60 days ago to 2 days ahead; every fifth open-ended.
      const start = NOW - 60 * 24 * HOUR + Math.floor((i / 1500) * 62 * 24 * HOUR);
      const ended = start + 2 * HOUR <= NOW;
      const kind = seq % 10;
      const status = ended
        ? kind < 6
          ? "COMPLETED"
          : kind < 8
            ? "RESERVED" // a no-show
            : kind < 9
              ? "CANCELED"
              : "CHECKED_IN" // never checked out
        : kind < 2
          ? "CHECKED_IN"
          : "RESERVED";
      const windowed = i % 5 !== 0;
      const doc: Record<string, unknown> = {
        reservationId: `r${seq}`,
        parkingLotId: lot,
        customerId: `C${seq % 40}`,
        carNumber: `${10 + (seq % 89)}더${1000 + seq}`,
        amount: 1000,
        reservedAt: iso(start - 24 * HOUR),
        status,
        seq,
        heldFrom: windowed ? iso(start) : iso(start - 24 * HOUR),
        heldUntil: windowed ? iso(start + 2 * HOUR) : status === "COMPLETED" ? iso(start) : HELD_OPEN_ENDED,
      };
      if (windowed) Object.assign(doc, { startsAt: iso(start), endsAt: iso(start + 2 * HOUR) });
      docs.push({ op: "replace" as const, collection: RESERVATIONS, id: `r${seq}`, document: doc });
    }
  }
  await store.write(docs);
  await store.write([
    {
      op: "update",
      collection: CONTROL_CENTER,
      id: closureId(iso(NOW + 2 * HOUR), "L1", "c1"),
      upsert: true,
      update: { $set: { parkingLotId: "L1", from: iso(NOW - HOUR), until: iso(NOW + 2 * HOUR) } },
    },
  ]);
});

afterAll(async () => {
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

const plan = async (filter: Filter, options?: FindOptions, collection = RESERVATIONS) => {
  const explained = await store.explain(collection, filter, options);
  expect(explained.indexed, explained.detail).toBe(true);
  // A page comes in the index's order: never every match sorted first.
  expect(explained.detail).not.toMatch(/TEMP B-TREE|sorted in memory/);
  return explained.detail;
};

describe("the figures of the moment read index ranges bounded by the lots and the time", () => {
  it("the status filters: a walk of a status index newest first, for a lot, a customer or all", async () => {
    const page = { sort: { seq: -1 as const }, limit: 51 };
    const scopes: Filter[] = [{ parkingLotId: "L2" }, { customerId: "C7" }, {}];
    const statuses: ReservationStatus[] = ["RESERVED", "CHECKED_IN", "COMPLETED", "CANCELED"];
    for (const scope of scopes) {
      for (const status of statuses) {
        for (const condition of statusFilters(status, NOW)) {
          const cursor = { seq: { $lt: 3000 } };
          await plan({ ...scope, ...condition }, page);
          await plan({ ...scope, ...condition, ...cursor }, page);
        }
      }
    }
  });

  it("every index of the reservations is the one some list read walks (issue 50: none written for no read)", async () => {
    const page = { sort: { seq: -1 as const }, limit: 51 };
    const scopes: Filter[] = [
      {},
      { parkingLotId: "L2" },
      { customerId: "C7" },
      { parkingLotId: "L2", customerId: "C7" },
    ];
    const statuses = [
      undefined,
      "PENDING_PAYMENT",
      "RESERVED",
      "CHECKED_IN",
      "COMPLETED",
      "CANCELED",
      "NO_SHOW",
      "OVERSTAYING",
    ];
    const details: string[] = [];
    for (const scope of scopes) {
      for (const status of statuses as (ReservationStatus | undefined)[]) {
        for (const condition of statusFilters(status, NOW, status === "CANCELED" ? ["L1"] : [])) {
          details.push((await store.explain(RESERVATIONS, { ...condition, ...scope }, page)).detail);
          details.push(
            (await store.explain(RESERVATIONS, { ...condition, ...scope, seq: { $lt: 3000 } }, page)).detail,
          );
        }
      }
    }
    // A customer's reservations (erasure, retention): all of them.
    details.push((await store.explain(RESERVATIONS, { customerId: "C7" })).detail);
    const declared = (reservationsProjection.collections[RESERVATIONS] ?? []).map((index) => index.name);
    const walked = (name: string) => details.some((d) => d.includes(sqlIndexName(RESERVATIONS, name)));
    expect(declared.filter((name) => !walked(name))).toEqual([]);
  });

  it("the lots closed now: one range of closure ids, those not over yet", async () => {
    const detail = await plan(
      { _id: { $gt: closureId(iso(NOW), "", ""), $lt: CLOSURE_ID_END } },
      undefined,
      CONTROL_CENTER,
    );
    expect(detail).toMatch(/PRIMARY KEY|INDEX/);
  });
});
