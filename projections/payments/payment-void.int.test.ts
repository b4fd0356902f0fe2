import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EventStore } from "../../event-store/port.js";
import { decodeEvent, type StoredDomainEvent } from "../../schemas/event-codec.js";
import { commandContext, paidLotIn, runAccepted, senderVia } from "../../test-support/paid-lot.js";
import type { ParkingLotCommandHandler } from "../../write-side/command-handler.js";
import { nextStep } from "../../write-side/payment/payment-next.js";
import { readPaymentProcess } from "./payment-due.js";
import { endsOf } from "./payment-inbox.js";
import { decideEnd, runNext } from "./payment-steps.js";
import type { StepDeps } from "./step-common.js";

/*
 * Issue 68 item 4: a booking that ended unpaid (canceled, a no-show) leaves the intent it recorded
 * to be canceled at the provider. Its end, as the payments process manager follows it, decides that
 * on the payment's stream (PaymentVoidDecided, once), and the stream's next step carries it out
 * under the end's key (`parking:{endId}:void`), as the void plan did; nothing is queued.
 */

const LOT = "void-lot";
const AT = Date.parse("2026-11-27T01:00:00.000Z");
const at = (minutes: number) => new Date(AT + minutes * 60_000).toISOString();
const silent = { debug() {}, info() {}, warn() {}, error() {} } as never;

let store: EventStore;
let handler: ParkingLotCommandHandler;
let close: () => Promise<void>;
const released: { intentId: string; key: string }[] = [];

beforeAll(async () => {
  ({ store, handler, close } = await paidLotIn("payment-void-", {
    parkingLotId: LOT,
    name: "Lot",
    now: at(0),
  }));
});
afterAll(async () => {
  await close();
});

const deps = (now: string): StepDeps =>
  ({
    provider: {
      release: async (intentId: string, key: string) => {
        released.push({ intentId, key });
        return { ok: true, value: { released: 0 } };
      },
    },
    send: senderVia(handler),
    logger: silent,
    now: () => now,
    paymentProcess: (reservationId: string) => readPaymentProcess(store, reservationId),
    oldSavedMethod: async () => undefined,
  }) as unknown as StepDeps;

/** A booking waiting for its payment, its intent recorded (or not), then canceled by its customer. */
async function bookedThenCanceled(reservationId: string, recordIntent: boolean): Promise<StoredDomainEvent> {
  const ids = { parkingLotId: LOT, reservationId };
  await runAccepted(handler, {
    type: "ReserveParking",
    ...ids,
    customerId: `customer-${reservationId}`,
    carNumber: "12가3456",
    startsAt: at(120),
    endsAt: at(180),
    now: at(1),
  });
  if (recordIntent)
    await runAccepted(handler, {
      type: "RecordPaymentIntent",
      ...ids,
      intentId: `pi_${reservationId}`,
      amount: 6000,
      currency: "KRW",
      now: at(1),
    });
  const canceled = await handler.handle(
    { type: "CancelReservation", ...ids, reason: "changed plans", now: at(2) },
    commandContext("customer"),
  );
  expect(canceled.ok).toBe(true);
  let end: StoredDomainEvent | undefined;
  for await (const recorded of store.readStream(`parkingLot-${LOT}`)) {
    const stored = decodeEvent(recorded);
    if (stored.event.type === "ReservationCanceled" && stored.event.data.reservationId === reservationId)
      end = stored;
  }
  return end as StoredDomainEvent;
}

const factsOf = async (reservationId: string) => {
  const types: string[] = [];
  for await (const recorded of store.readStream(`payment-${reservationId}`)) types.push(recorded.type);
  return types;
};

describe("the void of an intent a booking left unpaid (issue 68 item 4)", () => {
  it("is decided on the payment's stream by the booking's end, once, and carried out under the end's key", async () => {
    const end = await bookedThenCanceled("unpaid", true);
    const [ended] = endsOf([end]);
    expect(ended).toBeDefined();
    // Followed twice (a crash before the checkpoint): one decision.
    await decideEnd(ended as never, deps(at(2)));
    await decideEnd(ended as never, deps(at(2)));
    expect(await factsOf("unpaid")).toEqual(["PaymentIntentCreated", "PaymentVoidDecided"]);
    const process = await readPaymentProcess(store, "unpaid");
    expect(nextStep(process, at(2))).toEqual({ kind: "void", eventId: end.id, intentId: "pi_unpaid" });

    expect(await runNext("unpaid", deps(at(3)))).toBe("done");
    expect(released).toEqual([{ intentId: "pi_unpaid", key: `parking:${end.id}:void` }]);
    expect(await factsOf("unpaid")).toEqual([
      "PaymentIntentCreated",
      "PaymentVoidDecided",
      "PaymentIntentReleased",
    ]);
    // Done: the provider is not asked again.
    expect(await runNext("unpaid", deps(at(4)))).toBe("done");
    expect(released).toHaveLength(1);
  });

  it("decides nothing for a booking whose intent was never recorded", async () => {
    const end = await bookedThenCanceled("no-intent", false);
    for (const ended of endsOf([end])) await decideEnd(ended, deps(at(2)));
    expect(await factsOf("no-intent")).toEqual([]);
  });
});
