import { join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { SqliteDocumentStore } from "../../document-store/embedded/sqlite-document-store.js";
import { SqliteEventStore } from "../../event-store/embedded/sqlite-event-store.js";
import { createLogger } from "../../platform/logger.js";
import type { ParkingLotCommand } from "../../schemas/commands.js";
import { decodeEvent } from "../../schemas/event-codec.js";
import type { DomainEvent } from "../../schemas/events.js";
import { replayOf } from "../../test-support/fc-replay.js";
import { readAllEvents } from "../../test-support/seed.js";
import { tempDataDir } from "../../test-support/service.js";
import { type CommandContext, ParkingLotCommandHandler } from "../../write-side/command-handler.js";
import { couponIdFor } from "../../write-side/coupon/coupon.js";
import { CouponSpending } from "../../write-side/coupon/spending.js";
import type { ReactorContext } from "../runtime/processor.js";
import { couponPolicy } from "./coupon-policy.js";

/*
 * Issue 71: "a chain of four bookings, the first three canceled free, leaves the fourth at half
 * price". Generated chains of one customer's bookings, each spending the coupon of the one before,
 * with cancels, check-ins, check-outs and the clock moving between them, the coupon policy
 * following the log after every step (as live, it lags a step at most). The property: a booking
 * takes a discount only when the stay whose coupon it spent was earned by then (checked in for the
 * lot's minimum stay, or checked out keeping it), so no chain makes a discount without a stay.
 */

const LOT = "chains";
const MIN_STAY_MINUTES = 15;
const START = Date.parse("2026-11-22T09:00:00.000Z");
const data = tempDataDir("coupon-chains-");
afterAll(() => data.remove());

type Step =
  | { readonly kind: "book" }
  | { readonly kind: "cancel" | "checkIn" | "checkOut"; readonly which: number }
  | { readonly kind: "wait"; readonly minutes: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 4, arbitrary: fc.constant({ kind: "book" as const }) },
  ...(["cancel", "checkIn", "checkOut"] as const).map((kind) => ({
    weight: 2,
    arbitrary: fc.nat({ max: 5 }).map((which) => ({ kind, which })),
  })),
  {
    weight: 2,
    arbitrary: fc.integer({ min: 1, max: 30 }).map((minutes) => ({ kind: "wait" as const, minutes })),
  },
);

let n = 0;
const ctx = (): CommandContext => ({
  correlationId: `corr-${++n}`,
  commandId: `cmd-${n}`,
  actor: { sub: "C1", role: "customer" },
});

/** Runs one generated chain on real stores; answers the lot's events and the coupons' afterwards. */
async function runChain(steps: readonly Step[], run: number): Promise<DomainEvent[]> {
  const events = SqliteEventStore.open({ file: join(data.dir, `events-${run}.sqlite`) });
  const docs = SqliteDocumentStore.open({ file: join(data.dir, `docs-${run}.sqlite`) });
  try {
    const lots = new ParkingLotCommandHandler(events, { retryLimit: 5, cacheSize: 10 });
    const owners = new Map<string, string>();
    const spending = new CouponSpending(events, lots, {
      reservationOf: async (couponId) => owners.get(couponId),
    });
    const context: ReactorContext = {
      eventStore: events,
      documentStore: docs,
      logger: createLogger("silent"),
      now: () => Date.now(),
    };
    let seen = 0;
    /** The coupon policy over what the log gained since it last ran, as the runtime hands it. */
    const follow = async () => {
      const all = await readAllEvents(events);
      const fresh = all
        .slice(seen)
        .filter((e) => couponPolicy.eventTypes.has(e.type as never))
        .map((e) => decodeEvent(e));
      seen = all.length;
      if (fresh.length === 0) return;
      const ops = await couponPolicy.react(fresh, context);
      if (ops && ops.length > 0) await docs.write(ops);
    };
    let clock = START;
    const now = () => new Date(clock).toISOString();
    const handle = (command: ParkingLotCommand) => lots.handle(command, ctx());
    await handle({
      type: "RegisterParkingLot",
      parkingLotId: LOT,
      name: "Chains",
      capacity: 20,
      maxActivePerCustomer: 20,
      couponRule: { minStayMinutes: MIN_STAY_MINUTES, discount: { percent: 50 } },
      now: now(),
    });
    const booked: string[] = [];
    for (const s of steps) {
      if (s.kind === "wait") clock += s.minutes * 60_000;
      else if (s.kind === "book") {
        const reservationId = `b${booked.length}`;
        const booking = {
          type: "ReserveParking" as const,
          parkingLotId: LOT,
          reservationId,
          customerId: "C1",
          carNumber: "12가3456",
          amount: 6000,
          now: now(),
        };
        const previous = booked.at(-1);
        // Each booking tries to spend the coupon of the one before it (a refusal books nothing).
        const outcome = previous
          ? await spending.reserve(booking, couponIdFor(previous), ctx())
          : await handle(booking);
        if (outcome.ok) {
          booked.push(reservationId);
          owners.set(couponIdFor(reservationId), reservationId);
        }
      } else if (booked.length > 0) {
        const reservationId = booked[s.which % booked.length] as string;
        const ids = { parkingLotId: LOT, reservationId, requestedBy: "C1", now: now() };
        if (s.kind === "cancel") await handle({ type: "CancelReservation", ...ids, reason: "plans changed" });
        else if (s.kind === "checkIn") await handle({ type: "CheckIn", ...ids });
        else await handle({ type: "CheckOut", ...ids });
      }
      await follow();
    }
    return (await readAllEvents(events)).map((e) => decodeEvent(e).event);
  } finally {
    await docs.close();
    await events.close();
  }
}

