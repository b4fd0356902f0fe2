import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { systemActor } from "../../schemas/actor.js";
import type { ParkingLotCommand } from "../../schemas/commands.js";
import { MAX_AMOUNT } from "../../schemas/common.js";
import { encodeEvent } from "../../schemas/event-codec.js";
import { HOUR_MS, quote } from "../../schemas/pricing.js";
import { LOT, lotRegistered, NOW, reserveParking } from "../../test-support/given-when-then.js";
import { fold } from "../../test-support/lot-state.js";
import { quoteWindow } from "./booking.js";
import { decide, type ParkingLotState, type RegisteredLot } from "./decider.js";
import { decideGate, priceOf } from "./gates.js";

/**
 * Hunt (money): every rate a lot may set (1 to 1,000,000 a hour, in any currency's minor unit:
 * zero-decimal KRW and JPY or two-decimal ones alike, the decider knows no currency) times every
 * stay length, at the check-out command and the gate's exit. What a check-out records (an
 * open-ended stay's price, an overstay charge) and what the gate records (their sum with the
 * booked amount) are amounts an event holds (at most MAX_AMOUNT), or the check-out is refused
 * with StayPriceTooHigh: never an event the log refuses (it was a 500 on every retry, the car
 * stuck in the lot).
 */
const RUNS = Number(process.env.STAY_PRICE_RUNS ?? 1500);
const CAUSE = { correlationId: "c", causationId: "c", actor: systemActor("test") };
const MINUTE = 60_000;
const LAST_INSTANT = Date.parse("9999-12-31T00:00:00Z");
const plus = (ms: number) => new Date(Date.parse(NOW) + ms).toISOString();

const stay = fc.record({
  hourlyRate: fc.oneof(fc.integer({ min: 1, max: 1_000_000 }), fc.constantFrom(1_000_000, 999_999, 3000, 1)),
  /** null: open-ended; else the window's length (15 minutes to 24 hours). */
  windowMinutes: fc.option(fc.integer({ min: 15, max: 24 * 60 }), { nil: null }),
  /** Where the stay ends, as a fraction of the stay that reaches MAX_AMOUNT (1: exactly there). */
  towardLimit: fc.oneof(fc.double({ min: 0, max: 3, noNaN: true }), fc.constantFrom(1, 0.999999, 1.000001)),
});

/** A lot with the rate, the booking checked in at its start, and the instant its stay reaches `toward`. */
function staying(s: StayCase) {
  const history = [lotRegistered({ capacity: 5, hourlyRate: s.hourlyRate })];
  let state: ParkingLotState = fold(history);
  const startsAt = plus(10 * MINUTE);
  const commands: ParkingLotCommand[] = [
    reserveParking({
      amount: undefined,
      ...(s.windowMinutes === null ? {} : { startsAt, endsAt: plus((10 + s.windowMinutes) * MINUTE) }),
    }),
    { type: "CheckIn", parkingLotId: LOT, reservationId: "res-1", now: startsAt },
  ];
  for (const command of commands) {
    const decision = decide(command, state);
    if (!decision.ok) throw new Error(`setup refused: ${JSON.stringify(decision.rejection)}`);
    state = fold(decision.events, state);
  }
  const booked = s.windowMinutes === null ? 0 : quote(s.hourlyRate, 0, s.windowMinutes * MINUTE);
  // The stay that costs MAX_AMOUNT in all (booked amount plus the time past it), then scaled.
  const limitMs = ((MAX_AMOUNT - booked) * HOUR_MS) / s.hourlyRate + (s.windowMinutes ?? 0) * MINUTE;
  // A clock's instants end with the year 9999: at a rate below about 115 no stay reaches the limit.
  const leaves = new Date(
    Math.min(Date.parse(startsAt) + Math.max(MINUTE, Math.round(limitMs * s.towardLimit)), LAST_INSTANT),
  );
  return { state, booked, leaves: leaves.toISOString() };
}
interface StayCase {
  readonly hourlyRate: number;
  readonly windowMinutes: number | null;
  readonly towardLimit: number;
}

