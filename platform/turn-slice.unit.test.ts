import { describe, expect, it } from "vitest";
import { CHUNK_ITEMS, mapInChunks, TURN_SLICE_MS, turnIsLong, yieldWhenLong } from "./turn-slice.js";

const spin = (ms: number) => {
  const until = performance.now() + ms;
  while (performance.now() < until);
};

describe("cooperative slices of the event loop", () => {
  it("lets a timer due meanwhile run inside a long chain of awaited calls, and not before the slice", async () => {
    let fired = 0;
    const timer = setTimeout(() => fired++, 0);
    // A read of 40 synchronous store calls of 1 ms each, awaited one after another.
    const firedAt: number[] = [];
    for (let i = 0; i < 40; i++) {
      await yieldWhenLong(10);
      spin(1);
      firedAt.push(fired);
    }
    clearTimeout(timer);
    // Without slices the timer would wait for all 40 (fired 0 throughout). With them it runs at the
    // second slice's end at the latest (a yield lands in the loop's check phase; timers come at the
    // next iteration's start): within about 20 calls. (A descheduled process only shortens slices.)
    const first = firedAt.indexOf(1);
    expect(first).toBeGreaterThan(0);
    expect(first).toBeLessThanOrEqual(25);
  });

  it("counts a turn from its first call: a new turn starts short", async () => {
    await new Promise((resolve) => setImmediate(resolve)); // the test before's turn ends
    expect(turnIsLong(10)).toBe(false);
    spin(12);
    expect(turnIsLong(10)).toBe(true);
    await new Promise((resolve) => setImmediate(resolve));
    expect(turnIsLong(10)).toBe(false);
  });

  it("maps in chunks: at most a chunk's items run between two turns of the loop, results in order", async () => {
    // The loop's turns, counted by an immediate that sets itself again each turn.
    let turn = 0;
    let ticking = true;
    const tick = () => {
      turn++;
      if (ticking) setImmediate(tick);
    };
    setImmediate(tick);
    const perTurn = new Map<number, number>();
    // 400 items of work after an awaited call each, as a lot read from the store, a chunk of them
    // always past the slice: the loop turns after every chunk.
    const perItemMs = (1.2 * TURN_SLICE_MS) / CHUNK_ITEMS;
    const results = await mapInChunks(
      Array.from({ length: 400 }, (_, i) => i),
      async (i) => {
        await yieldWhenLong();
        perTurn.set(turn, (perTurn.get(turn) ?? 0) + 1);
        spin(perItemMs);
        return i * 2;
      },
    );
    ticking = false;
    expect(results).toEqual(Array.from({ length: 400 }, (_, i) => i * 2));
    // One Promise.all over the 400 would run them all in one turn of the loop.
    expect(Math.max(...perTurn.values())).toBeLessThanOrEqual(CHUNK_ITEMS);
    expect(perTurn.size).toBeGreaterThanOrEqual(400 / CHUNK_ITEMS);
  });
});
