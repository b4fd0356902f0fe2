import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EventStore } from "../../event-store/port.js";
import { SqliteDataKeys } from "../../platform/data-keys/sqlite-data-keys.js";
import { decodeEvent } from "../../schemas/event-codec.js";
import { usePersonalDataKeys } from "../../schemas/personal-data.js";
import { paidLotIn, runAccepted, runThenSettle, senderVia } from "../../test-support/paid-lot.js";
import type { ParkingLotCommandHandler } from "../../write-side/command-handler.js";
import { readPaymentProcess } from "./payment-due.js";
import { customerRefOf, requestsOf } from "./payment-inbox.js";
import { runNext } from "./payment-steps.js";
import type { StepDeps } from "./step-common.js";

/*
 * Issue 68 item 4: a booking's saved card is a sealed field of its payment's own facts (the intent
 * its authorization recorded), not a `payment_methods` document: an overstay is charged to it
 * off-session, on its customer's provider customer; once the customer is erased (their key
 * deleted) it reads `erased` and nothing is charged.
 */

const LOT = "card-lot";
const AT = Date.parse("2026-11-27T01:00:00.000Z");
const at = (minutes: number) => new Date(AT + minutes * 60_000).toISOString();
const silent = { debug() {}, info() {}, warn() {}, error() {} } as never;

let store: EventStore;
let keys: SqliteDataKeys;
let dir: string;
let handler: ParkingLotCommandHandler;
let close: () => Promise<void>;
const charged: { paymentMethod: string; customer?: string }[] = [];

beforeAll(async () => {
  ({ dir, store, handler, close } = await paidLotIn("saved-card-stream-", {
    parkingLotId: LOT,
    name: "Lot",
    now: at(0),
  }));
  keys = SqliteDataKeys.open(join(dir, "keys", "data-keys.sqlite"));
  usePersonalDataKeys(keys);
});
afterAll(async () => {
  usePersonalDataKeys(undefined);
  await close();
});

const deps = (now: string): StepDeps =>
  ({
    provider: {
      capture: async (_intentId: string, amount: number) => ({ ok: true, value: { captured: amount } }),
      release: async () => ({ ok: true, value: { released: 0 } }),
      createCustomer: async (ref: string) => ({ ok: true, value: { customerId: `cus_${ref.slice(0, 6)}` } }),
      chargeOffSession: async (request: { paymentMethod: string; customer?: string; amount: number }) => {
        charged.push({
          paymentMethod: request.paymentMethod,
          ...(request.customer ? { customer: request.customer } : {}),
        });
        return { ok: true, value: { intentId: "pi_offsession", charged: request.amount } };
      },
    },
    send: senderVia(handler),
    logger: silent,
    now: () => now,
    paymentProcess: (reservationId: string) => readPaymentProcess(store, reservationId),
    oldSavedMethod: async () => undefined,
    customers: { get: async () => undefined, keep: async () => {}, drop: async () => {} },
  }) as unknown as StepDeps;

/** A paid booking of the customer's, its intent recorded with their saved card, authorized, checked in. */
async function paidWithCard(reservationId: string, customerId: string) {
  const ids = { parkingLotId: LOT, reservationId };
  await runAccepted(handler, {
    type: "ReserveParking",
    ...ids,
    customerId,
    carNumber: "12가3456",
    startsAt: at(120),
    endsAt: at(180),
    now: at(1),
  });
  const intent = { ...ids, intentId: `pi_${reservationId}`, amount: 6000, currency: "KRW", now: at(1) };
  await runAccepted(handler, { type: "RecordPaymentIntent", ...intent, paymentMethod: "pm_card_visa" });
  await runAccepted(handler, { type: "AuthorizePayment", ...intent });
  await runAccepted(handler, { type: "CheckIn", ...ids, now: at(120) });
  return ids;
}

