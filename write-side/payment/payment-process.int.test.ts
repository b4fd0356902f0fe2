import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { SqliteEventStore } from "../../event-store/embedded/sqlite-event-store.js";
import { systemActor } from "../../schemas/actor.js";
import { encodeEvent } from "../../schemas/event-codec.js";
import {
  commandContext,
  paidLotHandler,
  runAccepted,
  runSettled,
  runThenSettle,
  typesByStream,
} from "../../test-support/paid-lot.js";
import { tempDataDir } from "../../test-support/service.js";
import { ParkingLotCommandHandler } from "../command-handler.js";
import { type ParkingLotEvent, parkingLotOfStream, parkingLotStream } from "../parking-lot/decider.js";
import { bookingEndOf, cancelSettlementOf } from "./lot-booking.js";
import { PAYMENT_EVENT_TYPES } from "./payment.js";
import type { PaymentEvent } from "./payment-facts.js";
import { paymentCommandHandler } from "./payment-handler.js";
import { PaymentProcess } from "./payment-process.js";
import { carryPaymentsOver } from "./payment-upgrade.js";

/*
 * Issue 48, item 1: no payment fact on a lot's stream. Every payment command goes through the lot's
 * command handler as before, but is decided on `payment-{reservationId}` first; the lot's stream
 * holds only what the lot decides (the booking, its confirmation, its cancel, its check-out).
 */

const LOT = "pay-lot";
const AT = Date.parse("2026-11-27T01:00:00.000Z");
const at = (minutes: number) => new Date(AT + minutes * 60_000).toISOString();

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function open(): { store: SqliteEventStore; handler: ParkingLotCommandHandler } {
  const data = tempDataDir("payment-process-");
  const store = SqliteEventStore.open({ file: join(data.dir, "events.sqlite"), pollIntervalMs: 20 });
  cleanups.push(data.remove, () => store.close());
  return { store, handler: paidLotHandler(store) };
}

const context = commandContext;
const run = runSettled;

const ids = (reservationId: string) => ({ parkingLotId: LOT, reservationId });

/** A booking of an hour two hours on, waiting for its payment of 6,000 KRW. */
async function book(
  handler: ParkingLotCommandHandler,
  reservationId: string,
  minute = 0,
  recordIntent = true,
) {
  await run(handler, {
    type: "ReserveParking",
    ...ids(reservationId),
    customerId: `customer-${reservationId}`,
    carNumber: "12가3456",
    startsAt: at(120),
    endsAt: at(180),
    now: at(minute),
  });
  const intent = {
    ...ids(reservationId),
    intentId: `pi_${reservationId}`,
    amount: 6000,
    currency: "KRW",
    now: at(minute),
  };
  if (recordIntent) await run(handler, { type: "RecordPaymentIntent", ...intent });
  return intent;
}

