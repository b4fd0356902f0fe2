import type { EventStore } from "../event-store/port.js";
import type { ParkingLotCommand } from "../schemas/commands.js";
import { decodeEvent } from "../schemas/event-codec.js";
import type { CommandOutcome } from "../write-side/command-handler.js";
import {
  decide,
  evolve,
  PARKING_LOT_EVENT_TYPES,
  type ParkingLotEvent,
  type ParkingLotState,
} from "../write-side/parking-lot/decider.js";
import { parkingLotStream } from "../write-side/parking-lot/periods.js";

/*
 * The linearizability oracle of write-side/linearizability.int.test.ts, written apart from the
 * runner: calls with their real-time intervals, and a Wing & Gong search for one sequential order
 * of the pure decider that explains every acknowledged answer and the lot's log.
 */

/** What happened to one call: sent at `inv`, answered (or failed) at `res`. */
export interface Call {
  readonly lot: string;
  readonly command: ParkingLotCommand;
  readonly label: string;
  readonly inv: number;
  res: number;
  outcome?: CommandOutcome;
  error?: unknown;
}

type Observed =
  | { readonly ok: true; readonly events: readonly { readonly type: string }[] }
  | { readonly ok: false; readonly rejection: unknown };

const plain = (x: unknown): unknown => JSON.parse(JSON.stringify(x));
const sameJson = (a: unknown, b: unknown) => JSON.stringify(plain(a)) === JSON.stringify(plain(b));

/**
 * A sequential order of the calls that explains them all, or undefined. `start`: the lot's state
 * before the concurrent calls; `log`: the lot's events after them, as its streams hold them.
 */
export function linearize(
  start: ParkingLotState,
  calls: readonly Call[],
  log: readonly ParkingLotEvent[],
): string[] | undefined {
  const acked = calls.filter((c) => c.outcome !== undefined);
  const placed = new Set<number>();
  const order: string[] = [];
  const logJson = log.map((e) => JSON.stringify(plain(e)));
  const search = (state: ParkingLotState, appended: number): boolean => {
    if (acked.every((c) => placed.has(calls.indexOf(c))) && appended === log.length) return true;
    // A call may go next if no unplaced acknowledged call was answered before it was sent.
    const earliestAnswer = Math.min(
      ...calls.filter((c, i) => !placed.has(i) && c.outcome !== undefined).map((c) => c.res),
    );
    for (let i = 0; i < calls.length; i++) {
      if (placed.has(i)) continue;
      const call = calls[i] as Call;
      if (call.inv > earliestAnswer) continue;
      const decision = decide(call.command, state);
      const observed: Observed | undefined = call.outcome
        ? call.outcome.ok
          ? { ok: true, events: call.outcome.events }
          : { ok: false, rejection: call.outcome.rejection }
        : undefined;
      if (observed) {
        if (observed.ok !== decision.ok) continue;
        if (observed.ok && decision.ok && !sameJson(observed.events, decision.events)) continue;
        if (!observed.ok && !decision.ok && !sameJson(observed.rejection, decision.rejection)) continue;
      }
      const events = decision.ok ? decision.events : [];
      if (appended + events.length > log.length) continue;
      if (!events.every((e, k) => JSON.stringify(plain(e)) === logJson[appended + k])) continue;
      placed.add(i);
      order.push(call.label);
      if (search(events.reduce<ParkingLotState>(evolve, state), appended + events.length)) return true;
      placed.delete(i);
      order.pop();
    }
    return false;
  };
  return search(start, 0) ? order : undefined;
}

/** The lot's own facts over all its periods, in order (a period's close and opening left out). */
export async function lotLog(store: EventStore, lot: string): Promise<ParkingLotEvent[]> {
  const out: ParkingLotEvent[] = [];
  for (let period = 0; ; period++) {
    let n = 0;
    for await (const e of store.readStream(parkingLotStream(lot, period))) {
      n++;
      if (!PARKING_LOT_EVENT_TYPES.has(e.type) || e.type === "LotBooksClosed" || e.type === "LotPeriodOpened")
        continue;
      out.push(decodeEvent(e).event as ParkingLotEvent);
    }
    if (n === 0) return out;
  }
}
