import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, describe, expect, it } from "vitest";
import { SqliteEventStore } from "../event-store/embedded/sqlite-event-store.js";
import type { EventStore, RecordedEvent } from "../event-store/port.js";
import type { ParkingLotCommand } from "../schemas/commands.js";
import { decodeEvent } from "../schemas/event-codec.js";
import { fold } from "../test-support/lot-state.js";
import { tempDataDir } from "../test-support/service.js";
import { ParkingLotCommandHandler } from "./command-handler.js";
import { PARKING_LOT_EVENT_TYPES, type ParkingLotEvent } from "./parking-lot/decider.js";
import { lotPeriodOfStream, parkingLotStream } from "./parking-lot/periods.js";

/* Many commands racing across the period bound from several handlers on two connections. */

const NOW = "2026-11-22T11:00:00.000Z";
/** The periods open at the commands' clock: within the idempotency window, nothing ended is forgotten. */
const clock = () => Date.parse(NOW);
const data = tempDataDir("lot-periods-race-");
const stores: SqliteEventStore[] = [];
afterAll(async () => {
  for (const s of stores) await s.close();
  data.remove();
});

const ctx = (i: string) => ({
  correlationId: `corr-${i}`,
  commandId: `cmd-${i}`,
  actor: { sub: "ops-test", role: "operator" } as const,
});

async function all(store: EventStore, stream: string): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = [];
  for await (const e of store.readStream(stream)) out.push(e);
  return out;
}