describe("payments on their own streams (issue 48)", () => {
  it("books, authorizes, captures with an overstay, refunds a cancel, fails and expires: no payment fact on the lot's stream, each on its payment's", async () => {
    const { store, handler } = open();
    await run(handler, {
      type: "RegisterParkingLot",
      parkingLotId: LOT,
      name: "Lot",
      capacity: 10,
      hourlyRate: 6000,
      now: at(0),
    });
    // Checked out 30 minutes past its window: the stay's price captured, the overstay charged.
    const stay = await book(handler, "stay");
    expect(await run(handler, { type: "AuthorizePayment", ...stay })).toEqual([
      "PaymentAuthorized",
      "ReservationConfirmed",
    ]);
    await run(handler, { type: "CheckIn", ...ids("stay"), now: at(120) });
    // The check-out appends to the lot's stream alone; the payments process manager asks for its
    // settlement from the lot's end event (issue 68), and asking again decides nothing.
    const checkedOut = await runThenSettle(handler, { type: "CheckOut", ...ids("stay"), now: at(210) });
    expect(checkedOut.map((e) => [e.type, e.data])).toMatchObject([
      ["ReservationCheckedOut", { overstayCharge: 3000 }],
      ["PaymentSettlementDecided", { capture: 6000, offSession: 3000, because: "check-out" }],
    ]);
    const again = await run(handler, {
      type: "SettleBooking",
      ...ids("stay"),
      end: { because: "check-out", overstayCharge: 3000 },
      now: at(210),
    });
    expect(again).toEqual([]);
    for (const [step, amount] of [
      ["capture", 6000],
      ["overstay", 3000],
    ] as const)
      await run(handler, {
        type: "RecordPaymentOutcome",
        ...ids("stay"),
        settlementId: "settle-stay",
        step,
        outcome: { ok: true, intentId: "pi_stay", amount },
        now: at(211),
      });
    // Canceled by an operator after its authorization: all released; then a refund is refused (nothing captured).
    const canceled = await book(handler, "canceled");
    await run(handler, { type: "AuthorizePayment", ...canceled });
    await run(handler, { type: "CancelReservation", ...ids("canceled"), reason: "operator", now: at(30) });
    await run(handler, {
      type: "SettleBooking",
      ...ids("canceled"),
      end: { because: "operator-cancel" },
      now: at(30),
    });
    await run(handler, {
      type: "RecordPaymentOutcome",
      ...ids("canceled"),
      settlementId: "settle-canceled",
      step: "release",
      outcome: { ok: true, intentId: "pi_canceled", amount: 6000 },
      now: at(31),
    });
    // The stay's refund: part of what was captured.
    expect(
      await run(handler, {
        type: "RefundPayment",
        ...ids("stay"),
        amount: 1000,
        reason: "gate stuck",
        now: at(220),
      }),
    ).toEqual(["PaymentSettlementDecided"]);
    // A decline: the payment fails on its stream, the lot cancels the booking.
    await book(handler, "declined");
    expect(
      await run(handler, {
        type: "FailPayment",
        ...ids("declined"),
        intentId: "pi_declined",
        code: "card_declined",
        now: at(1),
      }),
    ).toEqual(["PaymentFailed", "ReservationCanceled"]);
    // The hold runs out: the lot decides it, the payment fails first.
    await book(handler, "expired");
    expect(await run(handler, { type: "ExpirePaymentHold", ...ids("expired"), now: at(11) })).toEqual([
      "PaymentFailed",
      "ReservationCanceled",
    ]);

    const streams = await typesByStream(store);
    const onLots = [...streams]
      .filter(([stream]) => parkingLotOfStream(stream) !== undefined)
      .flatMap(([, types]) => types);
    expect(onLots.filter((type) => PAYMENT_EVENT_TYPES.has(type))).toEqual([]);
    expect(onLots).toContain("ReservationConfirmed");
    expect(streams.get("payment-stay")).toEqual([
      "PaymentIntentCreated",
      "PaymentAuthorized",
      "PaymentSettlementDecided",
      "PaymentCaptured",
      "OverstayCharged",
      "PaymentSettlementDecided",
    ]);
    expect(streams.get("payment-canceled")).toEqual([
      "PaymentIntentCreated",
      "PaymentAuthorized",
      "PaymentSettlementDecided",
      "PaymentReleased",
    ]);
    expect(streams.get("payment-declined")).toEqual(["PaymentIntentCreated", "PaymentFailed"]);
    expect(streams.get("payment-expired")).toEqual(["PaymentIntentCreated", "PaymentFailed"]);
  });

  it("a booking canceled before its authorization arrives: the payment refuses it (not pending) and records nothing; the saga releases the intent as before", async () => {
    const { store, handler } = open();
    await run(handler, {
      type: "RegisterParkingLot",
      parkingLotId: LOT,
      name: "Lot",
      capacity: 10,
      hourlyRate: 6000,
      now: at(0),
    });
    const late = await book(handler, "late");
    // The lot ends the booking first (its customer cancels it while it waits).
    const canceled = await handler.handle(
      {
        type: "CancelReservation",
        ...ids("late"),
        reason: "changed plans",
        requestedBy: "customer-late",
        now: at(2),
      },
      context("customer"),
    );
    expect(canceled.ok).toBe(true);
    // The provider's authorization arrives: its intent was recorded while the booking waited, but
    // the lot no longer waits for it.
    const outcome = await handler.handle({ type: "AuthorizePayment", ...late, now: at(3) }, context());
    expect(outcome.ok).toBe(false);
    expect(!outcome.ok && outcome.rejection.code).toBe("PaymentNotPending");
    const streams = await typesByStream(store);
    expect(streams.get("payment-late")).toEqual(["PaymentIntentCreated"]);
    expect(await handler.paymentStateOf(LOT, "late")).toMatchObject({ status: "pending" });
  });

  it("an authorization decided on the payment's stream while the lot canceled the booking: the lot refuses and the authorization is released in full", async () => {
    const { store, handler } = open();
    await run(handler, {
      type: "RegisterParkingLot",
      parkingLotId: LOT,
      name: "Lot",
      capacity: 10,
      hourlyRate: 6000,
      now: at(0),
    });
    const raced = await book(handler, "raced");
    // The payment reads the lot while the booking still waits ...
    const waiting = await handler.currentState(LOT);
    // ... and the customer's cancel lands before the lot hears the authorization: simulated by
    // canceling, then authorizing with the lot's answer as it was read first.
    await handler.handle(
      {
        type: "CancelReservation",
        ...ids("raced"),
        reason: "changed plans",
        requestedBy: "customer-raced",
        now: at(2),
      },
      context("customer"),
    );
    let reads = 0;
    const process = new PaymentProcess(
      {
        stateNow: async (lot) => (reads++ === 0 ? waiting : handler.currentState(lot)),
        handle: (command, ctx) => handler.handle(command, ctx),
      },
      paymentCommandHandler(store, 3),
    );
    const outcome = await process.handle({ type: "AuthorizePayment", ...raced, now: at(3) }, context());
    expect(outcome.ok && outcome.events.map((e) => e.type)).toEqual([
      "PaymentAuthorized",
      "PaymentSettlementDecided",
    ]);
    const streams = await typesByStream(store);
    expect(streams.get(parkingLotStream(LOT))).not.toContain("ReservationConfirmed");
    const payment = await handler.paymentStateOf(LOT, "raced");
    expect(payment).toMatchObject({ status: "authorized", settled: true });
    const decided = outcome.ok
      ? outcome.events.find((e) => e.type === "PaymentSettlementDecided")
      : undefined;
    expect(decided?.data).toMatchObject({ capture: 0, release: 6000, because: "operator-cancel" });
  });

  it("a payment is one lot's: its reservation named under another lot is not found, and nothing is appended", async () => {
    const { store, handler } = open();
    await run(handler, {
      type: "RegisterParkingLot",
      parkingLotId: LOT,
      name: "Lot",
      capacity: 10,
      hourlyRate: 6000,
      now: at(0),
    });
    await run(handler, {
      type: "RegisterParkingLot",
      parkingLotId: "other",
      name: "Other",
      capacity: 10,
      now: at(0),
    });
    const paid = await book(handler, "paid");
    await run(handler, { type: "AuthorizePayment", ...paid });
    const before = await typesByStream(store);
    const outcome = await handler.handle(
      {
        type: "RefundPayment",
        parkingLotId: "other",
        reservationId: "paid",
        amount: 100,
        reason: "x",
        now: at(5),
      },
      context("operator"),
    );
    expect(!outcome.ok && outcome.rejection.code).toBe("ReservationNotFound");
    expect(await typesByStream(store)).toEqual(before);
  });

  it("old data: a payment whose facts a lot's stream holds (written before issue 48), carried over by the upgrade, is settled, captured and refunded on its own stream from there", async () => {
    const { store, handler } = open();
    await run(handler, {
      type: "RegisterParkingLot",
      parkingLotId: LOT,
      name: "Lot",
      capacity: 10,
      hourlyRate: 6000,
      now: at(0),
    });
    await book(handler, "paid-before", 0, false);
    const waiting = await book(handler, "pending-before", 0, false);
    // The fixture, written the old way: the payment facts appended to the lot's stream.
    const old = async (events: (ParkingLotEvent | PaymentEvent)[]) => {
      const causation = { correlationId: "old", causationId: "old", actor: systemActor("payments") };
      await store.appendToStream(
        parkingLotStream(LOT),
        events.map((event) => encodeEvent(event, causation)),
        { expectedRevision: "any" },
      );
    };
    const intent = (reservationId: string): PaymentEvent => ({
      type: "PaymentIntentCreated",
      data: {
        ...ids(reservationId),
        intentId: `pi_old_${reservationId}`,
        amount: 6000,
        currency: "KRW",
        createdAt: at(0),
      },
    });
    await old([
      intent("paid-before"),
      {
        type: "PaymentAuthorized",
        data: {
          ...ids("paid-before"),
          intentId: "pi_old_paid-before",
          amount: 6000,
          currency: "KRW",
          authorizedAt: at(1),
        },
      },
      intent("pending-before"),
    ]);
    // The upgrade (on start): the payments the lot's stream holds carried onto their own streams.
    const upgraded = await carryPaymentsOver({
      eventStore: store,
      now: () => new Date(at(2)),
    });
    expect(upgraded).toMatchObject({ lotsTotal: 1, carried: 2 });
    // The old authorization made it RESERVED: it checks in and out, and its money is settled.
    await run(handler, { type: "CheckIn", ...ids("paid-before"), now: at(120) });
    const settled = await runThenSettle(handler, { type: "CheckOut", ...ids("paid-before"), now: at(180) });
    expect(settled.map((e) => [e.type, e.data])).toMatchObject([
      ["ReservationCheckedOut", {}],
      ["PaymentSettlementDecided", { intentId: "pi_old_paid-before", capture: 6000, release: 0 }],
    ]);
    await run(handler, {
      type: "RecordPaymentOutcome",
      ...ids("paid-before"),
      settlementId: "settle-old",
      step: "capture",
      outcome: { ok: true, intentId: "pi_old_paid-before", amount: 6000 },
      now: at(181),
    });
    expect(
      await run(handler, {
        type: "RefundPayment",
        ...ids("paid-before"),
        amount: 1000,
        reason: "gate",
        now: at(200),
      }),
    ).toEqual(["PaymentSettlementDecided"]);
    // An intent recorded the old way still counts: only it authorizes the booking.
    const other = await handler.handle(
      { type: "AuthorizePayment", ...waiting, intentId: "pi_other", now: at(2) },
      context(),
    );
    expect(!other.ok && other.rejection.code).toBe("PaymentMismatch");
    expect(
      await run(handler, {
        type: "AuthorizePayment",
        ...waiting,
        intentId: "pi_old_pending-before",
        now: at(2),
      }),
    ).toEqual(["PaymentAuthorized", "ReservationConfirmed"]);
    const streams = await typesByStream(store);
    expect(streams.get("payment-paid-before")).toEqual([
      "PaymentCarriedOver",
      "PaymentSettlementDecided",
      "PaymentCaptured",
      "PaymentSettlementDecided",
    ]);
    expect(await handler.paymentStateOf(LOT, "paid-before")).toMatchObject({ captured: 6000, settled: true });
  });

  it("issue 68: a lot's cancel never writes the payment's stream: answered with that store out, settled by the saga's end plan after", async () => {
    const { store } = open();
    let paymentsOut = false;
    const flaky = Object.create(store) as SqliteEventStore;
    flaky.appendToStream = (streamId, events, options) =>
      paymentsOut && streamId.startsWith("payment-")
        ? Promise.reject(new Error("the store is out"))
        : store.appendToStream(streamId, events, options);
    const handler = new ParkingLotCommandHandler(flaky, {
      retryLimit: 5,
      cacheSize: 16,
      payments: { on: true, holdSeconds: 600 },
    });
    await run(handler, {
      type: "RegisterParkingLot",
      parkingLotId: LOT,
      name: "Lot",
      capacity: 10,
      hourlyRate: 6000,
      now: at(0),
    });
    const paid = await book(handler, "out");
    await run(handler, { type: "AuthorizePayment", ...paid });
    paymentsOut = true;
    expect(
      await runAccepted(handler, {
        type: "CancelReservation",
        ...ids("out"),
        reason: "operator",
        now: at(30),
      }),
    ).toEqual(["ReservationCanceled"]);
    paymentsOut = false;
    expect(
      await run(handler, {
        type: "SettleBooking",
        ...ids("out"),
        end: { because: "operator-cancel" },
        now: at(31),
      }),
    ).toEqual(["PaymentSettlementDecided"]);
  });
});

