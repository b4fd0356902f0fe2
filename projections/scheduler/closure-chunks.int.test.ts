import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { SqliteEventStore } from "../../event-store/embedded/sqlite-event-store.js";
import { systemActor } from "../../schemas/actor.js";
import type { ParkingLotCommand } from "../../schemas/commands.js";
import { encodeEvent } from "../../schemas/event-codec.js";
import { type Child, exitOf, killChildren, startServiceChild } from "../../test-support/children.js";
import { readAllEvents } from "../../test-support/seed.js";
import { tempDataDir } from "../../test-support/service.js";
import { CLOSURE_CANCELS_PER_APPEND } from "../../write-side/parking-lot/closures.js";
import {
  decide,
  evolve,
  initialState,
  type ParkingLotEvent,
  type ParkingLotState,
  parkingLotStream,
} from "../../write-side/parking-lot/decider.js";

/**
 * Issue 66: a closure that cancels 10,000 bookings decides them in chunks (at most
 * CLOSURE_CANCELS_PER_APPEND a decision, the scheduler sending the next one after a yield), so no
 * one decision or append grows with the lot. The closure is decided as the service decides it; the
 * built service (`npm start`'s ROLE=all) cancels the rest, and is killed with SIGKILL midway: a new
 * one finishes, every booking the closure reaches canceled exactly once and no other touched.
 */
const LOT = "closing-lot";
const WINDOWS = 9_000; // overlapping the closure: canceled by it
const OPEN_ENDED = 1_000; // made before it: canceled once it has begun (at once: it is in force)
const AFTER = 300; // windows after it: untouched
const IN_LOT = 100; // open-ended, checked in: never canceled out of the lot
const HOUR = 3_600_000;
const T0 = Date.now() - 60_000;
const iso = (ms: number) => new Date(ms).toISOString();

interface Seeded {
  readonly events: ParkingLotEvent[];
  readonly reached: Set<string>;
  readonly untouched: Set<string>;
}

function history(): Seeded {
  let state: ParkingLotState = initialState;
  const events: ParkingLotEvent[] = [];
  const run = (command: ParkingLotCommand) => {
    const decision = decide(command, state);
    if (!decision.ok) throw new Error(`${command.type} refused: ${JSON.stringify(decision.rejection)}`);
    for (const event of decision.events) {
      state = evolve(state, event);
      events.push(event);
    }
  };
  const now = iso(T0 - 1_000);
  const reached = new Set<string>();
  const untouched = new Set<string>();
  run({ type: "RegisterParkingLot", parkingLotId: LOT, name: "큰 주차장", capacity: 20_000, now });
  // Each booking as the decider records it (deciding 10,000 one by one would take the test's time).
  const book = (i: number, window?: { startsAt: string; endsAt: string }) => {
    const reservationId = randomUUID();
    const data = { reservationId, parkingLotId: LOT, customerId: `C${i}`, carNumber: `P${i}`, amount: 1000 };
    const event: ParkingLotEvent = { type: "ParkingReserved", data: { ...data, reservedAt: now, ...window } };
    state = evolve(state, event);
    events.push(event);
    return reservationId;
  };
  for (let i = 0; i < WINDOWS; i++)
    reached.add(book(i, { startsAt: iso(T0 + HOUR + (i % 4) * 900_000), endsAt: iso(T0 + 2 * HOUR) }));
  for (let i = 0; i < OPEN_ENDED; i++) reached.add(book(WINDOWS + i));
  for (let i = 0; i < AFTER; i++)
    untouched.add(book(20_000 + i, { startsAt: iso(T0 + 7 * HOUR), endsAt: iso(T0 + 8 * HOUR) }));
  for (let i = 0; i < IN_LOT; i++) {
    const id = book(30_000 + i);
    run({ type: "CheckIn", reservationId: id, parkingLotId: LOT, now });
    untouched.add(id);
  }
  run({
    type: "CloseParkingLot",
    closureId: "flood",
    parkingLotId: LOT,
    from: iso(T0),
    until: iso(T0 + 6 * HOUR),
    reason: "flood",
    now: iso(T0),
  });
  return { events, reached, untouched };
}

