/**
 * Issue 66: a closure that cancels 10,000 bookings, as the service decides it (the lot's command
 * handler over the embedded event store, in a file): the event loop's max delay (perf_hooks) and
 * the CPU of the closure's command, then of the chunks that follow it (CancelForClosure, as the
 * scheduler sends them, a yield between), with the events each decision appended.
 *
 *   nice -n 10 npx tsx bench/closure-chunks.ts
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { SqliteEventStore } from "../event-store/embedded/sqlite-event-store.js";
import { systemActor } from "../schemas/actor.js";
import type { ParkingLotCommand } from "../schemas/commands.js";
import { encodeEvent } from "../schemas/event-codec.js";
import { ParkingLotCommandHandler } from "../write-side/command-handler.js";
import type { ParkingLotEvent } from "../write-side/parking-lot/decider.js";
import { parkingLotStream } from "../write-side/parking-lot/periods.js";

const LOT = "L";
const BOOKINGS = 10_000;
const HOUR = 3_600_000;
const now = Date.now();
const iso = (ms: number) => new Date(ms).toISOString();
const actor = systemActor("bench");

const dir = mkdtempSync(join(tmpdir(), "closure-bench-"));
try {
  const store = SqliteEventStore.open({ file: join(dir, "events.sqlite") });
  const events: ParkingLotEvent[] = [
    {
      type: "ParkingLotRegistered",
      data: { parkingLotId: LOT, name: LOT, capacity: 20_000, registeredAt: iso(now - HOUR) },
    },
  ];
  for (let i = 0; i < BOOKINGS; i++) {
    const window = i % 2 === 0 ? { startsAt: iso(now + HOUR), endsAt: iso(now + 2 * HOUR) } : {};
    const data = {
      reservationId: randomUUID(),
      parkingLotId: LOT,
      customerId: `C${i}`,
      carNumber: `P${i}`,
      amount: 1000,
    };
    events.push({ type: "ParkingReserved", data: { ...data, reservedAt: iso(now - HOUR), ...window } });
  }
  const cause = { correlationId: randomUUID(), causationId: randomUUID(), actor };
  await store.appendToStream(
    parkingLotStream(LOT),
    events.map((e) => encodeEvent(e, cause)),
    { expectedRevision: "no_stream" },
  );
  const handler = new ParkingLotCommandHandler(store, { retryLimit: 3, cacheSize: 8 });
  const context = () => ({ correlationId: randomUUID(), commandId: randomUUID(), actor });
  // The lot loaded once, as a running service has it.
  await handler.handle(
    { type: "ChangeCapacity", parkingLotId: LOT, capacity: 20_001, now: iso(Date.now()) },
    context(),
  );
  const run = async (command: ParkingLotCommand) => {
    const delay = monitorEventLoopDelay({ resolution: 1 });
    delay.enable();
    const before = process.cpuUsage();
    const outcome = await handler.handle(command, context());
    const used = process.cpuUsage(before);
    await new Promise((resolve) => setImmediate(resolve));
    delay.disable();
    const appended = outcome.ok ? outcome.events.length : 0;
    return { cpuMs: (used.user + used.system) / 1000, maxDelayMs: delay.max / 1e6, appended };
  };
  const close = await run({
    type: "CloseParkingLot",
    closureId: "flood",
    parkingLotId: LOT,
    from: iso(Date.now()),
    until: iso(now + 6 * HOUR),
    reason: "flood",
    now: iso(Date.now()),
  });
  console.log(
    `close: ${close.appended} events, ${close.cpuMs.toFixed(0)} ms CPU, loop max delay ${close.maxDelayMs.toFixed(0)} ms`,
  );
  const chunks = [];
  for (let i = 0; i < 100; i++) {
    const chunk = await run({
      type: "CancelForClosure",
      closureId: "flood",
      parkingLotId: LOT,
      now: iso(Date.now()),
    } as ParkingLotCommand);
    if (chunk.appended === 0) break;
    chunks.push(chunk);
  }
  if (chunks.length > 0)
    console.log(
      `then ${chunks.length} chunks, at most ${Math.max(...chunks.map((c) => c.appended))} events each, ` +
        `at most ${Math.max(...chunks.map((c) => c.cpuMs)).toFixed(0)} ms CPU, ` +
        `loop max delay ${Math.max(...chunks.map((c) => c.maxDelayMs)).toFixed(0)} ms`,
    );
  await store.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