describe("racing across the bound", { timeout: 300_000 }, () => {
  for (const [round, crashy] of [
    [0, false],
    [1, false],
    [2, true],
    [3, true],
    [4, true],
    [5, true],
  ] as const)
    it(`never overbooks, never opens a period twice, loses no acknowledged command (round ${round})`, async () => {
      const file = join(data.dir, `events-${round}.sqlite`);
      const one = SqliteEventStore.open({ file, pollIntervalMs: 20 });
      const two = SqliteEventStore.open({ file, pollIntervalMs: 20 });
      stores.push(one, two);
      const LOT = `RACE${round}`;
      const CAP = 25;
      /**
       * Appends of a close or an opening fail a third of the time, before or after writing, but never
       * more than twice in a row on one stream (whichever handler appends): a load that fails to close
       * an over-bound period SETTLE_ATTEMPTS (5) times decides in it anyway, the designed fallback for
       * a store that keeps failing closes, under which a period may outgrow the bound asserted below
       * (CI saw one of 10 events at a 0.3^5 chance).
       */
      const failedInARow = new Map<string, number>();
      const crashing = (inner: EventStore): EventStore => {
        if (!crashy) return inner;
        const store: EventStore = Object.create(inner);
        store.readStream = (id, o) => inner.readStream(id, o);
        store.appendToStream = async (id, toAppend, o) => {
          const books = toAppend.some((e) => e.type === "LotBooksClosed" || e.type === "LotPeriodOpened");
          const inARow = failedInARow.get(id) ?? 0;
          const roll = books && inARow < 2 ? Math.random() : 1;
          if (roll < 0.3) failedInARow.set(id, inARow + 1);
          else if (books) failedInARow.delete(id);
          if (roll < 0.15) throw new Error("died before");
          const result = await inner.appendToStream(id, toAppend, o);
          if (roll < 0.3) throw new Error("died after");
          return result;
        };
        return store;
      };
      const handlers = [crashing(one), crashing(two), crashing(one), two].map(
        (store) =>
          new ParkingLotCommandHandler(store, {
            retryLimit: 50,
            cacheSize: 10,
            periodEvents: 5,
            now: clock,
            maxBatch: 3,
          }),
      );
      const h0 = handlers[0] as ParkingLotCommandHandler;
      expect(
        (
          await h0.handle(
            {
              type: "RegisterParkingLot",
              parkingLotId: LOT,
              name: "race",
              capacity: CAP,
              maxActivePerCustomer: 100,
              now: NOW,
            },
            ctx("reg"),
          )
        ).ok,
      ).toBe(true);
      const acked = new Set<string>();
      const canceled = new Set<string>();
      const work: Promise<void>[] = [];
      const errors: string[] = [];
      for (let i = 0; i < 80; i++) {
        const h = handlers[i % handlers.length] as ParkingLotCommandHandler;
        work.push(
          (async () => {
            await sleep(Math.random() * 40);
            const id = `r${i}`;
            const reserve: ParkingLotCommand = {
              type: "ReserveParking",
              reservationId: id,
              parkingLotId: LOT,
              customerId: `C${i % 7}`,
              carNumber: "10더8612",
              amount: 5000,
              now: NOW,
            };
            const out = await h.handle(reserve, ctx(id)).catch((e: unknown) => ({ ok: false as const, e }));
            if (out.ok) acked.add(id);
            else
              errors.push(
                JSON.stringify(out, (_k, v) => (v instanceof Error ? `${v.name}: ${v.message}` : v)),
              );
            if (out.ok && i % 3 === 0) {
              await sleep(Math.random() * 20);
              const other = handlers[(i + 1) % handlers.length] as ParkingLotCommandHandler;
              const c = await other
                .handle(
                  { type: "CancelReservation", reservationId: id, parkingLotId: LOT, reason: "x", now: NOW },
                  ctx(`c${id}`),
                )
                .catch(() => ({ ok: false as const }));
              if (c.ok) canceled.add(id);
              // a retry of the booking after its cancel: answers as before, books nothing
              const again = await h.handle(reserve, ctx(`again-${id}`)).catch(() => undefined);
              if (again) expect(again.ok && again.events.length).toBe(0);
            }
          })(),
        );
      }
      await Promise.all(work);
      for (const h of handlers) await h.lotSettled(LOT);
      // A crash may have left a close without its opening: the command path's next load repairs it.
      await new ParkingLotCommandHandler(one, {
        retryLimit: 5,
        cacheSize: 10,
        periodEvents: 5,
        now: clock,
      }).currentState(LOT);

      // Streams: each period k ≥ 1 starts with exactly one opening; each closed one ends with its one close.
      const lotEvents: ParkingLotEvent[] = [];
      let period = 0;
      const lengths: string[] = [];
      for (;;) {
        const evs = await all(one, parkingLotStream(LOT, period));
        if (evs.length === 0) break;
        const types = evs.map((e) => e.type);
        lengths.push(`${types.length}${types.at(-1) === "LotBooksClosed" ? "c" : ""}`);
        if (period > 0) expect(types[0], `period ${period}`).toBe("LotPeriodOpened");
        expect(types.length, `period ${period}: ${lengths.join(" ")}`).toBeLessThanOrEqual(5 + 3 + 1);
        expect(types.filter((t) => t === "LotPeriodOpened").length, `period ${period}`).toBe(
          period > 0 ? 1 : 0,
        );
        expect(types.filter((t) => t === "LotBooksClosed").length, `period ${period}`).toBeLessThanOrEqual(1);
        for (const e of evs)
          if (
            PARKING_LOT_EVENT_TYPES.has(e.type) &&
            e.type !== "LotPeriodOpened" &&
            e.type !== "LotBooksClosed"
          )
            lotEvents.push(decodeEvent(e).event as ParkingLotEvent);
        period++;
      }
      console.log(
        `round ${round}: periods ${period}, acked ${acked.size}, canceled ${canceled.size}, errors ${errors.length}`,
        lengths.join(" "),
      );
      expect(period).toBeGreaterThan(2);
      const whole = fold(lotEvents);
      const fresh = await new ParkingLotCommandHandler(one, {
        retryLimit: 5,
        cacheSize: 10,
        periodEvents: 5,
        now: clock,
      }).stateOf(LOT);
      if (whole.kind !== "registered" || fresh.kind !== "registered") throw new Error("not registered");
      expect(whole.activeReservations).toBeLessThanOrEqual(CAP);
      expect(fresh.activeReservations).toBe(whole.activeReservations);
      const reserved = lotEvents.filter((e) => e.type === "ParkingReserved").map((e) => e.data.reservationId);
      expect(new Set(reserved).size).toBe(reserved.length);
      for (const id of acked) expect(reserved, id).toContain(id);
      for (const id of canceled) expect(whole.reservations.get(id)?.status, id).toBe("CANCELED");
      expect(whole.activeReservations).toBe(acked.size - canceled.size);
      void lotPeriodOfStream;
    });
});
