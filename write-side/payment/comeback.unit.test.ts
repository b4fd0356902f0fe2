import { describe, expect, it } from "vitest";
import { LOT, NOW } from "../../test-support/given-when-then.js";
import { decideLateCharge } from "./comeback.js";
import { evolvePaymentAggregate, noPayment, type PaymentState } from "./payment.js";
import type { PaymentEvent } from "./payment-facts.js";
import { ledgerOf } from "./payment-ledger.js";
import { intentInUse } from "./unpaid-intents.js";

/**
 * Issue 71: a charge at the booking's end the card refused off-session, whose intent the customer
 * came back and paid: that step's success, late, once; nothing else is taken for it.
 */

const ids = { parkingLotId: LOT, reservationId: "r1" };
const given = (events: readonly PaymentEvent[]): PaymentState =>
  events.reduce(evolvePaymentAggregate, noPayment);
const authorized: PaymentEvent = {
  type: "PaymentAuthorized",
  data: { ...ids, intentId: "pi_hold", amount: 5000, currency: "KRW", authorizedAt: NOW },
};
const settled: PaymentEvent = {
  type: "PaymentSettlementDecided",
  data: {
    ...ids,
    intentId: "pi_hold",
    currency: "KRW",
    capture: 5000,
    release: 0,
    offSession: 1500,
    refund: 0,
    because: "check-out",
    decidedAt: NOW,
  },
};
const refused = (step: "capture" | "overstay", amount: number, intentId?: string): PaymentEvent => ({
  type: "PaymentStepFailed",
  data: {
    ...ids,
    settlementId: "s1",
    step,
    code: step === "capture" ? "authorization_lapsed" : "authentication_required",
    message: "This transaction requires authentication.",
    amount,
    currency: "KRW",
    ...(intentId ? { intentId } : {}),
    failedAt: NOW,
  },
});
const late = (intentId: string, amount: number, currency = "KRW") =>
  ({ type: "RecordLateCharge", ...ids, intentId, amount, currency, now: NOW }) as const;

describe("a refused charge its customer pays later (issue 71)", () => {
  const overstayDue = given([authorized, settled, refused("overstay", 1500, "pi_back")]);

  it("records the overstay charged, once; the ledger counts it and the intent is no longer due", () => {
    const decided = decideLateCharge(overstayDue, late("pi_back", 1500));
    expect(decided).toEqual({
      ok: true,
      events: [
        {
          type: "OverstayCharged",
          data: {
            ...ids,
            intentId: "pi_back",
            amount: 1500,
            currency: "KRW",
            settlementId: "s1",
            chargedAt: NOW,
          },
        },
      ],
    });
    const after = given([
      authorized,
      settled,
      refused("overstay", 1500, "pi_back"),
      ...(decided.ok ? decided.events : []),
    ]);
    expect(after).toMatchObject({ comebacks: [] });
    expect(after.kind === "open" && ledgerOf(after.facts).captured).toBe(1500);
    expect(intentInUse(after, false, "pi_back")).toBe(false);
    expect(decideLateCharge(after, late("pi_back", 1500))).toEqual({ ok: true, events: [] });
  });

  it("a lapsed hold's capture paid later is that capture, charged off-session", () => {
    const due = given([authorized, settled, refused("capture", 5000, "pi_back")]);
    expect(decideLateCharge(due, late("pi_back", 5000))).toMatchObject({
      ok: true,
      events: [
        { type: "PaymentCaptured", data: { intentId: "pi_back", amount: 5000, lapsedIntentId: "pi_hold" } },
      ],
    });
  });

  it("refuses another intent, amount or currency; a refusal without an intent is nothing to pay", () => {
    const mismatch = (reason: string) => ({
      ok: false,
      rejection: { code: "PaymentMismatch", ...ids, reason },
    });
    expect(decideLateCharge(overstayDue, late("pi_other", 1500))).toEqual(mismatch("intent"));
    expect(decideLateCharge(overstayDue, late("pi_back", 1499))).toEqual(mismatch("amount"));
    expect(decideLateCharge(overstayDue, late("pi_back", 1500, "USD"))).toEqual(mismatch("currency"));
    expect(decideLateCharge(noPayment, late("pi_back", 1500))).toEqual(mismatch("intent"));
    const old = given([authorized, settled, refused("overstay", 1500)]);
    expect(decideLateCharge(old, late("pi_back", 1500))).toEqual(mismatch("intent"));
  });

  it("while due, its intent is in use: the reconciliation never cancels it", () => {
    expect(intentInUse(overstayDue, false, "pi_back")).toBe(true);
    expect(intentInUse(overstayDue, false, "pi_other")).toBe(false);
  });
});
