import { describe, expect, it } from "vitest";
import {
  attribute,
  busyUs,
  type CallFrame,
  type CpuProfile,
  markedByFunction,
  type Role,
} from "./profile-attribution.js";

const frame = (functionName: string, url = "") => ({ functionName, url, lineNumber: 0 });
const APP = "file:///srv/app/handler.ts";
const TRACING = "file:///srv/platform/tracing.ts";

/*
 * (root)
 *  ├─ 2 (idle)                 ├─ 3 (garbage collector)
 *  ├─ 4 handle (app)           ─ 5 startSpan (tracing) ─ 6 randomFillSync (node:) ─ 7 (native)
 *  ├─ 8 middleware (tracing)   ─ 9 next (app) ─ 10 decide (app)
 *  └─ 11 tracePush (owner)     ─ 12 readAll (app)
 */
const profile = (samples: number[], deltas: number[]): CpuProfile => ({
  nodes: [
    { id: 1, callFrame: frame("(root)"), children: [2, 3, 4, 8, 11] },
    { id: 2, callFrame: frame("(idle)") },
    { id: 3, callFrame: frame("(garbage collector)") },
    { id: 4, callFrame: frame("handle", APP), children: [5] },
    { id: 5, callFrame: frame("startSpan", TRACING), children: [6] },
    { id: 6, callFrame: frame("randomFillSync", "node:internal/crypto/random"), children: [7] },
    { id: 7, callFrame: frame("(native)") },
    { id: 8, callFrame: frame("middleware", TRACING), children: [9] },
    { id: 9, callFrame: frame("next", "file:///srv/node_modules/express/lib/router.js"), children: [10] },
    { id: 10, callFrame: frame("decide", APP) },
    { id: 11, callFrame: frame("tracePush", APP), children: [12] },
    { id: 12, callFrame: frame("readAll", "file:///srv/event-store/read.ts") },
  ],
  samples,
  timeDeltas: deltas,
  startTime: 1_000,
  endTime: 1_000 + deltas.reduce((a, b) => a + b, 0) + 10,
});

const role = (f: CallFrame): Role => {
  if (f.url === "" || f.url.startsWith("node:")) return "runtime";
  if (f.functionName === "tracePush") return "owner";
  return f.url === TRACING ? "marked" : "application";
};

describe("attributing a thread's samples", () => {
  it("charges marked code with what it calls in the runtime, not with the application it calls back", () => {
    // Each sample counts for the 10 µs until the next one.
    const [all] = attribute(
      profile([4, 5, 6, 7, 8, 9, 10], [10, 10, 10, 10, 10, 10, 10]),
      [{ fromUs: 0, toUs: 10_000 }],
      role,
    );
    // handle (app) 10; startSpan, randomFillSync, native 30; middleware itself 10; next, decide 20.
    expect(all).toEqual({ idleUs: 0, gcUs: 0, markedUs: 40, otherUs: 30 });
  });

  it("charges an owner with everything beneath it, and keeps idle and the collector apart", () => {
    const [all] = attribute(profile([11, 12, 2, 3], [10, 10, 10, 10]), [{ fromUs: 0, toUs: 10_000 }], role);
    expect(all).toEqual({ idleUs: 10, gcUs: 10, markedUs: 20, otherUs: 0 });
    expect(busyUs(all as NonNullable<typeof all>)).toBe(30);
  });

  it("counts each sample in the spans of time it falls in, by the monotonic clock", () => {
    // Samples at 1010, 1020, 1030, 1040.
    const spans = [
      { fromUs: 1_000, toUs: 1_025 },
      { fromUs: 1_025, toUs: 1_100 },
    ];
    const [first, second] = attribute(profile([5, 5, 10, 10], [10, 10, 10, 10]), spans, role);
    expect(first).toEqual({ idleUs: 0, gcUs: 0, markedUs: 20, otherUs: 0 });
    expect(second).toEqual({ idleUs: 0, gcUs: 0, markedUs: 0, otherUs: 20 });
  });

  it("says where the measured code's time went, by the function each sample was in", () => {
    const spans = [{ fromUs: 0, toUs: 10_000 }];
    const byFunction = markedByFunction(
      profile([5, 5, 6, 7, 8, 9, 10], [10, 10, 10, 10, 10, 10, 10]),
      spans,
      role,
    );
    expect([...byFunction]).toEqual([
      ["startSpan platform/tracing.ts", 20],
      ["randomFillSync (runtime)", 10],
      ["(native) (runtime)", 10],
      ["middleware platform/tracing.ts", 10],
    ]);
  });
});
