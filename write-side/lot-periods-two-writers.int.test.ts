import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { SqliteEventStore } from "../event-store/embedded/sqlite-event-store.js";
import type { EventStore } from "../event-store/port.js";
import { lotCommands } from "../test-support/lot-commands.js";
import { tempDataDir } from "../test-support/service.js";
import { ParkingLotCommandHandler } from "./command-handler.js";
import { parkingLotStream } from "./parking-lot/periods.js";

/*
 * "A period holds at most LOT_PERIOD_EVENTS facts" (docs/domain.md, "Periods": a bound on
 * size caps every fold). Two writers of one lot (two processes, or the command side and the
 * scheduler of one) taking turns: each one's close, run after its answer, loses to the other's next
 * command, so the period is never closed while both keep writing.
 */

const NOW = "2026-11-22T11:00:00.000Z";
const BOUND = 5;
const data = tempDataDir("lot-periods-two-writers-");
const stores: SqliteEventStore[] = [];
afterAll(async () => {
  for (const s of stores) await s.close();
  data.remove();
});
const { context, register, reserve } = lotCommands(NOW);

async function lengths(store: EventStore, lot: string): Promise<number[]> {
  const out: number[] = [];
  for (let period = 0; ; period++) {
    let n = 0;
    for await (const _ of store.readStream(parkingLotStream(lot, period))) n++;
    if (n === 0) return out;
    out.push(n);
  }
}

describe("the period bound under two writers", () => {
  it("keeps every period within the bound (plus one batch and the close) while two writers take turns", async () => {
    const file = join(data.dir, "events.sqlite");
    const one = SqliteEventStore.open({ file, pollIntervalMs: 20 });
    const two = SqliteEventStore.open({ file, pollIntervalMs: 20 });
    stores.push(one, two);
    const options = { retryLimit: 20, cacheSize: 10, periodEvents: BOUND, maxBatch: 1 };
    const a = new ParkingLotCommandHandler(one, options);
    const b = new ParkingLotCommandHandler(two, options);
    expect((await a.handle(register("T"), context("register"))).ok).toBe(true);
    // Two writers, each sending its next command as soon as its last one is answered.
    const writer = async (h: ParkingLotCommandHandler, name: string) => {
      for (let i = 0; i < 30; i++) {
        const outcome = await h.handle(reserve("T", `${name}${i}`), context(`${name}${i}`));
        expect(outcome.ok).toBe(true);
      }
    };
    await Promise.all([writer(a, "a"), writer(b, "b")]);
    await a.lotSettled("T");
    await b.lotSettled("T");
    const periods = await lengths(one, "T");
    // Each period: at most BOUND events, one more a batch may add past it (maxBatch 1), and the close.
    expect(Math.max(...periods), `events per period: ${periods.join(" ")}`).toBeLessThanOrEqual(BOUND + 2);
  });
});
