import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ParkingLotCommand } from "../../schemas/commands.js";
import { LOT, NOW } from "../../test-support/given-when-then.js";
import { toSnapshot } from "../../test-support/lot-snapshot.js";
import { DAY_MS, REFUND_WINDOW_MS } from "../payment/payment-policy.js";
import {
  type DecideContext,
  decide,
  fold,
  initialState,
  type ParkingLotEvent,
  type ParkingLotState,
} from "./decider.js";
import { isClosed } from "./payment-state.js";
import { decodeSnapshot, encodeSnapshot } from "./snapshot.js";

/*
 * Payment records end (issue 38), over random paid histories spread over years: bookings paid,
 * declined or canceled unpaid, checked out or canceled, their settlement's steps recorded by the
 * provider or left outstanding. After every booking: the records the lot keeps are bounded by the
 * bookings live, with something outstanding, or ended within the refund window (plus the day the
 * sweep rounds to); none ended within the window is dropped early; a refund is refused for the
 * window exactly when it has passed; and the state round-trips through its snapshot.
 */

const ON: DecideContext = { payments: { on: true, holdSeconds: 900 } };
const MINUTE = 60_000;
const T0 = Date.parse(NOW);
const iso = (ms: number) => new Date(ms).toISOString();

type End = "check-out" | "cancel" | "declined" | "canceled-unpaid";
const bookingArb = fc.record({
  gapDays: fc.integer({ min: 0, max: 150 }),
  end: fc.constantFrom<End>("check-out", "check-out", "cancel", "declined", "canceled-unpaid"),
  recorded: fc.boolean(),
});

interface Run {
  state: ParkingLotState;
  settlements: number;
  /** The latest fact's time. */
  now: number;
}

function send(run: Run, command: ParkingLotCommand): ParkingLotEvent[] {
  const decision = decide(command, run.state, ON);
  if (!decision.ok) return [];
  run.state = fold(decision.events, run.state);
  if (decision.events.length > 0) run.now = Date.parse(command.now);
  return [...decision.events];
}

/** The provider carrying out every step of the settlements among `events`, recorded at `now`. */
function execute(run: Run, events: readonly ParkingLotEvent[], now: number) {
  for (const event of events) {
    if (event.type !== "PaymentSettlementDecided") continue;
    const settlementId = `ev-${run.settlements++}`;
    const steps: ["capture" | "release" | "overstay", number][] = [
      ["capture", event.data.capture],
      ["release", event.data.release],
      ["overstay", event.data.offSession],
    ];
    for (const [step, amount] of steps)
      if (amount > 0)
        send(run, {
          type: "RecordPaymentOutcome",
          parkingLotId: LOT,
          reservationId: event.data.reservationId,
          settlementId,
          step,
          outcome: { ok: true, intentId: event.data.intentId, amount },
          now: iso(now),
        });
  }
}

/** A booking made at `t`: paid and ended its way; when its money ended, if it did. */
function book(run: Run, id: string, b: { end: End; recorded: boolean }, t: number): number | undefined {
  const about = { parkingLotId: LOT, reservationId: id };
  const start = t + 120 * MINUTE;
  send(run, {
    type: "ReserveParking",
    ...about,
    customerId: `C-${id}`,
    carNumber: "12가3456",
    startsAt: iso(start),
    endsAt: iso(start + 60 * MINUTE),
    now: iso(t),
  });
  if (b.end === "declined") {
    send(run, { type: "FailPayment", ...about, code: "card_declined", now: iso(t + MINUTE) });
    return t + MINUTE;
  }
  if (b.end === "canceled-unpaid") {
    send(run, { type: "CancelReservation", ...about, reason: "x", now: iso(t + MINUTE) });
    return t + MINUTE;
  }
  send(run, {
    type: "AuthorizePayment",
    ...about,
    intentId: `pi_${id}`,
    amount: 6000,
    currency: "KRW",
    now: iso(t + MINUTE),
  });
  let endedAt: number;
  let decided: ParkingLotEvent[];
  if (b.end === "check-out") {
    send(run, { type: "CheckIn", ...about, now: iso(start) });
    endedAt = start + 30 * MINUTE;
    decided = send(run, { type: "CheckOut", ...about, now: iso(endedAt) });
  } else {
    endedAt = t + 100 * MINUTE; // after the free period: a fee is captured
    decided = send(run, {
      type: "CancelReservation",
      ...about,
      reason: "x",
      requestedBy: `C-${id}`,
      now: iso(endedAt),
    });
  }
  if (b.recorded) execute(run, decided, endedAt + MINUTE);
  return endedAt;
}

