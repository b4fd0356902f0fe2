import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { customerHeaders } from "../test-support/auth.js";
import { filesOf } from "../test-support/files-under.js";
import { call, eventually, startTestService, tempDataDir } from "../test-support/service.js";
import { takeBackup } from "./backup/take-backup.js";
import type { RunningService } from "./server.js";

/**
 * Erasure proven on every store (issue 36, item 5): after random bookings and the erasure of some
 * of their customers, no file under DATA_DIR (the log, the read models, the keys, each with its
 * -wal and -shm), no view (the lot, its reservations, its history, the lot and a reservation as of
 * a moment) and no backup taken afterwards holds an erased customer's id or plates as UTF-8 bytes;
 * the other customers' plates still read, and counts, spots and amounts are as before.
 */

const CUSTOMERS = 3;
/** Bookings: who books (of the run's customers) and a plate's last four digits, distinct per run. */
const runs = fc.record({
  bookings: fc.uniqueArray(
    fc.record({ owner: fc.nat(CUSTOMERS - 1), digits: fc.integer({ min: 1000, max: 9999 }) }),
    {
      minLength: 3,
      maxLength: 7,
      selector: (b) => b.digits,
    },
  ),
  erased: fc.subarray([0, 1, 2], { minLength: 1 }),
});

interface Reservation {
  reservationId: string;
  customerId: string;
  carNumber: string;
  amount: number;
}

describe("erasing customers after random bookings", () => {
  const data = tempDataDir("parking-erase-disk-");
  const backups = tempDataDir("parking-erase-backup-");
  let service: RunningService;
  let run = 0;

  beforeAll(async () => {
    service = await startTestService(data.dir);
  });
  afterAll(async () => {
    await service?.shutdown("test done");
    data.remove();
    backups.remove();
  });

  it("leaves the erased ids and plates in no file, view or backup, and the rest as it was", async () => {
    await fc.assert(
      fc.asyncProperty(runs, async ({ bookings, erased }) => {
        run += 1;
        const lot = `erase-disk-${run}`;
        // Ids and plates unique across runs (the service keeps every run's data).
        const customers = Array.from({ length: CUSTOMERS }, (_, k) => `ecust-${100 + run}-${k}`);
        const plateOf = (digits: number) => `${10 + run}가${digits}`;
        const registered = await call(service.url, "POST", "/parking-lots", {
          parkingLotId: lot,
          name: "지우기 증명",
          capacity: 20,
        });
        expect(registered.status).toBe(201);
        const booked: { reservationId: string; customerId: string; carNumber: string }[] = [];
        let bookedAt = String(registered.body.position);
        for (const { owner, digits } of bookings) {
          const customerId = customers[owner] as string;
          const answer = await call<{ reservationId: string; position: string }>(
            service.url,
            "POST",
            `/parking-lots/${lot}/reservations`,
            { carNumber: plateOf(digits), amount: 7000 },
            await customerHeaders(data.dir, customerId),
          );
          // A customer at the lot's per-customer limit is refused, nothing appended.
          if (answer.status === 409) continue;
          expect(answer.status).toBe(201);
          bookedAt = answer.body.position;
          booked.push({ reservationId: answer.body.reservationId, customerId, carNumber: plateOf(digits) });
        }
        const lotView = (minPosition: string) =>
          call<Record<string, unknown>>(
            service.url,
            "GET",
            `/parking-lots/${lot}?minPosition=${minPosition}`,
          );
        const listed = async (minPosition?: string) => {
          const query = minPosition ? `&minPosition=${minPosition}` : "";
          const page = await call<{ items: Reservation[] }>(
            service.url,
            "GET",
            `/reservations?parkingLotId=${lot}&limit=100${query}`,
          );
          expect(page.status).toBe(200);
          return page.body.items;
        };
        const lotBefore = await lotView(bookedAt);
        const before = await eventually(async () => {
          const items = await listed(bookedAt);
          return items.length === booked.length ? items : undefined;
        });
        const moment = new Date().toISOString();

        const gone = erased.map((k) => customers[k] as string);
        let position = "";
        for (const customerId of gone) {
          const answer = await call(service.url, "POST", `/customers/${customerId}/erasure`, {
            reason: "issue 36 proof",
          });
          expect(answer.status).toBe(200);
          position = String(answer.body.position);
        }
        const after = await eventually(async () => {
          const items = await listed(position);
          return items.every((r) => !gone.includes(r.customerId)) ? items : undefined;
        });

        // What is not personal reads as before; the others' ids and plates still read.
        const facts = (items: Reservation[]) =>
          items
            .map((r) => [r.reservationId, r.amount])
            .sort((a, b) => String(a[0]).localeCompare(String(b[0])));
        expect(facts(after)).toEqual(facts(before));
        for (const reservation of after) {
          const was = booked.find((b) => b.reservationId === reservation.reservationId);
          const isGone = gone.includes(was?.customerId as string);
          expect(reservation.customerId).toBe(isGone ? "erased" : was?.customerId);
          expect(reservation.carNumber).toBe(isGone ? "erased" : was?.carNumber);
        }
        const lotAfter = await lotView(position);
        expect(lotAfter.body.availableSpots).toBe(lotBefore.body.availableSpots);
        expect(lotAfter.body.capacity).toBe(lotBefore.body.capacity);

        // Every view that reads the log or the read models, the past included.
        const views = [
          lotAfter.body,
          after,
          (await call(service.url, "GET", `/parking-lots/${lot}/history?limit=100`)).body,
          (await call(service.url, "GET", `/parking-lots/${lot}?asOf=${moment}`)).body,
        ];
        // As of the erasure itself: the time-travel fold applies the erasure fact too.
        const asOfErasure = await call(service.url, "GET", `/parking-lots/${lot}?asOf=${position}`);
        expect(asOfErasure.status).toBe(200);
        expect(asOfErasure.body.availableSpots).toBe(lotAfter.body.availableSpots);
        views.push(asOfErasure.body);
        for (const { reservationId } of booked) {
          views.push((await call(service.url, "GET", `/reservations/${reservationId}?asOf=${moment}`)).body);
          views.push((await call(service.url, "GET", `/reservations/${reservationId}/history`)).body);
        }
        const answered = Buffer.from(JSON.stringify(views));
        const backup = join(backups.dir, `after-erasure-${run}.tar.gz`);
        await takeBackup(data.dir, backup);
        const stores = { answered, ...filesOf(data.dir), backup: gunzipSync(readFileSync(backup)) };

        const erasedBytes = [
          ...gone,
          ...booked.filter((b) => gone.includes(b.customerId)).map((b) => b.carNumber),
        ];
        for (const [where, bytes] of Object.entries(stores))
          for (const secret of erasedBytes)
            expect(bytes.includes(Buffer.from(secret)), `${secret} in ${where}`).toBe(false);
        // The kept customers' plates are still there to be read.
        for (const kept of booked.filter((b) => !gone.includes(b.customerId)))
          expect(answered.includes(Buffer.from(kept.carNumber)), kept.carNumber).toBe(true);
      }),
      { numRuns: 4 },
    );
  }, 60_000);
});
