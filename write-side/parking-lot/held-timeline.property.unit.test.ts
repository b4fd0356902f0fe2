import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { addSpan, type StepTree, stepTreeOf } from "../../platform/step-tree.js";
import { evolve, initialState, type ParkingLotEvent, type ParkingLotState } from "./decider.js";
import { heldTimeline, windowSteps, windowStepsAfter } from "./held-timeline.js";
import { busiest, holding } from "./rules.js";

/*
 * The occupancy timeline carried along with each fact equals the one built from scratch, and
 * answers what the decider counts. Random histories of one lot (windows and open-ended bookings,
 * cancels, check-ins and check-outs, no-shows, closures and their beginnings, the clock moving far
 * enough to prune the index) are folded by the decider's own evolve, one event at a time; after
 * each, the windows' step tree updated with that event (windowStepsAfter) is the very tree built
 * from the state (windowSteps), and the timeline made from it gives, for random ranges, the
 * decider's count at the busiest instant (rules.ts `busiest`), the count at an instant, and the
 * stretches over a threshold as the spans of `holding` say.
 */

const T0 = Date.parse("2024-05-01T09:00:00.000Z");
const MIN = 60_000;
const iso = (ms: number) => new Date(ms).toISOString();
const IDS = ["a", "b", "c", "d", "e", "f"] as const;

type Step =
  | { kind: "window"; id: string; startMin: number; lengthMin: number }
  | { kind: "open"; id: string }
  | { kind: "checkIn" | "checkOut" | "cancel" | "noShow"; id: string }
  | { kind: "close"; fromMin: number; lengthMin: number }
  | { kind: "began" }
  | { kind: "clock"; minutes: number };

const id = fc.constantFrom(...IDS);
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant("window" as const),
      id,
      startMin: fc.integer({ min: -10, max: 6 * 60 }),
      lengthMin: fc.constantFrom(10, 15, 30, 60, 120, 24 * 60),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("open" as const), id }) },
  {
    weight: 4,
    arbitrary: fc.record({ kind: fc.constantFrom("checkIn", "checkOut", "cancel", "noShow"), id }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("close" as const),
      fromMin: fc.integer({ min: 0, max: 4 * 60 }),
      lengthMin: fc.constantFrom(30, 60),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("began" as const) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("clock" as const),
      minutes: fc.constantFrom(1, 7, 45, 3 * 60, 26 * 60, 50 * 60),
    }),
  },
);

const ev = (type: string, data: object) => ({ type, data }) as unknown as ParkingLotEvent;

let serial = 0;
/** The event a step makes at `now` (ids made unique per booking, so a rebooked id is a new one). */
function eventOf(step: Step, now: number, closures: string[]): ParkingLotEvent | null {
  const base = { parkingLotId: "lot", customerId: "c", carNumber: "12가3456" };
  const rid = (s: { id: string }) => `${s.id}-${Math.floor(serial / 6)}`;
  switch (step.kind) {
    case "window": {
      serial++;
      const start = now + step.startMin * MIN;
      return ev("ParkingReserved", {
        ...base,
        reservationId: rid(step),
        amount: 1000,
        reservedAt: iso(now),
        startsAt: iso(start),
        endsAt: iso(start + step.lengthMin * MIN),
      });
    }
    case "open":
      serial++;
      return ev("ParkingReserved", { ...base, reservationId: rid(step), amount: 1000, reservedAt: iso(now) });
    case "checkIn":
      return ev("ReservationCheckedIn", { ...base, reservationId: rid(step), checkedInAt: iso(now) });
    case "checkOut":
      return ev("ReservationCheckedOut", { ...base, reservationId: rid(step), checkedOutAt: iso(now) });
    case "cancel":
      return ev("ReservationCanceled", {
        ...base,
        reservationId: rid(step),
        canceledAt: iso(now),
        reason: "x",
      });
    case "noShow":
      return ev("ReservationNoShow", { ...base, reservationId: rid(step) });
    case "close": {
      const closureId = `k-${closures.length}`;
      closures.push(closureId);
      const from = now + step.fromMin * MIN;
      return ev("ParkingLotClosed", {
        parkingLotId: "lot",
        closureId,
        closedAt: iso(now),
        from: iso(from),
        until: iso(from + step.lengthMin * MIN),
      });
    }
    case "began": {
      const closureId = closures.at(-1);
      return closureId ? ev("ParkingLotClosureBegan", { parkingLotId: "lot", closureId }) : null;
    }
    case "clock":
      return null;
  }
}