describe("a booking's saved card on its payment's stream (issue 68 item 4)", () => {
  it("is sealed on the intent's fact, read back by the process, and charged an overstay off-session", async () => {
    const ids = await paidWithCard("card-1", "customer-card");
    const raw = [];
    for await (const recorded of store.readStream("payment-card-1")) raw.push(recorded);
    const created = raw.find((r) => r.type === "PaymentIntentCreated");
    expect(JSON.stringify(created?.data)).not.toContain("pm_card_visa");
    expect((await readPaymentProcess(store, "card-1")).card).toEqual({
      method: "pm_card_visa",
      customerId: "customer-card",
    });
    await runThenSettle(handler, { type: "CheckOut", ...ids, now: at(210) });
    expect(await runNext("card-1", deps(at(211)))).toBe("done");
    expect(charged).toEqual([{ paymentMethod: "pm_card_visa", customer: expect.any(String) }]);
    expect(charged[0]?.customer).not.toBe("customer-card");
  });

  it("reads erased once its customer is erased: the overstay is recorded not charged", async () => {
    const ids = await paidWithCard("card-2", "customer-gone");
    keys.erase("customer-gone");
    expect((await readPaymentProcess(store, "card-2")).card).toBeUndefined(); // its method reads erased
    expect(customerRefOf("erased")).toBeUndefined();
    await runThenSettle(handler, { type: "CheckOut", ...ids, now: at(210) });
    charged.length = 0;
    expect(await runNext("card-2", deps(at(211)))).toBe("done");
    expect(charged).toEqual([]);
    const payment = await handler.paymentStateOf(LOT, "card-2");
    const steps = payment.kind === "open" ? payment.steps : [];
    expect(steps.filter((step) => step.endsWith(":overstay"))).toHaveLength(1);
  });
});

describe("a booking's payment request on its payment's stream (issue 68 item 4)", () => {
  it("is recorded once however often the saga follows it, its card sealed, and authorized under the lot fact's keys", async () => {
    const ids = { parkingLotId: LOT, reservationId: "req-1" };
    await runAccepted(handler, {
      type: "ReserveParking",
      ...ids,
      customerId: "customer-req",
      carNumber: "12가3456",
      startsAt: at(120),
      endsAt: at(180),
      paymentMethod: "pm_card_visa",
      now: at(1),
    });
    const reserved = [];
    for await (const recorded of store.readStream(`parkingLot-${LOT}`))
      if (recorded.type === "ParkingReserved") reserved.push(decodeEvent(recorded));
    const requests = requestsOf(reserved.slice(-1), at(1));
    expect(requests).toHaveLength(1);
    // The saga follows the batch twice (a crash before its checkpoint): the stream records it once.
    for (const { command, correlationId } of [...requests, ...requests]) {
      const sent = await senderVia(handler)(command, { correlationId, causationId: command.requestedBy });
      expect(sent.ok).toBe(true);
    }
    const raw = [];
    for await (const recorded of store.readStream("payment-req-1")) raw.push(recorded);
    expect(raw.map((r) => r.type)).toEqual(["PaymentRequested"]);
    expect(JSON.stringify(raw[0]?.data)).not.toContain("pm_card_visa");
    expect(JSON.stringify(raw[0]?.data)).not.toContain("customer-req");
    const keysAsked: string[] = [];
    const provider = {
      createCustomer: async (ref: string) => ({ ok: true, value: { customerId: `cus_${ref.slice(0, 6)}` } }),
      createIntent: async (request: { idempotencyKey: string; amount: number }) => {
        keysAsked.push(request.idempotencyKey);
        return { ok: true, value: { intentId: "pi_req", status: "pending", amount: request.amount } };
      },
      confirm: async (_intentId: string, _method: string, key: string) => {
        keysAsked.push(key);
        return { ok: true, value: { intentId: "pi_req", status: "authorized", amount: 6000 } };
      },
    };
    const lot = { lotState: (id: string) => handler.stateOf(id) };
    expect(await runNext("req-1", { ...deps(at(2)), ...lot, provider } as unknown as StepDeps)).toBe("done");
    const requestedBy = requests[0]?.command.requestedBy;
    expect(keysAsked).toEqual([`parking:${requestedBy}:authorize`, `parking:${requestedBy}:confirm`]);
    expect(await handler.paymentStateOf(LOT, "req-1")).toMatchObject({
      status: "authorized",
      authorized: 6000,
    });
    expect((await readPaymentProcess(store, "req-1")).card).toEqual({
      method: "pm_card_visa",
      customerId: "customer-req",
    });
  });
});
