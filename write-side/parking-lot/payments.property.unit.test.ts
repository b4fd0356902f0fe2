import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ParkingLotCommand } from "../../schemas/commands.js";
import { LOT, NOW } from "../../test-support/given-when-then.js";
import { ledgerViolations, type PaymentFact } from "../payment/payment-ledger.js";
import {
  type DecideContext,
  decide,
  fold,
  initialState,
  type ParkingLotEvent,
  type ParkingLotState,
} from "./decider.js";

/*
 * The money ledger over random paid histories (issue 38): bookings authorized, then ended every way
 * a booking ends (checked out early or late, canceled by the customer inside or outside the free
 * period, by an operator, by a closure, a no-show), operators refunding random amounts, and an
 * honest provider executing every settlement the decider decides (an off-session charge or a
 * refund sometimes failing). For every booking, the facts recorded keep the ledger:
 * authorized = captured + released once settled, refunds never exceed captures.
 */

const ON: DecideContext = { payments: { on: true, holdSeconds: 900 } };
const MINUTE = 60_000;
const T0 = Date.parse(NOW);
const iso = (ms: number) => new Date(ms).toISOString();

type End = "early" | "late" | "customer" | "operator" | "closure" | "no-show";
const bookingArb = fc.record({
  window: fc.boolean(),
  startIn: fc.integer({ min: 20, max: 600 }),
  end: fc.constantFrom<End>("early", "late", "customer", "operator", "closure", "no-show"),
  endIn: fc.integer({ min: 1, max: 900 }),
  overstayFails: fc.boolean(),
  refunds: fc.array(fc.integer({ min: 1, max: 9000 }), { maxLength: 3 }),
  refundFails: fc.boolean(),
});
const termsArb = fc.record({
  currency: fc.constant("KRW"),
  deposit: fc.integer({ min: 1, max: 8000 }),
  cancellation: fc.record({
    freeUntilMinutesBefore: fc.integer({ min: 0, max: 300 }),
    feePercent: fc.integer({ min: 0, max: 100 }),
  }),
  noShowFee: fc.integer({ min: 0, max: 9000 }),
});

interface Run {
  state: ParkingLotState;
  events: ParkingLotEvent[];
  settlements: number;
}

function send(run: Run, command: ParkingLotCommand): ParkingLotEvent[] {
  const decision = decide(command, run.state, ON);
  if (!decision.ok) return [];
  run.state = fold(decision.events, run.state);
  run.events.push(...decision.events);
  return [...decision.events];
}

/** The provider executing a settlement: each step it names, recorded with the decided amount. */
function execute(
  run: Run,
  events: readonly ParkingLotEvent[],
  fails: { overstay: boolean; refund: boolean },
  now: number,
) {
  for (const event of events) {
    if (event.type !== "PaymentSettlementDecided") continue;
    const settlementId = `ev-${run.settlements++}`;
    const { reservationId, intentId } = event.data;
    const steps: ["capture" | "release" | "refund" | "overstay", number][] = [
      ["capture", event.data.capture],
      ["release", event.data.release],
      ["overstay", event.data.offSession],
      ["refund", event.data.refund],
    ];
    for (const [step, amount] of steps) {
      if (amount === 0) continue;
      const failed = (step === "overstay" && fails.overstay) || (step === "refund" && fails.refund);
      send(run, {
        type: "RecordPaymentOutcome",
        parkingLotId: LOT,
        reservationId,
        settlementId,
        step,
        outcome: failed
          ? { ok: false, code: "card_declined", message: "Declined." }
          : {
              ok: true,
              intentId: step === "overstay" ? `${intentId}_off` : intentId,
              amount,
              ...(step === "refund" ? { refundId: `re_${settlementId}` } : {}),
            },
        now: iso(now),
      });
    }
  }
}

function ledgerFacts(events: readonly ParkingLotEvent[], reservationId: string): PaymentFact[] {
  return events.flatMap((event): PaymentFact[] => {
    if (!("reservationId" in event.data) || event.data.reservationId !== reservationId) return [];
    switch (event.type) {
      case "PaymentAuthorized":
        return [{ kind: "authorized", intentId: event.data.intentId, amount: event.data.amount }];
      case "PaymentCaptured":
        return [{ kind: "captured", intentId: event.data.intentId, amount: event.data.amount }];
      case "PaymentReleased":
        return [{ kind: "released", intentId: event.data.intentId, amount: event.data.amount }];
      case "PaymentRefunded":
        return [{ kind: "refunded", intentId: event.data.intentId, amount: event.data.amount }];
      case "OverstayCharged":
        return [{ kind: "charged", intentId: event.data.intentId, amount: event.data.amount }];
      default:
        return [];
    }
  });
}

