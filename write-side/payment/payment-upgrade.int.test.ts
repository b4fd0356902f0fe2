import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { SqliteDocumentStore } from "../../document-store/embedded/sqlite-document-store.js";
import { SqliteEventStore } from "../../event-store/embedded/sqlite-event-store.js";
import { systemActor } from "../../schemas/actor.js";
import { encodeEvent } from "../../schemas/event-codec.js";
import type { EventOfType } from "../../schemas/events.js";
import { commandContext, paidLotHandler, runSettled, typesByStream } from "../../test-support/paid-lot.js";
import { tempDataDir } from "../../test-support/service.js";
import type { ParkingLotCommandHandler } from "../command-handler.js";
import { parkingLotStream } from "../parking-lot/decider.js";
import type { OpenPayment } from "./payment.js";
import { paymentCommandHandler } from "./payment-handler.js";
import { carryPaymentsOver, type PaymentUpgradeOptions, upgradePayments } from "./payment-upgrade.js";

/*
 * Issue 48, item 5: a lot's history written the OLD way (payment facts on the lot's stream, as
 * before payments had streams of their own), then the upgrade: each old payment carried onto its
 * own stream, which alone answers from then on.
 */

const LOT = "upgrade-lot";
const AT = Date.parse("2026-11-27T01:00:00.000Z");
const at = (minutes: number) => new Date(AT + minutes * 60_000).toISOString();
const OLD = ["captured-before", "pending-before", "canceled-before"];

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function open() {
  const data = tempDataDir("payment-upgrade-");
  const store = SqliteEventStore.open({ file: join(data.dir, "events.sqlite"), pollIntervalMs: 20 });
  const documents = SqliteDocumentStore.open({ file: join(data.dir, "read-models.sqlite") });
  cleanups.push(
    data.remove,
    () => store.close(),
    () => documents.close(),
  );
  return { store, documents, handler: handlerOn(store) };
}

const handlerOn = (store: SqliteEventStore) => paidLotHandler(store);

const run = runSettled;
const context = commandContext;

const ids = (reservationId: string) => ({ parkingLotId: LOT, reservationId });

/**
 * A lot whose payments were written the old way: `captured-before` authorized on the lot's stream,
 * then checked out and captured since (its payment stream's facts on top of the lot's record);
 * `pending-before` with its intent recorded on the lot's stream; `canceled-before` authorized there
 * and not settled; `fresh` paid on its own stream (nothing to carry over).
 */
