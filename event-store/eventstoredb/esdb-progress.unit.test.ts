import { describe, expect, it } from "vitest";
import type { LogMessage, RecordedEvent } from "../port.js";
import type { Position } from "../position.js";
import { ProgressGate } from "./esdb-progress.js";

const at = (n: number): Position => ({ commit: n, prepare: n });
const event = (n: number): RecordedEvent => ({
  id: `e${n}`,
  streamId: "s",
  revision: n,
  position: at(n),
  type: "T",
  data: {},
  metadata: {},
  createdAt: new Date(0),
});
const flushMicrotasks = () => new Promise<void>((resolve) => setImmediate(resolve));
const show = (m: LogMessage) =>
  m.kind === "event" ? `event ${m.event.position.commit}` : `${m.kind} ${m.position?.commit ?? null}`;

/** A gate over a fake client buffer of `buffered` events not yet emitted as "data". */
function gate(options: { after?: Position; tail?: Position } = {}) {
  const messages: LogMessage[] = [];
  const state = { buffered: 0 };
  const g = new ProgressGate(
    options.after,
    (m) => messages.push(m),
    () => state.buffered === 0,
    async () => options.tail,
  );
  /** The client emits the next buffered event as "data". */
  const data = (n: number, selected = true) => {
    state.buffered--;
    g.event(event(n), selected);
  };
  return { g, state, data, shown: () => messages.map(show) };
}

describe("ProgressGate: the client's progress signals in log order", () => {
  it("holds a checkpointReached back until the events transformed before it have been emitted", async () => {
    const { g, state, data, shown } = gate();
    state.buffered = 2; // events 1 and 2 transformed, still in the client's buffer
    g.checkpoint(at(5)); // the server skipped 3..5 and the client says so ahead of 1 and 2
    await flushMicrotasks();
    expect(shown()).toEqual([]);
    data(1);
    expect(shown()).toEqual(["event 1"]);
    data(2);
    expect(shown()).toEqual(["event 1", "event 2", "checkpoint 5"]);
  });

  it("reports progress through events it drops (system or unselected) once the buffer is empty", async () => {
    const { state, data, shown } = gate();
    state.buffered = 3;
    data(1);
    data(2, false);
    data(3, false);
    expect(shown()).toEqual(["event 1", "checkpoint 3"]);
  });

  it("caught up: after the buffered events, probes the tail the server skipped, then says so once", async () => {
    const { g, state, data, shown } = gate({ tail: at(9) });
    state.buffered = 1;
    g.caughtUpSignal();
    await flushMicrotasks();
    expect(shown()).toEqual([]);
    data(4);
    await flushMicrotasks();
    expect(shown()).toEqual(["event 4", "checkpoint 9", "caught-up 9"]);
    g.caughtUpSignal();
    await flushMicrotasks();
    expect(shown().filter((m) => m.startsWith("caught-up"))).toHaveLength(1);
  });

  it("never reports a position at or before where the subscription started, nor anything once closed", async () => {
    const { g, state, data, shown } = gate({ after: at(10) });
    g.checkpoint(at(8));
    await flushMicrotasks();
    expect(shown()).toEqual([]);
    g.close();
    state.buffered = 1;
    data(11);
    g.caughtUpSignal();
    await flushMicrotasks();
    expect(shown()).toEqual([]);
  });
});