/** Held at each instant of [from, until) above `threshold`, stretch by stretch, from `holding`'s spans. */
function stretchesAbove(state: ParkingLotState, now: number, threshold: number, from: number, until: number) {
  if (state.kind !== "registered") return [];
  const { spans, always } = holding(state, from, until, now);
  const cuts = new Set([from, until]);
  for (const s of spans) for (const x of [s.start, s.end]) if (x > from && x < until) cuts.add(x);
  const xs = [...cuts].sort((a, b) => a - b);
  const out: { start: number; end: number }[] = [];
  for (let i = 0; i + 1 < xs.length; i++) {
    const [start, end] = [xs[i] as number, xs[i + 1] as number];
    const held = always + spans.filter((s) => s.start <= start && s.end > start).length;
    if (held <= threshold) continue;
    const prev = out.at(-1);
    if (prev && prev.end === start) prev.end = end;
    else out.push({ start, end });
  }
  return out;
}

describe("the occupancy timeline carried with each fact", () => {
  it("equals the one built from scratch and counts what the decider counts", () => {
    const range = fc.tuple(fc.integer({ min: -30 * 60, max: 30 * 60 }), fc.integer({ min: 1, max: 30 * 60 }));
    fc.assert(
      fc.property(
        fc.array(stepArb, { maxLength: 40 }),
        fc.array(range, { minLength: 3, maxLength: 3 }),
        (steps, ranges) => {
          serial = 0;
          const closures: string[] = [];
          let now = T0;
          let state: ParkingLotState = initialState;
          let windows: StepTree = null;
          const registered = ev("ParkingLotRegistered", {
            parkingLotId: "lot",
            name: "lot",
            capacity: 3,
            registeredAt: iso(T0),
          });
          for (const step of [null, ...steps]) {
            if (step?.kind === "clock") now += step.minutes * MIN;
            const event = step ? eventOf(step, now, closures) : registered;
            if (!event) continue;
            const next = evolve(state, event);
            windows = windowStepsAfter(windows, state, next, event);
            state = next;
            if (state.kind !== "registered") continue;
            expect(windows).toEqual(windowSteps(state.occupancy));
            const timeline = heldTimeline(state, now, windows);
            for (const [fromMin, lengthMin] of ranges) {
              const from = now + fromMin * MIN;
              const until = from + lengthMin * MIN;
              expect(timeline.peak(from, until)).toBe(busiest(state, from, until, now).held);
              expect(timeline.heldAt(from)).toBe(busiest(state, from, from + 1, now).held);
              for (const threshold of [0, 1, 2])
                expect(timeline.above(threshold, from, until)).toEqual(
                  stretchesAbove(state, now, threshold, from, until),
                );
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it("builds a tree whose shape depends only on its changes, not their order", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 50 }), fc.integer({ min: 1, max: 20 })), {
          maxLength: 60,
        }),
        (spans) => {
          const forward = spans.reduce<StepTree>((t, [s, l]) => addSpan(t, s, s + l), null);
          const backward = [...spans].reverse().reduce<StepTree>((t, [s, l]) => addSpan(t, s, s + l), null);
          expect(backward).toEqual(forward);
          expect(stepTreeOf(spans.flatMap(([s, l]) => [[s, 1] as const, [s + l, -1] as const]))).toEqual(
            forward,
          );
          const removed = spans.reduce<StepTree>((t, [s, l]) => addSpan(t, s, s + l, -1), forward);
          expect(removed).toBeNull();
        },
      ),
    );
  });
});
