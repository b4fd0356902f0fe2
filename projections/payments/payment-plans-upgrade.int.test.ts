import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MemoryDocumentStore } from "../../document-store/memory/memory-document-store.js";
import type { EventStore } from "../../event-store/port.js";
import { paidLotIn, runAccepted, senderVia } from "../../test-support/paid-lot.js";
import type { ParkingLotCommandHandler } from "../../write-side/command-handler.js";
import { PAYMENT_DUE, readPaymentProcess } from "./payment-due.js";
import { PAYMENT_CUSTOMERS } from "./payment-inbox.js";
import { PAYMENT_PLANS, plansToDue } from "./payment-plans-upgrade.js";
import { runNext } from "./payment-steps.js";
import type { StepDeps } from "./step-common.js";

/*
 * Issue 68 item 4: the authorize and forget plans 86900e2 queued (test-support/fixtures/
 * 86900e2-payment-plans/plans.json, written by that version's own plansOf and erasedOps) become,
 * once at start, the booking's request on its payment's stream with its due entry (at the plan's
 * time and attempt), and the erased customer's provider customer marked to forget; then the
 * collection is dropped. The booking is then authorized under the keys the plan would have used.
 */

const FIXTURE = join(import.meta.dirname, "../../test-support/fixtures/86900e2-payment-plans/plans.json");
const plans = JSON.parse(readFileSync(FIXTURE, "utf8")) as {
  _id: string;
  kind: string;
  eventId: string;
  nextAttemptAt: string;
  customer?: string;
}[];
const authorizePlan = plans.find((p) => p.kind === "authorize") as (typeof plans)[number];
const forgetPlan = plans.find((p) => p.kind === "forget") as (typeof plans)[number];
const LOT = "upgrade-lot";
const silent = { debug() {}, info() {}, warn() {}, error() {} } as never;

let store: EventStore;
let handler: ParkingLotCommandHandler;
let close: () => Promise<void>;

beforeAll(async () => {
  ({ store, handler, close } = await paidLotIn("plans-upgrade-", {
    parkingLotId: LOT,
    name: "Upgrade",
    now: "2026-11-27T01:00:00.000Z",
  }));
  await runAccepted(handler, {
    type: "ReserveParking",
    parkingLotId: LOT,
    reservationId: "upgrade-1",
    customerId: "customer-upgrade",
    carNumber: "12가3456",
    startsAt: "2026-11-27T03:00:00.000Z",
    endsAt: "2026-11-27T04:00:00.000Z",
    paymentMethod: "pm_card_visa",
    now: "2026-11-27T01:01:00.000Z",
  });
});
afterAll(async () => {
  await close();
});

const typesOf = async (reservationId: string) => {
  const types: string[] = [];
  for await (const recorded of store.readStream(`payment-${reservationId}`)) types.push(recorded.type);
  return types;
};

describe("the plans 86900e2 left (authorize, forget)", () => {
  it("become the booking's request and due entry and the customer's forget mark, once; the booking authorized under the plan's keys", async () => {
    const documents = new MemoryDocumentStore();
    await documents.write([
      ...plans.map(({ _id, ...document }) => ({
        op: "replace" as const,
        collection: PAYMENT_PLANS,
        id: _id,
        document,
      })),
      // The authorize plan met Stripe's outage three times (86900e2's clock work moved it so).
      {
        op: "update",
        collection: PAYMENT_PLANS,
        id: authorizePlan._id,
        update: { $set: { attempt: 3, nextAttemptAt: "2026-11-27T01:01:40.000Z" } },
      },
      {
        op: "replace",
        collection: PAYMENT_CUSTOMERS,
        id: "pseudonym-upgrade",
        document: { customerId: "cus_gone" },
      },
    ]);
    const send = senderVia(handler);
    expect(await plansToDue(documents, send)).toBe(2);
    expect(await typesOf("upgrade-1")).toEqual(["PaymentRequested"]);
    const process = await readPaymentProcess(store, "upgrade-1");
    expect(process.request).toMatchObject({
      requestedBy: authorizePlan.eventId,
      amount: 6000,
      method: "pm_card_visa",
    });
    expect(await documents.findById(PAYMENT_DUE, "upgrade-1")).toMatchObject({
      dueAt: "2026-11-27T01:01:40.000Z",
      attempt: 3,
    });
    expect(await documents.findById(PAYMENT_CUSTOMERS, forgetPlan.customer as string)).toMatchObject({
      customerId: "cus_gone",
      forgetAt: forgetPlan.nextAttemptAt,
      attempt: 0,
    });
    expect(await documents.listCollections()).not.toContain(PAYMENT_PLANS);
    // Run again (a restart): nothing left, nothing recorded twice.
    expect(await plansToDue(documents, send)).toBe(0);
    expect(await typesOf("upgrade-1")).toEqual(["PaymentRequested"]);

    const keys: string[] = [];
    const provider = {
      createCustomer: async (ref: string) => ({ ok: true, value: { customerId: `cus_${ref.slice(0, 6)}` } }),
      createIntent: async (request: { idempotencyKey: string; amount: number }) => {
        keys.push(request.idempotencyKey);
        return { ok: true, value: { intentId: "pi_upgrade", status: "pending", amount: request.amount } };
      },
      confirm: async (_intentId: string, _method: string, key: string) => {
        keys.push(key);
        return { ok: true, value: { intentId: "pi_upgrade", status: "authorized", amount: 6000 } };
      },
    };
    const deps = {
      provider,
      send,
      logger: silent,
      now: () => "2026-11-27T01:02:00.000Z",
      lotState: (id: string) => handler.stateOf(id),
      paymentProcess: (reservationId: string) => readPaymentProcess(store, reservationId),
      oldSavedMethod: async () => undefined,
      customers: { get: async () => undefined, keep: async () => {}, drop: async () => {} },
      keepClientSecret: async () => {},
    } as unknown as StepDeps;
    expect(await runNext("upgrade-1", deps)).toBe("done");
    expect(keys).toEqual([
      `parking:${authorizePlan.eventId}:authorize`,
      `parking:${authorizePlan.eventId}:confirm`,
    ]);
    expect(await handler.paymentStateOf(LOT, "upgrade-1")).toMatchObject({
      status: "authorized",
      authorized: 6000,
    });
  });
});
