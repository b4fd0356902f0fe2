import { join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { SqliteEventStore } from "../../event-store/embedded/sqlite-event-store.js";
import type { EventStore } from "../../event-store/port.js";
import { tempDataDir } from "../../test-support/service.js";
import { type CommandContext, ParkingLotCommandHandler } from "../command-handler.js";
import { reservationStatus } from "../parking-lot/decider.js";
import { couponIdFor } from "./coupon.js";
import { appendCoupon, readCoupon } from "./coupon-stream.js";
import { CouponSpending } from "./spending.js";

/*
 * Linearizability hunt (spent coupons): a booking that spends a coupon, and its retry (the same
 * Idempotency-Key: the same reservation id) on another writer. The first try redeems the coupon and
 * is refused (the lot filled meanwhile); before it gives the coupon back, a spot frees and the retry,
 * finding the coupon already redeemed for this very booking, books it with the discount. The
 * coupon must then stay REDEEMED for that booking: never both spent on a live booking and
 * spendable again.
 */

const NOW = "2026-11-22T11:00:00.000Z";
const LOT = "CP1";
const data = tempDataDir("coupon-spending-race-");
const stores: SqliteEventStore[] = [];
afterAll(async () => {
  for (const s of stores) await s.close();
  data.remove();
});

let n = 0;
const ctx = (): CommandContext => ({
  correlationId: `corr-${++n}`,
  commandId: `cmd-${n}`,
  actor: { sub: "ops-test", role: "operator" },
});

function latch(): { wait: Promise<void>; open: () => void } {
  let open = () => {};
  const wait = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { wait, open };
}

describe("a coupon's booking and its retry on two writers, the lot filling and freeing between them", () => {
  it("leaves the coupon redeemed for the booking the lot holds", async () => {
    const file = join(data.dir, "events.sqlite");
    const one = SqliteEventStore.open({ file, pollIntervalMs: 20 });
    const two = SqliteEventStore.open({ file, pollIntervalMs: 20 });
    stores.push(one, two);
    const options = { retryLimit: 20, cacheSize: 10 };
    const lotsA = new ParkingLotCommandHandler(one, options);
    const lotsB = new ParkingLotCommandHandler(two, options);
    expect(
      (
        await lotsB.handle(
          {
            type: "RegisterParkingLot",
            parkingLotId: LOT,
            name: "Coupons",
            capacity: 1,
            couponRule: { minStayMinutes: 15, discount: { amount: 1000 } },
            now: NOW,
          },
          ctx(),
        )
      ).ok,
    ).toBe(true);
    // The customer's coupon, from an earlier booking (r0) elsewhere.
    const couponId = couponIdFor("r0");
    await appendCoupon(
      two,
      {
        type: "CouponIssued",
        data: { couponId, reservationId: "r0", parkingLotId: "elsewhere", customerId: "C1", issuedAt: NOW },
      },
      -1,
      { correlationId: "c", causationId: "c", actor: { sub: "coupon-policy", role: "system" } },
    );
    const directory = { reservationOf: async () => "r0" };

    // Writer A: slow to take its booking to the lot, and slow to give the coupon back.
    const aBooks = latch();
    const aBooking = latch();
    const slowLots = Object.create(lotsA) as ParkingLotCommandHandler;
    slowLots.handle = async (command, context) => {
      aBooking.open();
      await aBooks.wait;
      return lotsA.handle(command, context);
    };
    const aReturns = latch();
    const aReturning = latch();
    const slowReturns: EventStore = Object.create(one);
    slowReturns.readStream = (id, o) => one.readStream(id, o);
    slowReturns.appendToStream = async (id, events, o) => {
      if (events.some((e) => e.type === "CouponReturned")) {
        aReturning.open();
        await aReturns.wait;
      }
      return one.appendToStream(id, events, o);
    };
    const spendingA = new CouponSpending(slowReturns, slowLots, directory);
    const spendingB = new CouponSpending(two, lotsB, directory);
    const booking = {
      type: "ReserveParking",
      parkingLotId: LOT,
      reservationId: "r1",
      customerId: "C1",
      carNumber: "10더8612",
      amount: 5000,
      now: NOW,
    } as const;

    const first = spendingA.reserve(booking, couponId, ctx());
    await aBooking.wait; // redeemed for r1, the booking not yet taken to the lot
    const other = {
      type: "ReserveParking",
      parkingLotId: LOT,
      reservationId: "b1",
      customerId: "C2",
      carNumber: "12가3456",
      amount: 5000,
      now: NOW,
    } as const;
    expect((await lotsB.handle(other, ctx())).ok).toBe(true); // the lot fills
    aBooks.open();
    await aReturning.wait; // refused (LotFull), about to give the coupon back
    const cancel = {
      type: "CancelReservation",
      parkingLotId: LOT,
      reservationId: "b1",
      reason: "x",
      now: NOW,
    } as const;
    expect((await lotsB.handle(cancel, ctx())).ok).toBe(true); // a spot frees
    const retry = await spendingB.reserve(booking, couponId, ctx());
    aReturns.open();
    const answered = await first;

    expect(answered.ok ? "ok" : answered.rejection.code).toBe("LotFull");
    expect(retry.ok).toBe(true);
    const lot = await lotsB.stateOf(LOT);
    expect(reservationStatus(lot, "r1", Date.parse(NOW))).toBe("RESERVED");
    const coupon = await readCoupon(two, "r0");
    expect(coupon.state).toMatchObject({ status: "REDEEMED", redeemedFor: "r1" });
  });
});

/*
 * Generated: bookings spending one coupon (some the same booking's retries), sent to two writers
 * at once, while other customers fill and free the lot's spots. Whatever the order, at most one
 * booking the lot holds spent the coupon, the coupon is REDEEMED for exactly that one (ISSUED again
 * when none holds it: every refused try gave it back), and every booking answered ok holds it.
 */
describe("spending one coupon from two writers (fast-check)", () => {
  it("never leaves it spent on two bookings, nor spent and spendable", { timeout: 300_000 }, async () => {
    const file = join(data.dir, "generated.sqlite");
    const one = SqliteEventStore.open({ file, pollIntervalMs: 20 });
    const two = SqliteEventStore.open({ file, pollIntervalMs: 20 });
    stores.push(one, two);
    let round = 0;
    const op = fc.record({
      kind: fc.constantFrom("spend" as const, "spend" as const, "fill" as const, "free" as const),
      r: fc.integer({ min: 0, max: 2 }),
      writer: fc.integer({ min: 0, max: 1 }),
      delay: fc.integer({ min: 0, max: 4 }),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 2 }),
        fc.array(op, { minLength: 2, maxLength: 7 }),
        async (capacity, ops) => {
          const lot = `CG${round++}`;
          const owner = `${lot}-r0`;
          const couponId = couponIdFor(owner);
          const lots = [
            new ParkingLotCommandHandler(one, { retryLimit: 50, cacheSize: 10 }),
            new ParkingLotCommandHandler(two, { retryLimit: 50, cacheSize: 10 }),
          ];
          const first = lots[0] as ParkingLotCommandHandler;
          await first.handle(
            {
              type: "RegisterParkingLot",
              parkingLotId: lot,
              name: "Coupons",
              capacity,
              maxActivePerCustomer: 10,
              couponRule: { minStayMinutes: 15, discount: { amount: 1000 } },
              now: NOW,
            },
            ctx(),
          );
          await appendCoupon(
            one,
            {
              type: "CouponIssued",
              data: {
                couponId,
                reservationId: owner,
                parkingLotId: "elsewhere",
                customerId: "C1",
                issuedAt: NOW,
              },
            },
            -1,
            { correlationId: "c", causationId: "c", actor: { sub: "coupon-policy", role: "system" } },
          );
          const directory = { reservationOf: async () => owner };
          const spending = [
            new CouponSpending(one, first, directory),
            new CouponSpending(two, lots[1] as ParkingLotCommandHandler, directory),
          ];
          const okSpends = new Set<string>();
          await Promise.all(
            ops.map(async (o, i) => {
              await new Promise((resolve) => setTimeout(resolve, o.delay));
              const handler = lots[o.writer] as ParkingLotCommandHandler;
              if (o.kind === "spend") {
                const reservationId = `${lot}-s${o.r}`;
                const outcome = await (spending[o.writer] as CouponSpending).reserve(
                  {
                    type: "ReserveParking",
                    parkingLotId: lot,
                    reservationId,
                    customerId: "C1",
                    carNumber: "10더8612",
                    amount: 5000,
                    now: NOW,
                  },
                  couponId,
                  ctx(),
                );
                if (outcome.ok) okSpends.add(reservationId);
              } else if (o.kind === "fill")
                await handler.handle(
                  {
                    type: "ReserveParking",
                    parkingLotId: lot,
                    reservationId: `${lot}-f${i}`,
                    customerId: "C2",
                    carNumber: "12가3456",
                    amount: 5000,
                    now: NOW,
                  },
                  ctx(),
                );
              else
                await handler.handle(
                  {
                    type: "CancelReservation",
                    parkingLotId: lot,
                    reservationId: `${lot}-f${o.r}`,
                    reason: "x",
                    now: NOW,
                  },
                  ctx(),
                );
            }),
          );
          const state = await first.stateOf(lot);
          if (state.kind !== "registered") throw new Error("not registered");
          const holders = [0, 1, 2]
            .map((r) => `${lot}-s${r}`)
            .filter((id) => reservationStatus(state, id, Date.parse(NOW)) === "RESERVED");
          expect(holders.length).toBeLessThanOrEqual(1);
          for (const id of okSpends) expect(holders).toContain(id);
          const coupon = await readCoupon(one, owner);
          expect(coupon.state).toMatchObject(
            holders[0] === undefined ? { status: "ISSUED" } : { status: "REDEEMED", redeemedFor: holders[0] },
          );
        },
      ),
      { numRuns: Math.max(1, Math.floor(Number(process.env.LINEAR_RUNS ?? 12) / 2)) },
    );
  });
});