async function oldLot(store: SqliteEventStore, handler: ParkingLotCommandHandler) {
  await run(handler, {
    type: "RegisterParkingLot",
    parkingLotId: LOT,
    name: "Lot",
    capacity: 10,
    hourlyRate: 6000,
    now: at(0),
  });
  for (const id of [...OLD, "fresh"])
    await run(handler, {
      type: "ReserveParking",
      ...ids(id),
      customerId: `customer-${id}`,
      carNumber: "12가3456",
      startsAt: at(120),
      endsAt: at(180),
      now: at(0),
    });
  const causation = { correlationId: "old", causationId: "old", actor: systemActor("payments") };
  const intent = (id: string): EventOfType<"PaymentIntentCreated"> => ({
    type: "PaymentIntentCreated",
    data: { ...ids(id), intentId: `pi_old_${id}`, amount: 6000, currency: "KRW", createdAt: at(0) },
  });
  const authorized = (id: string): EventOfType<"PaymentAuthorized"> => ({
    type: "PaymentAuthorized",
    data: { ...ids(id), intentId: `pi_old_${id}`, amount: 6000, currency: "KRW", authorizedAt: at(1) },
  });
  // The fixture, written the old way: the payment facts appended to the lot's stream.
  const old = [
    intent("captured-before"),
    authorized("captured-before"),
    intent("pending-before"),
    intent("canceled-before"),
    authorized("canceled-before"),
  ];
  await store.appendToStream(
    parkingLotStream(LOT),
    old.map((event) => encodeEvent(event, causation)),
    { expectedRevision: "any" },
  );
  await run(handler, { type: "CheckIn", ...ids("captured-before"), now: at(120) });
  await run(handler, { type: "CheckOut", ...ids("captured-before"), now: at(180) });
  // What the version before the upgrade appended since to its payment's stream, on top of the lot's record.
  const since: EventOfType<"PaymentSettlementDecided" | "PaymentCaptured">[] = [
    {
      type: "PaymentSettlementDecided",
      data: {
        ...ids("captured-before"),
        intentId: "pi_old_captured-before",
        currency: "KRW",
        capture: 6000,
        release: 0,
        offSession: 0,
        refund: 0,
        because: "check-out",
        decidedAt: at(180),
      },
    },
    {
      type: "PaymentCaptured",
      data: {
        ...ids("captured-before"),
        intentId: "pi_old_captured-before",
        amount: 6000,
        currency: "KRW",
        settlementId: "settle-old",
        capturedAt: at(181),
      },
    },
  ];
  await store.appendToStream(
    "payment-captured-before",
    since.map((event) => encodeEvent(event, causation)),
    { expectedRevision: "no_stream" },
  );
  const fresh = { ...ids("fresh"), intentId: "pi_fresh", amount: 6000, currency: "KRW", now: at(2) };
  await run(handler, { type: "RecordPaymentIntent", ...fresh });
  await run(handler, { type: "AuthorizePayment", ...fresh });
}

/** Each old payment as the scheme before the upgrade computed it (the lot's record, its stream's facts on top). */
const paidOld = (id: string, more: Partial<OpenPayment> = {}): OpenPayment => ({
  kind: "open",
  ...ids(id),
  status: "authorized",
  intentId: `pi_old_${id}`,
  currency: "KRW",
  authorized: 6000,
  captured: 0,
  refunded: 0,
  refundsOutstanding: [],
  settled: false,
  steps: [],
  releasedIntents: [],
  facts: [{ kind: "authorized", intentId: `pi_old_${id}`, amount: 6000 }],
  ...more,
});
const EXPECTED: Record<string, OpenPayment> = {
  "captured-before": paidOld("captured-before", {
    captured: 6000,
    settled: true,
    endedAt: at(180),
    steps: ["settle-old:capture"],
    facts: [
      { kind: "authorized", intentId: "pi_old_captured-before", amount: 6000 },
      { kind: "captured", intentId: "pi_old_captured-before", amount: 6000 },
    ],
  }),
  "pending-before": paidOld("pending-before", { status: "pending", authorized: 0, facts: [] }),
  "canceled-before": paidOld("canceled-before"),
};

/** A payment from its stream alone (a fresh handler: no cache, no lot). */
const fromItsStream = (store: SqliteEventStore, id: string) => paymentCommandHandler(store, 5).stateNow(id);

const optionsOn = (store: SqliteEventStore): PaymentUpgradeOptions => ({
  eventStore: store,
  now: () => new Date(AT + 200 * 60_000),
});

