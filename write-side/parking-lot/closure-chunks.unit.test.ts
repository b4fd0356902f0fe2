import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { ParkingLotCommand } from "../../schemas/commands.js";
import { CLOSURE_CANCELS_PER_APPEND } from "./closures.js";
import { decide, evolve, initialState, type ParkingLotEvent, type ParkingLotState } from "./decider.js";

/** Issue 66: a closure's cancellations are decided in chunks, each decided again appending nothing twice. */
const LOT = "L";
const HOUR = 3_600_000;
const T0 = Date.parse("2026-11-28T10:00:00.000Z");
const iso = (ms: number) => new Date(ms).toISOString();

function lotWith(windows: number, openEnded: number): { state: ParkingLotState; ids: string[] } {
  let state: ParkingLotState = initialState;
  const apply = (events: readonly ParkingLotEvent[]) => {
    for (const e of events) state = evolve(state, e);
  };
  const registered = decide(
    { type: "RegisterParkingLot", parkingLotId: LOT, name: "L", capacity: 5_000, now: iso(T0) },
    state,
  );
  if (!registered.ok) throw new Error("not registered");
  apply(registered.events);
  const ids: string[] = [];
  for (let i = 0; i < windows + openEnded; i++) {
    const reservationId = randomUUID();
    const window = i < windows ? { startsAt: iso(T0 + HOUR), endsAt: iso(T0 + 2 * HOUR) } : {};
    const data = { reservationId, parkingLotId: LOT, customerId: `C${i}`, carNumber: `P${i}`, amount: 1000 };
    apply([{ type: "ParkingReserved", data: { ...data, reservedAt: iso(T0), ...window } }]);
    ids.push(reservationId);
  }
  return { state, ids };
}

const canceledIn = (events: readonly ParkingLotEvent[]) =>
  events.flatMap((e) => (e.type === "ReservationCanceled" ? [e.data.reservationId] : []));

describe("a closure's cancellations in chunks", () => {
  it("decides at most a chunk per decision; CancelForClosure finishes them, each once, then appends nothing", () => {
    let { state, ids } = lotWith(1_200, 300);
    const run = (command: ParkingLotCommand) => {
      const decision = decide(command, state);
      if (!decision.ok) throw new Error(JSON.stringify(decision.rejection));
      for (const e of decision.events) state = evolve(state, e);
      return decision.events;
    };
    const closing = run({
      type: "CloseParkingLot",
      closureId: "c",
      parkingLotId: LOT,
      from: iso(T0),
      until: iso(T0 + 3 * HOUR),
      reason: "flood",
      now: iso(T0),
    });
    expect(closing.map((e) => e.type)).toContain("ParkingLotClosureBegan");
    const canceled = canceledIn(closing);
    expect(canceled).toHaveLength(CLOSURE_CANCELS_PER_APPEND);
    let chunks = 1;
    for (;;) {
      const chunk = canceledIn(
        run({ type: "CancelForClosure", closureId: "c", parkingLotId: LOT, now: iso(T0 + chunks) }),
      );
      if (chunk.length === 0) break;
      expect(chunk.length).toBeLessThanOrEqual(CLOSURE_CANCELS_PER_APPEND);
      canceled.push(...chunk);
      chunks++;
    }
    expect(chunks).toBe(3);
    expect(new Set(canceled).size).toBe(canceled.length);
    expect([...canceled].sort()).toEqual([...ids].sort());
  });

  it("an unknown closure is refused, a closure ahead cancels its windows but no open-ended booking yet", () => {
    let { state } = lotWith(600, 10);
    const unknown = decide(
      { type: "CancelForClosure", closureId: "x", parkingLotId: LOT, now: iso(T0) },
      state,
    );
    expect(unknown.ok).toBe(false);
    const close = decide(
      {
        type: "CloseParkingLot",
        closureId: "c",
        parkingLotId: LOT,
        from: iso(T0 + HOUR / 2),
        until: iso(T0 + 3 * HOUR),
        reason: "r",
        now: iso(T0),
      },
      state,
    );
    if (!close.ok) throw new Error("refused");
    for (const e of close.events) state = evolve(state, e);
    const rest = decide({ type: "CancelForClosure", closureId: "c", parkingLotId: LOT, now: iso(T0) }, state);
    if (!rest.ok) throw new Error("refused");
    expect(canceledIn(close.events).length + canceledIn(rest.events).length).toBe(600);
  });
});