describe("a check-out's price at every rate and stay length", () => {
  it(`records only amounts an event holds, or refuses with StayPriceTooHigh (${RUNS} stays)`, () => {
    fc.assert(
      fc.property(stay, (s) => {
        const { state, booked, leaves } = staying(s);
        const decision = decide(
          { type: "CheckOut", parkingLotId: LOT, reservationId: "res-1", now: leaves },
          state,
        );
        if (!decision.ok) {
          expect(decision.rejection).toMatchObject({ code: "StayPriceTooHigh", maximum: MAX_AMOUNT });
          if (decision.rejection.code === "StayPriceTooHigh")
            expect(decision.rejection.price).toBeGreaterThan(MAX_AMOUNT);
          return;
        }
        // Every event the check-out decided is one the log takes (its schema checked by the codec).
        for (const event of decision.events) expect(() => encodeEvent(event, CAUSE)).not.toThrow();
        const price = priceOf(decision.events, booked);
        expect(price).toBeLessThanOrEqual(MAX_AMOUNT);
      }),
      { numRuns: RUNS },
    );
  });

  it("the gate's exit: opens with a price its record holds, or denies with the same refusal", () => {
    fc.assert(
      fc.property(stay, (s) => {
        const { state, leaves } = staying(s);
        const outcome = decideGate(
          { parkingLotId: LOT, direction: "exit", plate: "12가3456", confidence: 1, at: leaves },
          state,
        );
        if (outcome.decision === "deny") {
          expect(outcome.reason).toBe("StayPriceTooHigh");
          return;
        }
        expect(outcome.decision).toBe("open");
        if (outcome.decision !== "open") return;
        const record = {
          type: "GateEventRecorded" as const,
          data: {
            eventId: "e",
            parkingLotId: LOT,
            gateId: "g",
            direction: "exit" as const,
            confidence: 1,
            at: leaves,
            decision: "open" as const,
            reason: outcome.reason,
            reservationId: outcome.reservationId,
            ...(outcome.price !== undefined ? { price: outcome.price } : {}),
            recordedAt: leaves,
          },
        };
        expect(() => encodeEvent(record, CAUSE)).not.toThrow();
      }),
      { numRuns: Math.ceil(RUNS / 3) },
    );
  });

  it("at 1,000,000 an hour: 100 hours open-ended is the most one check-out charges; a minute more is refused", () => {
    const s = { hourlyRate: 1_000_000, windowMinutes: null, towardLimit: 1 };
    const { state, leaves } = staying(s);
    const at = (ms: number) => new Date(Date.parse(leaves) + ms).toISOString();
    const out = (now: string) =>
      decide({ type: "CheckOut", parkingLotId: LOT, reservationId: "res-1", now }, state);
    expect(out(at(0))).toMatchObject({ ok: true });
    expect(out(at(MINUTE))).toMatchObject({
      ok: false,
      rejection: {
        code: "StayPriceTooHigh",
        price: MAX_AMOUNT + Math.ceil(1_000_000 / 60),
        maximum: MAX_AMOUNT,
      },
    });
  });

  it("the quote and the booking of any window at any rate: at most 24 hours at 1,000,000, an amount every event holds", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.integer({ min: 15 * MINUTE, max: 24 * 60 * MINUTE }),
        (hourlyRate, length) => {
          const state = fold([lotRegistered({ capacity: 5, hourlyRate })]);
          const window = { startsAt: plus(10 * MINUTE), endsAt: plus(10 * MINUTE + length) };
          const quoted = quoteWindow(state as RegisteredLot, {
            from: Date.parse(window.startsAt),
            until: Date.parse(window.endsAt),
            now: Date.parse(NOW),
          });
          expect(quoted).toMatchObject({ amount: quote(hourlyRate, 0, length) });
          expect(quote(hourlyRate, 0, length)).toBeLessThanOrEqual(MAX_AMOUNT);
          const booked = decide(reserveParking({ amount: undefined, ...window }), state);
          expect(booked.ok).toBe(true);
          if (booked.ok)
            for (const event of booked.events) expect(() => encodeEvent(event, CAUSE)).not.toThrow();
        },
      ),
      { numRuns: Math.ceil(RUNS / 3) },
    );
  });
});