describe("the payments upgrade (issue 48, item 5)", () => {
  it("carries every old payment onto its own stream: the same state from it alone, once, the lot's stream untouched", async () => {
    const { store, documents, handler } = open();
    await oldLot(store, handler);
    // Before the upgrade, the payment's stream alone does not know the old payment.
    expect(await fromItsStream(store, "pending-before")).toEqual({ kind: "none" });
    const before = await typesByStream(store);

    const first = await upgradePayments(documents, optionsOn(store));
    expect(first).toMatchObject({ lotsTotal: 1, carried: 3, skipped: 0, doneBefore: false });
    const after = await typesByStream(store);
    expect(after.get(parkingLotStream(LOT))).toEqual(before.get(parkingLotStream(LOT)));
    expect(after.get("payment-fresh")).toEqual(before.get("payment-fresh"));
    expect(after.get("payment-captured-before")).toEqual([
      "PaymentSettlementDecided",
      "PaymentCaptured",
      "PaymentCarriedOver",
    ]);
    for (const id of OLD) {
      const { asked, ...state } = (await fromItsStream(store, id)) as OpenPayment;
      expect(state).toEqual(EXPECTED[id]);
      expect(asked).toMatchObject({ amount: 6000, currency: "KRW", holdUntil: at(10) });
    }

    // Twice: the record says done (one read); run whole again, it carries nothing.
    expect(await upgradePayments(documents, optionsOn(store))).toMatchObject({ doneBefore: true });
    expect(await carryPaymentsOver(optionsOn(store))).toMatchObject({ carried: 0, skipped: 3 });
    expect(await typesByStream(store)).toEqual(after);
  });

  it("a refund, a release and an authorization on old payments work from their streams after it", async () => {
    const { store, handler } = open();
    await oldLot(store, handler);
    await carryPaymentsOver(optionsOn(store));
    const later = handlerOn(store);
    expect(
      await run(later, {
        type: "RefundPayment",
        ...ids("captured-before"),
        amount: 1000,
        reason: "gate",
        now: at(200),
      }),
    ).toEqual(["PaymentSettlementDecided"]);
    expect(
      await run(later, {
        type: "CancelReservation",
        ...ids("canceled-before"),
        reason: "operator",
        now: at(30),
      }),
    ).toEqual(["ReservationCanceled", "PaymentSettlementDecided"]);
    expect(
      await run(later, {
        type: "RecordPaymentOutcome",
        ...ids("canceled-before"),
        settlementId: "settle-cancel",
        step: "release",
        outcome: { ok: true, intentId: "pi_old_canceled-before", amount: 6000 },
        now: at(31),
      }),
    ).toEqual(["PaymentReleased"]);
    // The intent recorded the old way still counts: only it authorizes the booking.
    const waiting = { ...ids("pending-before"), amount: 6000, currency: "KRW", now: at(2) };
    const other = await later.handle(
      { type: "AuthorizePayment", ...waiting, intentId: "pi_other" },
      context(),
    );
    expect(!other.ok && other.rejection.code).toBe("PaymentMismatch");
    expect(
      await run(later, { type: "AuthorizePayment", ...waiting, intentId: "pi_old_pending-before" }),
    ).toEqual(["PaymentAuthorized", "ReservationConfirmed"]);
    expect(await fromItsStream(store, "captured-before")).toMatchObject({
      refundsOutstanding: [{ intentId: "pi_old_captured-before", amount: 1000 }],
    });
    expect(await fromItsStream(store, "canceled-before")).toMatchObject({
      settled: true,
      steps: ["settle-cancel:release"],
    });
  });

  it("a command racing the upgrade on the same payment is not lost: the upgrade reads again and carries what it left", async () => {
    const { store, handler } = open();
    await oldLot(store, handler);
    let raced = false;
    const racing = Object.create(store) as SqliteEventStore;
    racing.appendToStream = async (streamId, events, options) => {
      if (!raced && streamId === "payment-canceled-before") {
        raced = true;
        // The service records a release of a stray intent on this payment between the upgrade's read and its append.
        await run(handler, {
          type: "RecordIntentReleased",
          ...ids("canceled-before"),
          intentId: "pi_stray",
          amount: 0,
          because: "reconciliation",
          now: at(190),
        });
      }
      return store.appendToStream(streamId, events, options);
    };
    const result = await carryPaymentsOver({ ...optionsOn(store), eventStore: racing });
    expect(raced).toBe(true);
    expect(result).toMatchObject({ carried: 3 });
    expect((await typesByStream(store)).get("payment-canceled-before")).toEqual([
      "PaymentIntentReleased",
      "PaymentCarriedOver",
    ]);
    expect(await fromItsStream(store, "canceled-before")).toMatchObject({
      status: "authorized",
      releasedIntents: ["pi_stray"],
    });
  });
});
