import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { PaymentTerms } from "../../schemas/common.js";
import { authorizationOf } from "../parking-lot/terms.js";
import { ledgerOf, ledgerViolations, type PaymentFact } from "./payment-ledger.js";
import {
  cancelSettlement,
  checkOutSettlement,
  noShowSettlement,
  refundable,
  type Settlement,
} from "./payment-policy.js";

const MINUTE = 60_000;
const START = Date.parse("2024-05-01T10:00:00.000Z");

const termsArb: fc.Arbitrary<PaymentTerms> = fc.record({
  currency: fc.constantFrom("KRW", "USD", "JPY"),
  deposit: fc.integer({ min: 0, max: 50_000 }),
  cancellation: fc.record({
    freeUntilMinutesBefore: fc.integer({ min: 0, max: 24 * 60 }),
    feePercent: fc.integer({ min: 0, max: 100 }),
  }),
  noShowFee: fc.integer({ min: 0, max: 20_000 }),
});

/** How a reservation's payment ends: each way the lot settles it. */
type Ending =
  | { kind: "check-out"; price: number; overstay: number }
  | { kind: "cancel"; by: "customer" | "operator"; minutesBefore: number }
  | { kind: "no-show" };
const endingArb: fc.Arbitrary<Ending> = fc.oneof(
  fc.record({
    kind: fc.constant("check-out" as const),
    price: fc.integer({ min: 0, max: 100_000 }),
    overstay: fc.integer({ min: 0, max: 30_000 }),
  }),
  fc.record({
    kind: fc.constant("cancel" as const),
    by: fc.constantFrom("customer" as const, "operator" as const),
    minutesBefore: fc.integer({ min: -120, max: 48 * 60 }),
  }),
  fc.record({ kind: fc.constant("no-show" as const) }),
);

function settle(terms: PaymentTerms, authorized: number, openEnded: boolean, ending: Ending): Settlement {
  switch (ending.kind) {
    case "check-out":
      return checkOutSettlement(authorized, ending.price, ending.overstay);
    case "cancel":
      return cancelSettlement(terms, authorized, {
        by: ending.by,
        at: START - ending.minutesBefore * MINUTE,
        ...(openEnded ? {} : { startsAt: START }),
      });
    case "no-show":
      return noShowSettlement(terms, authorized);
  }
}

/** The facts the process manager records for a settlement, then an operator's refund of `share` of what was taken. */
function factsOf(authorized: number, settlement: Settlement, share: number): PaymentFact[] {
  const facts: PaymentFact[] = [{ kind: "authorized", intentId: "pi_1", amount: authorized }];
  if (settlement.capture > 0) facts.push({ kind: "captured", intentId: "pi_1", amount: settlement.capture });
  if (settlement.release > 0) facts.push({ kind: "released", intentId: "pi_1", amount: settlement.release });
  if (settlement.offSession > 0)
    facts.push({ kind: "charged", intentId: "pi_2", amount: settlement.offSession });
  for (const row of ledgerOf(facts).intents) {
    const refund = Math.floor(refundable(row.captured, row.refunded) * share);
    if (refund > 0) facts.push({ kind: "refunded", intentId: row.intentId, amount: refund });
  }
  return facts;
}

describe("payment settlements keep the ledger", () => {
  it("every way a reservation ends splits its authorization exactly, and refunds stay within captures", () => {
    fc.assert(
      fc.property(
        termsArb,
        fc.integer({ min: 0, max: 100_000 }),
        fc.boolean(),
        endingArb,
        fc.double({ min: 0, max: 1, noNaN: true }),
        (terms, quoted, openEnded, ending, share) => {
          const authorized = authorizationOf(terms, quoted, openEnded);
          const settlement = settle(terms, authorized, openEnded, ending);
          expect(settlement.capture + settlement.release).toBe(authorized);
          expect(settlement.capture).toBeGreaterThanOrEqual(0);
          expect(settlement.release).toBeGreaterThanOrEqual(0);
          expect(ledgerViolations(factsOf(authorized, settlement, share), true)).toEqual([]);
          // What was taken in all is what the ending owes (an authorization covers what it can).
          if (ending.kind === "check-out")
            expect(settlement.capture + settlement.offSession).toBe(ending.price + ending.overstay);
          if (ending.kind === "cancel" && ending.by === "operator") expect(settlement.capture).toBe(0);
          if (ending.kind === "no-show")
            expect(settlement.capture).toBe(Math.min(terms.noShowFee, authorized));
        },
      ),
      { numRuns: 500 },
    );
  });

  it("a customer's cancel is free up to the policy's minutes before the start, then costs the fee (rounded down)", () => {
    fc.assert(
      fc.property(
        termsArb,
        fc.integer({ min: 1, max: 100_000 }),
        fc.integer({ min: -60, max: 48 * 60 }),
        (terms, authorized, minutesBefore) => {
          const { capture } = cancelSettlement(terms, authorized, {
            by: "customer",
            at: START - minutesBefore * MINUTE,
            startsAt: START,
          });
          const free = minutesBefore >= terms.cancellation.freeUntilMinutesBefore;
          expect(capture).toBe(free ? 0 : Math.floor((authorized * terms.cancellation.feePercent) / 100));
        },
      ),
    );
  });

  it("the ledger is not vacuous: it names an over-capture, an authorization left held once settled, and an over-refund", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100_000 }),
        fc.integer({ min: 1, max: 1000 }),
        (authorized, extra) => {
          const over: PaymentFact[] = [
            { kind: "authorized", intentId: "pi_1", amount: authorized },
            { kind: "captured", intentId: "pi_1", amount: authorized + extra },
          ];
          expect(ledgerViolations(over, false)).toEqual([
            `pi_1: captured ${authorized + extra} + released 0 exceed the authorized ${authorized}`,
          ]);
          const held: PaymentFact[] = [{ kind: "authorized", intentId: "pi_1", amount: authorized }];
          expect(ledgerViolations(held, false)).toEqual([]);
          expect(ledgerViolations(held, true)).toHaveLength(1);
          const refundedTooMuch: PaymentFact[] = [
            { kind: "charged", intentId: "pi_2", amount: authorized },
            { kind: "refunded", intentId: "pi_2", amount: authorized + extra },
          ];
          expect(ledgerViolations(refundedTooMuch, true)).toEqual([
            `pi_2: refunded ${authorized + extra} exceeds the captured ${authorized}`,
          ]);
        },
      ),
    );
  });
});