async function seed(dir: string, events: ParkingLotEvent[]): Promise<void> {
  const store = SqliteEventStore.open({ file: join(dir, "events.sqlite") });
  try {
    const cause = { correlationId: randomUUID(), causationId: randomUUID(), actor: systemActor("seed") };
    await store.appendToStream(
      parkingLotStream(LOT),
      events.map((event) => encodeEvent(event, cause)),
      { expectedRevision: "no_stream" },
    );
  } finally {
    await store.close();
  }
}

/** Every cancellation in the log: reservation → [reason, canceledAt] of each. */
async function cancellations(dir: string): Promise<Map<string, { reason: string; at: string }[]>> {
  const store = SqliteEventStore.open({ file: join(dir, "events.sqlite") });
  try {
    const seen = new Map<string, { reason: string; at: string }[]>();
    for (const e of await readAllEvents(store)) {
      if (e.type !== "ReservationCanceled") continue;
      const d = e.data as { reservationId: string; reason: string; canceledAt: string };
      seen.set(d.reservationId, [
        ...(seen.get(d.reservationId) ?? []),
        { reason: d.reason, at: d.canceledAt },
      ]);
    }
    return seen;
  } finally {
    await store.close();
  }
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs: number, children: Child[]) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(100);
  }
  throw new Error(
    `timed out waiting for ${what}:\n${children.map((c) => c.output().slice(-3000)).join("\n---\n")}`,
  );
}

describe("a closure of 10,000 bookings cancels them in chunks that yield (the built service)", () => {
  const data = tempDataDir("parking-closure-chunks-");
  afterEach(async () => {
    await killChildren();
  });
  afterAll(() => data.remove());

  it("killed midway, a new process finishes: each reached booking canceled once, no other touched", async () => {
    const { events, reached, untouched } = history();
    // The closure's own decision holds one chunk, not the lot.
    const closing = events.slice(events.findIndex((e) => e.type === "ParkingLotClosed"));
    expect(closing.filter((e) => e.type === "ReservationCanceled").length).toBeLessThanOrEqual(
      CLOSURE_CANCELS_PER_APPEND,
    );
    await seed(data.dir, events);
    const env = { DATA_DIR: data.dir, EMBEDDED_POLL_INTERVAL_MS: "20" };
    const first = await startServiceChild(env);
    const total = reached.size;
    await until(
      "some cancellations past the first chunk, not all",
      async () => {
        const n = (await cancellations(data.dir)).size;
        return n > CLOSURE_CANCELS_PER_APPEND && n < total;
      },
      90_000,
      [first],
    );
    first.signal("SIGKILL");
    expect(await exitOf(first, 10_000)).toBe("SIGKILL");
    expect((await cancellations(data.dir)).size).toBeLessThan(total);

    const second = await startServiceChild(env);
    await until(
      "every reached booking canceled",
      async () => (await cancellations(data.dir)).size >= total,
      120_000,
      [second],
    );
    await sleep(2_500); // the scheduler keeps running: nothing may be canceled again
    const final = await cancellations(data.dir);
    expect([...reached].filter((id) => final.get(id)?.length !== 1)).toEqual([]);
    expect([...final.values()].every((c) => c.length === 1 && c[0]?.reason === "lot-closed")).toBe(true);
    expect([...untouched].filter((id) => final.has(id))).toEqual([]);
    expect(final.size).toBe(total);
    // Counted per decision (each chunk is stamped with the now it was decided at): none over the bound.
    const perDecision = new Map<string, number>();
    for (const [c] of final.values()) if (c) perDecision.set(c.at, (perDecision.get(c.at) ?? 0) + 1);
    expect(Math.max(...perDecision.values())).toBeLessThanOrEqual(CLOSURE_CANCELS_PER_APPEND);
    expect(perDecision.size).toBeGreaterThanOrEqual(Math.ceil(total / CLOSURE_CANCELS_PER_APPEND));
  }, 300_000);
});
