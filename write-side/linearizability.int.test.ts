import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { SqliteEventStore } from "../event-store/embedded/sqlite-event-store.js";
import type { EventStore } from "../event-store/port.js";
import type { ParkingLotCommand } from "../schemas/commands.js";
import { type Call, linearize, lotLog } from "../test-support/linearizability.js";
import { tempDataDir } from "../test-support/service.js";
import { type CommandContext, ParkingLotCommandHandler } from "./command-handler.js";
import {
  availableSpots,
  decide,
  evolve,
  initialState,
  type ParkingLotState,
  reservationStatus,
} from "./parking-lot/decider.js";

/*
 * Linearizability of the write side, hunted with generated inputs. A few lots; a handful of commands
 * on them sent concurrently by several writers (handlers on two connections to one store file, and
 * two handlers sharing a connection), some of whose appends fail before or after they commit.
 *
 * The oracle knows nothing of the runner: every acknowledged answer (accepted with its events, or
 * refused with its rejection) must be what the pure decider says for ONE sequential order of the
 * commands that respects real time (one answered before another was sent comes first), and the
 * lot's log must hold exactly the events of that order (a command whose call failed may be in it
 * or not). Per lot (a lot's stream is its own consistency boundary), a Wing & Gong search.
 *
 * LINEAR_RUNS=<n> for more runs.
 */

const NOW = "2026-11-22T11:00:00.000Z";
const T = Date.parse(NOW);
const at = (minutes: number) => new Date(T + minutes * 60_000).toISOString();
const RUNS = Number(process.env.LINEAR_RUNS ?? 12);

const data = tempDataDir("linearizability-");
const stores: SqliteEventStore[] = [];
afterAll(async () => {
  for (const s of stores) await s.close();
  data.remove();
});

/** The lots: one with a rate (drive-ups, priced windows), one without (the client's amount). */
const LOTS = [
  { suffix: "R", hourlyRate: 3000 },
  { suffix: "F", hourlyRate: undefined },
] as const;
const WINDOWS = [
  [at(60), at(180)],
  [at(120), at(240)],
  [at(300), at(360)],
] as const;
const CLOSURES = [
  [at(-30), at(90)], // in force now: begins in the same append
  [at(150), at(200)], // ahead: cancels the windows it overlaps
] as const;