describe("a booking's money in one process (issue 68)", () => {
  it("a customer's late cancel appends to the lot's stream only; its answer states the fee by the lot's terms, which the saga's end plan then records", async () => {
    const { store, handler } = open();
    await run(handler, {
      type: "RegisterParkingLot",
      parkingLotId: LOT,
      name: "Lot",
      capacity: 10,
      hourlyRate: 6000,
      now: at(0),
    });
    const terms = {
      currency: "KRW",
      deposit: 0,
      cancellation: { freeUntilMinutesBefore: 60, feePercent: 50 },
      noShowFee: 0,
    };
    await run(handler, { type: "ChangePaymentTerms", parkingLotId: LOT, terms, now: at(0) });
    const paid = await book(handler, "late", 1);
    await run(handler, { type: "AuthorizePayment", ...paid });
    const cancel = {
      type: "CancelReservation" as const,
      ...ids("late"),
      reason: "changed plans",
      requestedBy: "customer-late",
      now: at(90),
    };
    const canceled = await handler.handle(cancel, context("customer"));
    if (!canceled.ok) throw new Error(canceled.rejection.code);
    expect(canceled.events.map((e) => e.type)).toEqual(["ReservationCanceled"]);
    expect((await typesByStream(store)).get("payment-late")).not.toContain("PaymentSettlementDecided");
    // The answer's settlement, from the lot's state alone: half of 6,000 kept, the rest released.
    const answered = cancelSettlementOf(canceled.state, canceled.events, "late", "customer");
    expect(answered).toMatchObject({ currency: "KRW", capture: 3000, release: 3000, offSession: 0 });
    // The saga's end plan (as of the cancel) records the same on the payment's stream.
    const [event] = canceled.events;
    const end = event && bookingEndOf(event as ParkingLotEvent, "customer");
    if (!end) throw new Error("no end");
    const settled = await handler.handle(
      { type: "SettleBooking", ...ids("late"), end, now: at(90) },
      context(),
    );
    expect(settled.ok && settled.events.map((e) => [e.type, e.data])).toMatchObject([
      [
        "PaymentSettlementDecided",
        { capture: answered?.capture, release: answered?.release, because: "customer-cancel" },
      ],
    ]);
  });
});

