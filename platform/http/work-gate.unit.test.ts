import { describe, expect, it } from "vitest";
import { WorkGate } from "./work-gate.js";

const live = () => new AbortController();

describe("WorkGate: a bounded number computed at once, a bounded queue, nothing computed for who left", () => {
  it("admits up to its concurrency, queues up to its queue, refuses the rest at once", async () => {
    const gate = new WorkGate("timeline", { concurrency: 2, queue: 1, maxWaitMs: 10_000 });
    const a = await gate.admit(live().signal);
    const b = await gate.admit(live().signal);
    expect("release" in a && "release" in b).toBe(true);
    const queued = gate.admit(live().signal);
    expect(gate.queued).toBe(1);
    expect(await gate.admit(live().signal)).toEqual({ refused: "full" });
    if ("release" in a) a.release();
    const third = await queued;
    expect("release" in third).toBe(true);
    expect(gate.inFlight).toBe(2);
    expect(gate.queued).toBe(0);
  });

  it("a queued request whose client leaves is dropped and never admitted; the next one is", async () => {
    const gate = new WorkGate("history", { concurrency: 1, queue: 5, maxWaitMs: 10_000 });
    const running = await gate.admit(live().signal);
    const leaving = live();
    const left = gate.admit(leaving.signal);
    const staying = gate.admit(live().signal);
    leaving.abort();
    expect(await left).toEqual({ refused: "left" });
    expect(gate.queued).toBe(1);
    if ("release" in running) running.release();
    expect("release" in (await staying)).toBe(true);
    expect(gate.inFlight).toBe(1);
  });

  it("a request already abandoned is not admitted, even with a free slot", async () => {
    const gate = new WorkGate("asOf", { concurrency: 1, queue: 1, maxWaitMs: 10_000 });
    const gone = live();
    gone.abort();
    expect(await gate.admit(gone.signal)).toEqual({ refused: "left" });
    expect(gate.inFlight).toBe(0);
  });

  it("a request that waits past maxWaitMs is refused, and its place freed", async () => {
    const gate = new WorkGate("control center", { concurrency: 1, queue: 1, maxWaitMs: 20 });
    const running = await gate.admit(live().signal);
    expect(await gate.admit(live().signal)).toEqual({ refused: "waited-too-long" });
    expect(gate.queued).toBe(0);
    if ("release" in running) {
      running.release();
      running.release(); // releasing twice frees one slot only
    }
    expect(gate.inFlight).toBe(1); // given back on the next turn of the event loop
    await new Promise((resolve) => setImmediate(resolve));
    expect(gate.inFlight).toBe(0);
  });
});
