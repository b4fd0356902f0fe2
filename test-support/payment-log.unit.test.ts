import { describe, expect, it } from "vitest";
import type { StoredDomainEvent } from "../schemas/event-codec.js";
import { ledgerAudit, providerAgainstLog } from "./payment-log.js";
import type { Ledger } from "./stripe/ledger.js";

/** The checks the payment chaos and replica tests rely on find what they are meant to find. */
let seq = 0;
const fact = (type: string, data: Record<string, unknown>, id = `ev-${++seq}`): StoredDomainEvent =>
  ({
    id,
    streamId: "parkingLot-1",
    revision: seq,
    position: { commit: seq, prepare: seq },
    metadata: {},
    createdAt: new Date(0),
    event: { type, data: { reservationId: "r1", parkingLotId: "1", ...data } },
  }) as unknown as StoredDomainEvent;

const settle = (
  id: string,
  amounts: { capture?: number; release?: number; offSession?: number; refund?: number },
) =>
  fact(
    "PaymentSettlementDecided",
    { intentId: "pi_1", capture: 0, release: 0, offSession: 0, refund: 0, ...amounts },
    id,
  );

const paid = () => [
  fact("PaymentAuthorized", { intentId: "pi_1", amount: 1000 }),
  settle("s1", { capture: 600, release: 400 }),
  fact("PaymentCaptured", { intentId: "pi_1", amount: 600, settlementId: "s1" }),
  fact("PaymentReleased", { intentId: "pi_1", amount: 400, settlementId: "s1" }),
  settle("s2", { refund: 200 }),
  fact("PaymentRefunded", { intentId: "pi_1", amount: 200, settlementId: "s2" }),
];

describe("the payment tests' reading of the log", () => {
  it("a settled booking whose money moved as decided has no problem", () => {
    expect(ledgerAudit(paid(), true)).toEqual([]);
  });

  it("finds a double capture, a refund beyond the captures, a step left undone and money moved undecided", () => {
    const twice = [...paid(), fact("PaymentCaptured", { intentId: "pi_1", amount: 600, settlementId: "s1" })];
    expect(ledgerAudit(twice, false).join("\n")).toMatch(/exceed the authorized/);
    const [authorized, s1, captured, released] = paid();
    const overRefund = [
      authorized,
      s1,
      captured,
      released,
      settle("s3", { refund: 700 }),
      fact("PaymentRefunded", { intentId: "pi_1", amount: 700, settlementId: "s3" }),
    ] as StoredDomainEvent[];
    expect(ledgerAudit(overRefund, false).join("\n")).toMatch(/refunded 700 exceeds the captured 600/);
    expect(ledgerAudit(paid().slice(0, 3), true)).toEqual(["r1: 1 steps decided, not recorded"]);
    expect(ledgerAudit(paid().slice(0, 1), true)).toEqual(["r1: authorized, never settled"]);
  });

  it("a failed step moves nothing of what it was decided to move", () => {
    const declined = [
      ...paid().slice(0, 4),
      settle("s4", { offSession: 500 }),
      fact("PaymentStepFailed", {
        settlementId: "s4",
        step: "overstay",
        code: "card_declined",
        message: "no",
      }),
    ];
    expect(ledgerAudit(declined, true)).toEqual([]);
  });

  it("finds the provider's books disagreeing with the log, and money the log never told of", () => {
    const row = {
      status: "succeeded",
      amount: 1000,
      currency: "krw",
      captureMethod: "manual",
      offSession: false,
    };
    const books = (captured: number, extra = false): Ledger => ({
      intents: [
        {
          id: "pi_1",
          ...row,
          metadata: {},
          authorized: 1000,
          captured,
          released: 1000 - captured,
          refunded: 200,
          held: 0,
        },
        ...(extra
          ? [
              {
                id: "pi_2",
                ...row,
                metadata: {},
                authorized: 1000,
                captured: 1000,
                released: 0,
                refunded: 0,
                held: 0,
              },
            ]
          : []),
      ],
      totals: { authorized: 0, captured: 0, released: 0, refunded: 0, held: 0 },
    });
    expect(providerAgainstLog(books(600), paid())).toEqual([]);
    expect(providerAgainstLog(books(700), paid())).toEqual([
      "pi_1: captured 700 at the provider, 600 in the log",
      "pi_1: released 300 at the provider, 400 in the log",
    ]);
    expect(providerAgainstLog(books(600, true), paid())).toEqual(["pi_2: 1000 captured, 0 held, untold"]);
  });
});