describe("a window that ends while its payment is still awaited", () => {
  // Found with the time-driven facts' property (app/time-driven-facts.property.int.test.ts): the
  // lot records the no-show every view shows; the payment's stream recorded PaymentFailed
  // (`expired` or `declined`) for it all the same, saying the booking was canceled for its payment.
  it("records no failed payment for it: the lot's no-show is the fact, and a late hold's end or decline changes nothing", async () => {
    const { store, handler } = open();
    await run(handler, {
      type: "RegisterParkingLot",
      parkingLotId: LOT,
      name: "Lot",
      capacity: 10,
      now: at(0),
    });
    await run(handler, {
      type: "ReserveParking",
      ...ids("late"),
      customerId: "customer-late",
      carNumber: "12가3456",
      amount: 6000,
      startsAt: at(0),
      endsAt: at(5 + 15),
      now: at(5),
    });
    // The window ends at +20 and the hold (600 s) at +15: the scheduler is behind until +30.
    // Its hold's end falls due first (the scheduler sends the soonest first), then its window's.
    expect(await run(handler, { type: "ExpirePaymentHold", ...ids("late"), now: at(30) })).toEqual([]);
    expect(
      await run(handler, { type: "FailPayment", ...ids("late"), code: "card_declined", now: at(30) }),
    ).toEqual([]);
    expect(await run(handler, { type: "RecordNoShow", ...ids("late"), now: at(30) })).toEqual([
      "ReservationNoShow",
    ]);
    const types = await typesByStream(store);
    expect(types.get("payment-late") ?? []).not.toContain("PaymentFailed");
    expect(types.get(`parkingLot-${LOT}`)).not.toContain("ReservationCanceled");
  });
});