/** When the stay of `owner` had earned its coupon, per the lot's log (undefined: never). */
function earnedAt(log: readonly DomainEvent[], owner: string): number | undefined {
  const times: number[] = [];
  for (const event of log) {
    if ((event.data as { reservationId?: string }).reservationId !== owner) continue;
    if (event.type === "ReservationCheckedIn")
      times.push(Date.parse(event.data.checkedInAt) + MIN_STAY_MINUTES * 60_000);
    if (event.type === "ReservationCheckedOut" && event.data.couponEarned)
      times.push(Date.parse(event.data.checkedOutAt));
  }
  return times.length > 0 ? Math.min(...times) : undefined;
}

describe("chains of bookings spending each other's coupons (issue 71)", () => {
  it("property: a booking takes a discount only once the stay whose coupon it spent has earned it", async () => {
    let run = 0;
    let discounted = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 2, maxLength: 14 }), async (steps) => {
        const log = await runChain(steps, ++run);
        for (const event of log) {
          if (event.type !== "ParkingReserved" || event.data.coupon === undefined) continue;
          discounted++;
          const earned = earnedAt(log, event.data.coupon.reservationId);
          expect(earned, `${event.data.reservationId} spent an unearned coupon`).toBeDefined();
          expect(earned).toBeLessThanOrEqual(Date.parse(event.data.reservedAt));
        }
      }),
      {
        numRuns: 40,
        // A chain that earns and spends (checked in for the minimum stay), so the property is
        // never met by refusing everything, whatever chains the seed draws.
        examples: [
          [
            [
              { kind: "book" },
              { kind: "checkIn", which: 0 },
              { kind: "wait", minutes: MIN_STAY_MINUTES },
              { kind: "book" },
            ],
          ],
        ],
        ...replayOf("COUPON_CHAINS"),
      },
    );
    // The chains did spend coupons (earned ones): the property was not met by refusing everything.
    if (!replayOf("COUPON_CHAINS").seed) expect(discounted).toBeGreaterThan(0);
  });

  it("the issue's chain: four bookings, the first three canceled free, leaves the fourth at full price", async () => {
    const log = await runChain(
      [
        { kind: "book" },
        { kind: "book" },
        { kind: "cancel", which: 0 },
        { kind: "book" },
        { kind: "cancel", which: 1 },
        { kind: "book" },
        { kind: "cancel", which: 2 },
      ],
      0,
    );
    const bookings = log.filter((e) => e.type === "ParkingReserved");
    // Nothing was earned: only the first booking is made (each next one is refused its coupon, so
    // books nothing), and no booking in the log took a discount.
    expect(bookings.map((e) => e.type === "ParkingReserved" && e.data.coupon)).toEqual([undefined]);
  });
});