describe("payment records over random paid histories spread over years", () => {
  it("are kept while live, outstanding or within the refund window, and only then", () => {
    let dropped = 0;
    let refusedForTheWindow = 0;
    fc.assert(
      fc.property(fc.array(bookingArb, { minLength: 1, maxLength: 10 }), (bookings) => {
        const run: Run = { state: initialState, settlements: 0, now: T0 };
        send(run, {
          type: "RegisterParkingLot",
          parkingLotId: LOT,
          name: "Lot",
          capacity: 20,
          hourlyRate: 6000,
          now: NOW,
        });
        send(run, {
          type: "ChangePaymentTerms",
          parkingLotId: LOT,
          terms: {
            currency: "KRW",
            deposit: 2000,
            cancellation: { freeUntilMinutesBefore: 60, feePercent: 50 },
            noShowFee: 1000,
          },
          now: NOW,
        });
        const ended = new Map<string, number>();
        let t = T0;
        bookings.forEach((b, i) => {
          t += b.gapDays * DAY_MS + 10 * MINUTE;
          const id = `r${i}`;
          const endedAt = book(run, id, b, t);
          if (endedAt !== undefined) ended.set(id, endedAt);
          t = Math.max(t, run.now);
          const lot = run.state;
          if (lot.kind !== "registered") throw new Error("the lot is registered");
          const now = run.now;
          for (const [kept, record] of lot.payments) {
            const end = ended.get(kept) ?? Number.POSITIVE_INFINITY;
            // Bounded: live, or something still to record, or within the window (+ the sweep's day).
            expect(!isClosed(record) || end + REFUND_WINDOW_MS + DAY_MS > now, kept).toBe(true);
          }
          for (const [id, end] of ended) {
            // Never early: within the window, the record is there.
            if (end + REFUND_WINDOW_MS > now) expect(lot.payments.has(id), id).toBe(true);
            else if (!lot.payments.has(id)) dropped++;
          }
          expect(toSnapshot(decodeSnapshot(encodeSnapshot(lot), LOT))).toEqual(toSnapshot(lot));
        });
        // A refund a minute after the last fact: refused for the window exactly when it has passed.
        const now = run.now + MINUTE;
        for (const [id, end] of ended) {
          const decision = decide(
            {
              type: "RefundPayment",
              parkingLotId: LOT,
              reservationId: id,
              amount: 1,
              reason: "x",
              now: iso(now),
            },
            run.state,
            ON,
          );
          const forTheWindow = !decision.ok && decision.rejection.code === "RefundWindowPassed";
          const paid = run.state.kind === "registered" && run.state.reservations.get(id)?.paid === true;
          // Paid, captured (recorded) and past its window; one with nothing recorded lingers, and
          // nothing of it was captured to refund (NotPaid).
          const recorded = bookings[Number(id.slice(1))]?.recorded ?? false;
          if (end + REFUND_WINDOW_MS <= now && paid && recorded) expect(forTheWindow, id).toBe(true);
          else expect(forTheWindow, id).toBe(false);
          if (forTheWindow) refusedForTheWindow++;
        }
      }),
      { numRuns: 150 },
    );
    expect(dropped).toBeGreaterThan(50);
    expect(refusedForTheWindow).toBeGreaterThan(20);
  });
});
