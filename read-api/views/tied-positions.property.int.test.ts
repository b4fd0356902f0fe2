import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SqliteDocumentStore } from "../../document-store/embedded/sqlite-document-store.js";
import type { StoredDomainEvent } from "../../schemas/event-codec.js";
import { CURRENT_SCHEMA_VERSION, type DomainEvent } from "../../schemas/events.js";
import { projectedLog, withProjectionIndexes } from "../../test-support/projected-log.js";
import { readViews } from "./views.js";

/**
 * Concurrent commands to one lot are decided as a batch and appended at once (decider-runner.ts),
 * and EventStoreDB reports every event of one append at the append's commit position, told apart
 * only by their prepare positions. The pages of bookings, of a plate's matches, of a customer's coupons
 * and of a lot's gate reviews must still walk each item exactly once, newest first, at every
 * page size: a cursor that only says "below this commit" skips the rest of a batch. The oracle is
 * the list of what was recorded, in log order. PAGES_RUNS=200 for a longer hunt.
 */
const RUNS = Number(process.env.PAGES_RUNS ?? 15);
const T0 = Date.parse("2026-11-23T12:00:00.000Z");
const HOUR = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();
const LOTS = ["L1", "L2"];
const CUSTOMERS = ["C1", "C2"];
const PLATES = ["12가3456", "34나1212"];

interface Booking {
  readonly lot: number;
  readonly customer: number;
  readonly plate: number;
}
const booking = fc.record({
  lot: fc.nat(LOTS.length - 1),
  customer: fc.nat(CUSTOMERS.length - 1),
  plate: fc.nat(PLATES.length - 1),
});

/**
 * Events recorded as EventStoreDB reports them: each group is one append, all its events at the
 * commit of its last, each at its own prepare (log order).
 */
function recordAppends(groups: readonly (readonly DomainEvent[])[]): StoredDomainEvent[] {
  let prepare = 0;
  return groups.flatMap((group) => {
    const commit = prepare + group.length;
    return group.map((event) => {
      prepare++;
      return {
        event,
        id: `e${prepare}`,
        streamId: "s",
        revision: prepare - 1,
        position: { commit, prepare },
        metadata: { correlationId: "c", causationId: "c", schemaVersion: CURRENT_SCHEMA_VERSION },
        createdAt: new Date(T0),
      };
    });
  });
}

async function allPages<T>(page: (cursor?: string) => Promise<{ items: T[]; nextCursor: string | null }>) {
  const items: T[] = [];
  let cursor: string | undefined;
  for (let n = 0; n < 200; n++) {
    const answer = await page(cursor);
    items.push(...answer.items);
    if (answer.nextCursor === null) return items;
    cursor = answer.nextCursor;
  }
  throw new Error("more than 200 pages");
}

