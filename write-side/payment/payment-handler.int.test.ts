import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { SqliteEventStore } from "../../event-store/embedded/sqlite-event-store.js";
import { systemActor } from "../../schemas/actor.js";
import { tempDataDir } from "../../test-support/service.js";
import { parkingLotStream } from "../parking-lot/decider.js";
import { type PaymentCommand, paymentCommandHandler } from "./payment-handler.js";

/*
 * Issue 48, item 1: a payment decided on its own stream, `payment-{reservationId}`, by the payment's
 * decider alone, through the decider runner: in order, once, and with the stream's expected revision
 * on every append, so two processes recording at once cannot both spend the same money.
 */

const NOW = "2026-11-26T10:00:00.000Z";
const ids = { parkingLotId: "L1", reservationId: "res-1" };
const ASK = { awaiting: true, amount: 6000, currency: "KRW" };

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function openStores(count: number): SqliteEventStore[] {
  const data = tempDataDir("payment-handler-");
  const file = join(data.dir, "events.sqlite");
  const stores = Array.from({ length: count }, () => SqliteEventStore.open({ file, pollIntervalMs: 20 }));
  cleanups.push(data.remove, async () => {
    for (const store of stores) await store.close();
  });
  return stores;
}

let sent = 0;
const context = () => {
  sent++;
  return { correlationId: `corr-${sent}`, commandId: `cmd-${sent}`, actor: systemActor("payments") };
};

const intent: PaymentCommand = {
  type: "RecordPaymentIntent",
  ...ids,
  command: { type: "RecordPaymentIntent", ...ids, intentId: "pi_1", amount: 6000, currency: "KRW", now: NOW },
  ask: ASK,
};
const authorize: PaymentCommand = {
  type: "AuthorizePayment",
  ...ids,
  command: { type: "AuthorizePayment", ...ids, intentId: "pi_1", amount: 6000, currency: "KRW", now: NOW },
  ask: ASK,
};
const settle: PaymentCommand = {
  type: "DecideSettlement",
  ...ids,
  ask: { because: "check-out", price: 6000, overstayCharge: 0 },
  now: NOW,
};
const captured: PaymentCommand = {
  type: "RecordPaymentOutcome",
  ...ids,
  command: {
    type: "RecordPaymentOutcome",
    ...ids,
    settlementId: "settlement-1",
    step: "capture",
    outcome: { ok: true, intentId: "pi_1", amount: 6000 },
    now: NOW,
  },
};
const refund = (amount: number): PaymentCommand => ({
  type: "RefundPayment",
  ...ids,
  command: { type: "RefundPayment", ...ids, amount, reason: "goodwill", now: NOW },
});

async function typesOn(store: SqliteEventStore, stream: string): Promise<string[]> {
  const types: string[] = [];
  for await (const recorded of store.readStream(stream)) types.push(recorded.type);
  return types;
}

describe("a payment on its own stream (issue 48)", () => {
  it("appends each payment fact to payment-{reservationId}, nothing to the lot's stream, and a repeat appends nothing", async () => {
    const [store] = openStores(1) as [SqliteEventStore];
    const payments = paymentCommandHandler(store, 3);
    for (const command of [intent, authorize, settle, captured]) {
      const outcome = await payments.handle(command, context());
      expect(outcome.ok).toBe(true);
    }
    const again = await payments.handle(captured, context());
    expect(again.ok && again.events).toEqual([]);
    expect(await typesOn(store, "payment-res-1")).toEqual([
      "PaymentIntentCreated",
      "PaymentAuthorized",
      "PaymentSettlementDecided",
      "PaymentCaptured",
    ]);
    expect(await typesOn(store, parkingLotStream("L1"))).toEqual([]);
    const state = await payments.stateNow("res-1");
    expect(state.kind === "open" && { captured: state.captured, settled: state.settled }).toEqual({
      captured: 6000,
      settled: true,
    });
  });

  it("two processes refunding at once cannot give back more than was captured: the stream's revision decides", async () => {
    const [first, second] = openStores(2) as [SqliteEventStore, SqliteEventStore];
    const one = paymentCommandHandler(first, 3);
    const other = paymentCommandHandler(second, 3);
    for (const command of [intent, authorize, settle, captured]) await one.handle(command, context());
    // The other process has read the payment before either refund (its cache holds it).
    expect((await other.stateNow("res-1")).kind).toBe("open");
    const outcomes = await Promise.all([
      one.handle(refund(4000), context()),
      other.handle(refund(4000), context()),
    ]);
    expect(outcomes.filter((o) => o.ok)).toHaveLength(1);
    expect(outcomes.find((o) => !o.ok)).toMatchObject({
      ok: false,
      rejection: { code: "RefundExceedsCaptured", refundable: 2000, asked: 4000 },
    });
    const types = await typesOn(first, "payment-res-1");
    expect(types.filter((type) => type === "PaymentSettlementDecided")).toHaveLength(2); // the check-out's, one refund
  });
});
