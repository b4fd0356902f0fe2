import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { clockOf } from "./src/format.js";

/**
 * Every time the page shows of a lot is read on the lot's clock (spec: "Every time a person reads is
 * in the lot's zone"): two different instants never read the same, in every zone the runtime knows,
 * the repeated hour of a fall-back included, where only the zone's abbreviation tells them apart.
 * The oracle is Intl's own offset (`longOffset`), not the code under test.
 */
const ZONES = [...Intl.supportedValuesOf("timeZone"), "UTC"];
const offsets = new Map<string, Intl.DateTimeFormat>();
const oracleOffset = (t: number, zone: string): number => {
  let f = offsets.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-GB", { timeZone: zone, timeZoneName: "longOffset" });
    offsets.set(zone, f);
  }
  const name = f.formatToParts(new Date(t)).find((p) => p.type === "timeZoneName")?.value ?? "GMT";
  const m = /^GMT([+-])(\d\d):(\d\d)/.exec(name);
  return m ? (m[1] === "-" ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])) * 60_000 : 0;
};

/** Each zone's fall-backs (offset goes down) from `from` to `to`: [the instant, offset before, after]. */
function fallBacks(zone: string, from: number, to: number): [number, number, number][] {
  const STEP = 6 * 3_600_000;
  const found: [number, number, number][] = [];
  let before = oracleOffset(from, zone);
  for (let t = from + STEP; t <= to; t += STEP) {
    const after = oracleOffset(t, zone);
    if (after !== before) {
      let lo = t - STEP;
      let hi = t;
      while (hi - lo > 1000) {
        const mid = Math.floor((lo + hi) / 2000) * 1000;
        if (oracleOffset(mid, zone) === before) lo = mid;
        else hi = mid;
      }
      if (after < before) found.push([hi, before, after]);
      before = after;
    }
  }
  return found;
}

const FROM = Date.parse("2026-01-01T00:00:00Z");
const TO = Date.parse("2028-01-01T00:00:00Z");
const REPEATS = ZONES.flatMap((zone) => fallBacks(zone, FROM, TO).map((f) => ({ zone, f })));

describe("the lot's clock tells every two instants apart (issue 49, property over every zone)", () => {
  it("finds fall-backs to probe", () => {
    expect(REPEATS.length).toBeGreaterThan(50);
  });

  it("an instant in a repeated hour and the one an offset later read differently", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...REPEATS),
        fc.double({ min: 0, max: 1, noNaN: true }),
        ({ zone, f }, u) => {
          const [change, before, after] = f;
          const gap = before - after;
          // Same wall clock: `first` before the change, `second` as much after it as the clocks went back.
          const first = change - 1000 - Math.floor((u * gap) / 60_000) * 60_000;
          const second = first + gap;
          expect(first + before).toBe(second + after);
          const clock = clockOf(zone);
          const a = new Date(first).toISOString();
          const b = new Date(second).toISOString();
          expect(clock.when(a), `${zone}: ${a} and ${b}`).not.toBe(clock.when(b));
          expect(clock.hour(a), `${zone}: ${a} and ${b}`).not.toBe(clock.hour(b));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("each zone's two offsets have two abbreviations (every fall-back, 2026-2027)", () => {
    const same = REPEATS.filter(({ zone, f: [change] }) => {
      const clock = clockOf(zone);
      return clock.abbreviation(change - 1000) === clock.abbreviation(change);
    }).map(
      ({ zone, f: [change, before, after] }) =>
        `${zone} at ${new Date(change).toISOString()} (${before / 3_600_000} h -> ${after / 3_600_000} h): ${clockOf(zone).abbreviation(change)} both`,
    );
    expect(same).toEqual([]);
  });
});