describe("pages over bookings appended together (one commit position, several events)", () => {
  it("walk every item once, newest first, at every page size", async () => {
    await fc.assert(
      fc.asyncProperty(
        // Each inner array: one lot's batch of bookings appended at once.
        fc.array(fc.array(booking, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 6 }),
        fc.constantFrom(1, 2, 3, 5),
        async (batches, limit) => {
          const store = SqliteDocumentStore.open({ file: ":memory:" });
          try {
            await withProjectionIndexes(store);
            const made: (Booking & { id: string })[] = [];
            const groups: DomainEvent[][] = [
              LOTS.map((parkingLotId) => ({
                type: "ParkingLotRegistered",
                data: { parkingLotId, name: parkingLotId, capacity: 500, registeredAt: iso(T0 - 24 * HOUR) },
              })),
            ];
            for (const [b, batch] of batches.entries()) {
              // One batch is of one lot: the runner appends to one lot's stream at a time.
              const lot = batch[0]?.lot ?? 0;
              const group: DomainEvent[] = [];
              for (const [k, one] of batch.entries()) {
                const id = `r-${b}-${k}`;
                made.push({ ...one, lot, id });
                group.push({
                  type: "ParkingReserved",
                  data: {
                    reservationId: id,
                    parkingLotId: LOTS[lot] as string,
                    customerId: CUSTOMERS[one.customer] as string,
                    carNumber: PLATES[one.plate] as string,
                    amount: 1000,
                    reservedAt: iso(T0 - 2 * HOUR),
                    startsAt: iso(T0 + HOUR),
                    endsAt: iso(T0 + 2 * HOUR),
                  },
                });
              }
              groups.push(group);
              // A batch of coupons issued in one append: a tie of their own.
              groups.push(
                batch.map((one, k) => ({
                  type: "CouponIssued",
                  data: {
                    couponId: `c-r-${b}-${k}`,
                    reservationId: `r-${b}-${k}`,
                    parkingLotId: LOTS[lot] as string,
                    customerId: CUSTOMERS[one.customer] as string,
                    issuedAt: iso(T0),
                  },
                })),
              );
              // The batch's cars read at the lot's gate, sent to review: one append of reads.
              groups.push(
                batch.map((_, k) => ({
                  type: "GateEventRecorded",
                  data: {
                    eventId: `cam-${b}-${k}`,
                    parkingLotId: LOTS[lot] as string,
                    gateId: "north",
                    direction: "entry",
                    confidence: 0.3,
                    at: iso(T0),
                    decision: "review",
                    reason: "LowConfidence",
                    recordedAt: iso(T0),
                  },
                })),
              );
            }
            const log = projectedLog(new Date(T0));
            await log.project(store, recordAppends(groups));
            const views = readViews(store, { readYourWritesTimeoutMs: 1_000, now: () => T0, lots: log.lots });
            const newestFirst = [...made].reverse();
            const ids = (items: { reservationId: string }[]) => items.map((i) => i.reservationId);

            const all = await allPages((cursor) =>
              views.reservations.reservations({ limit, ...(cursor ? { cursor } : {}) }),
            );
            expect(ids(all), "every booking").toEqual(newestFirst.map((m) => m.id));
            for (const [l, lot] of LOTS.entries()) {
              const inLot = await allPages((cursor) =>
                views.reservations.reservations({ limit, parkingLotId: lot, ...(cursor ? { cursor } : {}) }),
              );
              expect(ids(inLot), lot).toEqual(newestFirst.filter((m) => m.lot === l).map((m) => m.id));
              const scoped = await allPages((cursor) =>
                views.reservations.reservations({
                  limit,
                  parkingLotIds: [lot],
                  status: "RESERVED",
                  ...(cursor ? { cursor } : {}),
                }),
              );
              expect(ids(scoped), `${lot} RESERVED`).toEqual(
                newestFirst.filter((m) => m.lot === l).map((m) => m.id),
              );
            }
            for (const [p, plate] of PLATES.entries()) {
              const byPlate = await allPages((cursor) =>
                views.reservations.reservations({ limit, carNumber: plate, ...(cursor ? { cursor } : {}) }),
              );
              expect(ids(byPlate), plate).toEqual(newestFirst.filter((m) => m.plate === p).map((m) => m.id));
            }
            for (const [l, lot] of LOTS.entries()) {
              const reviews = await allPages((cursor) =>
                views.gateReviews.gateReviews(lot, { limit, ...(cursor ? { cursor } : {}) }),
              );
              expect(
                reviews.map((review) => review.eventId),
                `${lot}'s gate reviews`,
              ).toEqual(newestFirst.filter((m) => m.lot === l).map((m) => m.id.replace("r-", "cam-")));
            }
            for (const [c, customer] of CUSTOMERS.entries()) {
              const coupons = await allPages((cursor) =>
                views.reservations.customerCoupons(customer, { limit, ...(cursor ? { cursor } : {}) }),
              );
              expect(
                coupons.map((coupon) => coupon.couponId),
                `${customer}'s coupons`,
              ).toEqual(newestFirst.filter((m) => m.customer === c).map((m) => `c-${m.id}`));
            }
          } finally {
            await store.close();
          }
        },
      ),
      { numRuns: RUNS },
    );
  });
});
