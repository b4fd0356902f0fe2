import { join } from "node:path";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { SqliteEventStore } from "../event-store/embedded/sqlite-event-store.js";
import type { RecordedEvent } from "../event-store/port.js";
import { formatPosition } from "../event-store/position.js";
import type { ParkingLotCommand } from "../schemas/commands.js";
import { tempDataDir } from "../test-support/service.js";
import { type CommandOutcome, ParkingLotCommandHandler } from "./command-handler.js";
import {
  decide,
  evolve,
  initialState,
  type ParkingLotEvent,
  type ParkingLotState,
} from "./parking-lot/decider.js";

const NOW = "2026-11-22T11:00:00.000Z";
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function openStores(count: number): SqliteEventStore[] {
  const data = tempDataDir("command-handler-");
  const file = join(data.dir, "events.sqlite");
  // Several connections on one file: the same contention as several command-api processes.
  const stores = Array.from({ length: count }, () => SqliteEventStore.open({ file, pollIntervalMs: 20 }));
  cleanups.push(data.remove, async () => {
    for (const store of stores) await store.close();
  });
  return stores;
}

async function collect(iterable: AsyncIterable<RecordedEvent>): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = [];
  for await (const e of iterable) out.push(e);
  return out;
}

const context = (i: number | string) => ({
  correlationId: `corr-${i}`,
  commandId: `cmd-${i}`,
  actor: { sub: "ops-test", role: "operator" } as const,
});
const register = (lot: string, capacity: number): ParkingLotCommand => ({
  type: "RegisterParkingLot",
  parkingLotId: lot,
  name: `Lot ${lot}`,
  capacity,
  now: NOW,
});
const reserve = (lot: string, reservationId: string, customer = reservationId): ParkingLotCommand => ({
  type: "ReserveParking",
  reservationId,
  parkingLotId: lot,
  customerId: customer,
  carNumber: "10더8612",
  amount: 5000,
  now: NOW,
});
const cancel = (lot: string, reservationId: string): ParkingLotCommand => ({
  type: "CancelReservation",
  reservationId,
  parkingLotId: lot,
  reason: "changed plans",
  now: NOW,
});

/** What a command's answer says, without the position (compared separately). */
const verdict = (o: CommandOutcome) =>
  o.ok ? { ok: true, events: o.events.map((e) => e.type) } : { ok: false, code: o.rejection.code };

describe("ParkingLotCommandHandler: a lot's waiting commands decided together, one append per batch", () => {
  it("a race on one lot through two handlers on one store file: never overbooked, every 201 in the stream at its answered position", async () => {
    const [a, b] = openStores(2) as [SqliteEventStore, SqliteEventStore];
    const batches: number[] = [];
    const conflicts: string[] = [];
    const hooks = { onBatch: (n: number) => batches.push(n), onConflict: (c: string) => conflicts.push(c) };
    const handlers = [
      new ParkingLotCommandHandler(a, { retryLimit: 50, cacheSize: 10, hooks }),
      new ParkingLotCommandHandler(b, { retryLimit: 50, cacheSize: 10, hooks }),
    ];
    const capacity = 60;
    const registered = await handlers[0]?.handle(register("rush", capacity), context("reg"));
    expect(registered?.ok).toBe(true);

    const outcomes = await Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        (handlers[i % 2] as ParkingLotCommandHandler)
          .handle(reserve("rush", `R${i}`), context(i))
          .then((outcome) => ({ i, outcome })),
      ),
    );

    const accepted = outcomes.filter((o) => o.outcome.ok);
    expect(accepted).toHaveLength(capacity);
    for (const { outcome } of outcomes.filter((o) => !o.outcome.ok))
      expect(outcome.ok ? "" : outcome.rejection.code).toBe("LotFull");
    // Commands were decided in batches, not one append each.
    expect(Math.max(...batches)).toBeGreaterThan(1);

    const stream = await collect(a.readStream("parkingLot-rush"));
    const reserved = stream.filter((e) => e.type === "ParkingReserved");
    expect(reserved).toHaveLength(capacity);
    const byReservation = new Map(
      reserved.map((e) => [(e.data as { reservationId: string }).reservationId, e]),
    );
    for (const { i, outcome } of accepted) {
      const event = byReservation.get(`R${i}`);
      expect(event, `R${i}`).toBeDefined();
      // Each command gets its own event's position, and its own correlation and causation.
      expect(outcome.ok && outcome.position && formatPosition(outcome.position)).toBe(
        event && formatPosition(event.position),
      );
      expect(event?.metadata).toMatchObject({ correlationId: `corr-${i}`, causationId: `cmd-${i}` });
    }
  });

  it("answers each command of a batch as deciding them one by one would (fast-check)", async () => {
    const [store] = openStores(1) as [SqliteEventStore];
    let run = 0;
    const command = fc.oneof(
      fc.record({ kind: fc.constant("reserve" as const), id: fc.integer({ min: 0, max: 7 }) }),
      fc.record({ kind: fc.constant("cancel" as const), id: fc.integer({ min: 0, max: 7 }) }),
      fc.record({ kind: fc.constant("register" as const), capacity: fc.integer({ min: 1, max: 4 }) }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.array(command, { maxLength: 25 }),
        fc.integer({ min: 1, max: 6 }),
        async (capacity, script, maxBatch) => {
          const lot = `lot-${run++}`;
          const handler = new ParkingLotCommandHandler(store, { retryLimit: 5, cacheSize: 10, maxBatch });
          const commands: ParkingLotCommand[] = [
            register(lot, capacity),
            ...script.map((c) =>
              c.kind === "register"
                ? register(lot, c.capacity)
                : c.kind === "reserve"
                  ? reserve(lot, `${lot}-r${c.id}`, `C${c.id}`)
                  : cancel(lot, `${lot}-r${c.id}`),
            ),
          ];
          // All sent at once: they queue and are decided in batches of up to maxBatch.
          const outcomes = await Promise.all(
            commands.map((c, i) => handler.handle(c, context(`${lot}-${i}`))),
          );

          let state: ParkingLotState = initialState;
          const expected = commands.map((c) => {
            const decision = decide(c, state);
            if (decision.ok) state = decision.events.reduce<ParkingLotState>(evolve, state);
            return decision.ok
              ? { ok: true, events: decision.events.map((e: ParkingLotEvent) => e.type) }
              : { ok: false, code: decision.rejection.code };
          });
          expect(outcomes.map(verdict)).toEqual(expected);
          const last = outcomes.at(-1);
          if (last?.ok) expect(last.state).toEqual(state);

          // The stream holds exactly the accepted events, in order, and each answered position is
          // that of the command's last event (or, for a no-op, of the lot's last event before it).
          const stream = await collect(store.readStream(`parkingLot-${lot}`));
          expect(stream.map((e) => e.type)).toEqual(expected.flatMap((e) => e.events ?? []));
          let seen = -1;
          outcomes.forEach((o, i) => {
            if (!o.ok) return;
            seen += o.events.length;
            const atEvent = stream[seen];
            expect(o.position && formatPosition(o.position), `command ${i}`).toBe(
              atEvent ? formatPosition(atEvent.position) : undefined,
            );
          });
        },
      ),
      { numRuns: 40 },
    );
  });
});