describe("the money ledger over random paid histories", () => {
  it("holds for every booking: authorized = captured + released once settled, refunds ≤ captures", () => {
    let settledRuns = 0;
    fc.assert(
      fc.property(termsArb, fc.array(bookingArb, { minLength: 1, maxLength: 4 }), (terms, bookings) => {
        const run: Run = { state: initialState, events: [], settlements: 0 };
        send(run, {
          type: "RegisterParkingLot",
          parkingLotId: LOT,
          name: "Lot",
          capacity: 10,
          hourlyRate: 3000,
          now: NOW,
        });
        send(run, { type: "ChangePaymentTerms", parkingLotId: LOT, terms, now: NOW });
        bookings.forEach((b, i) => {
          const id = `r${i}`;
          const start = T0 + b.startIn * MINUTE;
          const reserved = send(run, {
            type: "ReserveParking",
            reservationId: id,
            parkingLotId: LOT,
            customerId: `C${i}`,
            carNumber: "12가3456",
            ...(b.window ? { startsAt: iso(start), endsAt: iso(start + 60 * MINUTE) } : {}),
            now: NOW,
          });
          const payment = reserved[0]?.type === "ParkingReserved" ? reserved[0].data.payment : undefined;
          if (!payment) return;
          send(run, {
            type: "AuthorizePayment",
            parkingLotId: LOT,
            reservationId: id,
            intentId: `pi_${id}`,
            amount: payment.amount,
            currency: "KRW",
            now: NOW,
          });
          const ends = (now: number, command: ParkingLotCommand) =>
            execute(run, send(run, command), { overstay: b.overstayFails, refund: b.refundFails }, now);
          const about = { parkingLotId: LOT, reservationId: id };
          const at = T0 + b.endIn * MINUTE;
          if (b.end === "early" || b.end === "late") {
            const inAt = b.window ? start : T0 + MINUTE;
            send(run, { type: "CheckIn", ...about, now: iso(inAt) });
            const out = inAt + (b.end === "late" ? 60 * MINUTE + at - T0 : (at - T0) / 10);
            ends(out, { type: "CheckOut", ...about, now: iso(out) });
          } else if (b.end === "customer" || b.end === "operator") {
            const when = b.window ? Math.min(at, start - MINUTE) : at;
            ends(when, {
              type: "CancelReservation",
              ...about,
              reason: "x",
              ...(b.end === "customer" ? { requestedBy: `C${i}` } : {}),
              now: iso(when),
            });
          } else if (b.end === "closure") {
            ends(T0, {
              type: "CloseParkingLot",
              closureId: `c${i}`,
              parkingLotId: LOT,
              from: iso(T0 + 10 * MINUTE),
              until: iso(T0 + 2000 * MINUTE),
              reason: "works",
              now: NOW,
            });
            ends(T0 + 10 * MINUTE, {
              type: "BeginClosure",
              closureId: `c${i}`,
              parkingLotId: LOT,
              now: iso(T0 + 10 * MINUTE),
            });
          } else if (b.window) {
            ends(start + 61 * MINUTE, { type: "RecordNoShow", ...about, now: iso(start + 61 * MINUTE) });
          }
          for (const amount of b.refunds)
            ends(T0 + 3000 * MINUTE, {
              type: "RefundPayment",
              ...about,
              amount,
              reason: "goodwill",
              now: iso(T0 + 3000 * MINUTE),
            });
        });
        for (let i = 0; i < bookings.length; i++) {
          const id = `r${i}`;
          const settled = run.events.some(
            (e) =>
              e.type === "PaymentSettlementDecided" &&
              e.data.reservationId === id &&
              e.data.because !== "refund",
          );
          if (settled) settledRuns++;
          expect(ledgerViolations(ledgerFacts(run.events, id), settled), id).toEqual([]);
        }
      }),
      { numRuns: 300 },
    );
    expect(settledRuns).toBeGreaterThan(100);
  });
});