type Op =
  | { kind: "reserve"; r: number; c: number; plate: number; window: number }
  | { kind: "cancel"; r: number; asCustomer: boolean }
  | { kind: "checkIn"; r: number }
  | { kind: "checkOut"; r: number }
  | { kind: "close"; closure: number; id: number }
  | { kind: "capacity"; capacity: number }
  | { kind: "driveUp"; read: number }
  | { kind: "beginClosure"; id: number }
  | { kind: "noShow"; r: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant("reserve" as const),
      r: fc.integer({ min: 0, max: 4 }),
      c: fc.integer({ min: 0, max: 1 }),
      plate: fc.integer({ min: 0, max: 1 }),
      window: fc.integer({ min: -1, max: 2 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("cancel" as const),
      r: fc.integer({ min: 0, max: 4 }),
      asCustomer: fc.boolean(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("checkIn" as const), r: fc.integer({ min: 0, max: 4 }) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("checkOut" as const), r: fc.integer({ min: 0, max: 4 }) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("close" as const),
      closure: fc.integer({ min: 0, max: 1 }),
      id: fc.integer({ min: 0, max: 1 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("capacity" as const),
      capacity: fc.integer({ min: 1, max: 3 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("driveUp" as const), read: fc.integer({ min: 0, max: 1 }) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("beginClosure" as const), id: fc.integer({ min: 0, max: 1 }) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("noShow" as const), r: fc.integer({ min: 0, max: 4 }) }),
  },
);

const customer = (c: number) => `C${c}`;

function commandOf(op: Op, lot: string, hourlyRate: number | undefined): ParkingLotCommand {
  const base = { parkingLotId: lot, now: NOW };
  const rid = (r: number) => `${lot}-r${r}`;
  switch (op.kind) {
    case "reserve": {
      const window = WINDOWS[op.window];
      return {
        type: "ReserveParking",
        ...base,
        reservationId: rid(op.r),
        customerId: customer(op.c),
        carNumber: op.plate === 0 ? "10더8612" : "12가3456",
        ...(hourlyRate === undefined ? { amount: 5000 } : {}),
        ...(window ? { startsAt: window[0], endsAt: window[1] } : {}),
      };
    }
    case "cancel":
      return {
        type: "CancelReservation",
        ...base,
        reservationId: rid(op.r),
        reason: "changed plans",
        // The booking's customer is r's own in most scripts: r % 2 is a guess that is wrong at times.
        ...(op.asCustomer ? { requestedBy: customer(op.r % 2) } : {}),
      };
    case "checkIn":
      return { type: "CheckIn", ...base, reservationId: rid(op.r) };
    case "checkOut":
      return { type: "CheckOut", ...base, reservationId: rid(op.r) };
    case "close": {
      const [from, until] = CLOSURES[op.closure] as readonly [string, string];
      return {
        type: "CloseParkingLot",
        ...base,
        closureId: `${lot}-k${op.id}`,
        from,
        until,
        reason: "works",
      };
    }
    case "capacity":
      return { type: "ChangeCapacity", ...base, capacity: op.capacity };
    case "driveUp":
      return {
        type: "AdmitDriveUp",
        ...base,
        reservationId: `du-${lot}-${op.read}`,
        carNumber: "33나4444",
        gateId: "g1",
      };
    case "beginClosure":
      return { type: "BeginClosure", ...base, closureId: `${lot}-k${op.id}` };
    case "noShow":
      return { type: "RecordNoShow", ...base, reservationId: rid(op.r) };
  }
}

/** One command as sent: which lot, which writer, when, and whether it is a retry of an earlier one. */
const sentArb = fc.record({
  lot: fc.integer({ min: 0, max: LOTS.length - 1 }),
  writer: fc.integer({ min: 0, max: 2 }),
  delay: fc.integer({ min: 0, max: 6 }),
  op: opArb,
  /** Sent again (same command, same command id) after its first answer or failure. */
  retry: fc.boolean(),
});

/**
 * A store whose lot appends fail as `faults` says, in turn: before writing, after it committed, or
 * after it committed and the writer stood still a while (stopped mid-batch: the lane's later
 * commands wait behind it, the other writers go on) before dying.
 */
function faulty(inner: EventStore, faults: ("none" | "before" | "after" | "stall")[]): EventStore {
  const store: EventStore = Object.create(inner);
  let next = 0;
  store.readStream = (id, o) => inner.readStream(id, o);
  store.appendToStream = async (id, toAppend, o) => {
    const fault = id.startsWith("parkingLot-")
      ? (faults[next++ % Math.max(1, faults.length)] ?? "none")
      : "none";
    if (fault === "before") throw new Error("injected: died before the append");
    const result = await inner.appendToStream(id, toAppend, o);
    if (fault === "after") throw new Error("injected: died after the append committed");
    if (fault === "stall") {
      await sleep(25);
      throw new Error("injected: stopped after the append committed, then died");
    }
    return result;
  };
  return store;
}

const ctx = (label: string): CommandContext => ({
  correlationId: `corr-${label}`,
  commandId: `cmd-${label}`,
  actor: { sub: "ops-test", role: "operator" },
});

let round = 0;

describe("linearizability of the write side (fast-check, several writers on one store file)", () => {
  it("explains every answer and the log by one real-time order of the decider", {
    timeout: 600_000,
  }, async () => {
    const file = join(data.dir, "events.sqlite");
    const one = SqliteEventStore.open({ file, pollIntervalMs: 20 });
    const two = SqliteEventStore.open({ file, pollIntervalMs: 20 });
    stores.push(one, two);
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 2 }), { minLength: LOTS.length, maxLength: LOTS.length }),
        fc.array(
          fc.record({
            r: fc.integer({ min: 0, max: 4 }),
            c: fc.integer({ min: 0, max: 1 }),
            window: fc.integer({ min: -1, max: 2 }),
          }),
          { maxLength: 2 },
        ),
        fc.array(sentArb, { minLength: 2, maxLength: 7 }),
        fc.array(
          fc.constantFrom(
            "none" as const,
            "none" as const,
            "none" as const,
            "before" as const,
            "after" as const,
            "stall" as const,
          ),
          { maxLength: 6 },
        ),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 2, max: 6 }),
        async (capacities, setup, sent, faults, maxBatch, periodEvents) => {
          const id = round++;
          // Periods open at the commands' clock: within the idempotency window, nothing is forgotten.
          const options = { retryLimit: 50, cacheSize: 10, maxBatch, periodEvents, now: () => T };
          const handlers = [
            new ParkingLotCommandHandler(faulty(one, faults), options),
            new ParkingLotCommandHandler(two, options),
            new ParkingLotCommandHandler(faulty(one, [...faults].reverse()), options),
          ];
          const h0 = handlers[0] as ParkingLotCommandHandler;
          const setupHandler = new ParkingLotCommandHandler(two, options);
          // Before the race: each lot registered, and a booking or two, sent one by one.
          const starts = new Map<string, ParkingLotState>();
          const setupLength = new Map<string, number>();
          for (const [i, spec] of LOTS.entries()) {
            const lot = `L${id}${spec.suffix}`;
            let state: ParkingLotState = initialState;
            let length = 0;
            const commands: ParkingLotCommand[] = [
              {
                type: "RegisterParkingLot",
                parkingLotId: lot,
                name: `Lot ${lot}`,
                capacity: (capacities[i] ?? 0) + 1,
                maxActivePerCustomer: 2,
                ...(spec.hourlyRate !== undefined ? { hourlyRate: spec.hourlyRate } : {}),
                now: NOW,
              },
              ...setup.map((s) =>
                commandOf(
                  { kind: "reserve", r: s.r, c: s.c, plate: 0, window: s.window },
                  lot,
                  spec.hourlyRate,
                ),
              ),
            ];
            for (const [k, command] of commands.entries()) {
              await setupHandler.handle(command, ctx(`${lot}-setup-${k}`));
              const decision = decide(command, state);
              if (decision.ok) state = decision.events.reduce<ParkingLotState>(evolve, state);
              if (decision.ok) length += decision.events.length;
            }
            await setupHandler.lotSettled(lot);
            starts.set(lot, state);
            setupLength.set(lot, length);
          }

          let clock = 0;
          const calls: Call[] = [];
          const send = async (
            handler: ParkingLotCommandHandler,
            lot: string,
            command: ParkingLotCommand,
            label: string,
          ) => {
            const call: Call = { lot, command, label, inv: clock++, res: Number.POSITIVE_INFINITY };
            calls.push(call);
            try {
              call.outcome = await handler.handle(command, ctx(label));
              call.res = clock++;
            } catch (error) {
              call.error = error; // unacknowledged: it may have happened or not (res stays ∞)
            }
          };
          await Promise.all(
            sent.map(async (s, i) => {
              const spec = LOTS[s.lot] as (typeof LOTS)[number];
              const lot = `L${id}${spec.suffix}`;
              const command = commandOf(s.op, lot, spec.hourlyRate);
              const handler = handlers[s.writer] as ParkingLotCommandHandler;
              await sleep(s.delay);
              await send(handler, lot, command, `${i}`);
              if (s.retry)
                await send(
                  handlers[(s.writer + 1) % handlers.length] as ParkingLotCommandHandler,
                  lot,
                  command,
                  `${i}`,
                );
            }),
          );
          for (const h of [...handlers, setupHandler])
            for (const lot of starts.keys()) await h.lotSettled(lot);
          void h0;

          for (const [lot, start] of starts) {
            const log = await lotLog(one, lot);
            const after = log.slice(setupLength.get(lot) ?? 0);
            const lotCalls = calls.filter((c) => c.lot === lot);
            const order = linearize(start, lotCalls, after);
            const describeCalls = () =>
              lotCalls
                .map(
                  (c) =>
                    `${c.label} [${c.inv},${c.res}] ${JSON.stringify(c.command)} -> ${
                      c.outcome
                        ? c.outcome.ok
                          ? `ok ${c.outcome.events.map((e) => e.type).join(",")}`
                          : `refused ${JSON.stringify(c.outcome.rejection)}`
                        : `failed ${String(c.error)}`
                    }`,
                )
                .join("\n");
            expect(
              order,
              `${lot}: no order explains\n${describeCalls()}\nlog: ${after.map((e) => e.type).join(",")}`,
            ).toBeDefined();
            // What a fresh handler loads is what the log folds to; the lot is never overbooked.
            const folded = log.reduce<ParkingLotState>(evolve, initialState);
            const loaded = await new ParkingLotCommandHandler(one, options).stateOf(lot);
            if (folded.kind !== "registered" || loaded.kind !== "registered")
              throw new Error("not registered");
            expect(availableSpots(folded, T)).toBeGreaterThanOrEqual(0);
            expect(loaded.capacity).toBe(folded.capacity);
            const ids = log.flatMap((e) => (e.type === "ParkingReserved" ? [e.data.reservationId] : []));
            for (const r of ids) {
              const status = reservationStatus(folded, r, T);
              // A loaded lot may leave ended reservations out (its opening's window): only those.
              const left = loaded.reservations.has(r)
                ? status
                : ["CANCELED", "COMPLETED", "NO_SHOW"].includes(status ?? "")
                  ? status
                  : "still held";
              expect(reservationStatus(loaded, r, T) ?? left, r).toBe(status);
            }
          }
        },
      ),
      { numRuns: RUNS },
    );
  });
});
