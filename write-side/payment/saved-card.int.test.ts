import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ParkingLotCommand } from "../../schemas/commands.js";
import {
  commandContext,
  KRW_TERMS,
  paidLotHandler,
  paidLotIn,
  runAccepted,
} from "../../test-support/paid-lot.js";
import type { ParkingLotCommandHandler } from "../command-handler.js";
import type { ParkingLotEvent } from "../parking-lot/decider.js";
import { bookingEndOf, cancelSettlementOf } from "./lot-booking.js";

/**
 * Issue 71, the deadline race: a saved card's hold before the stay asked for its customer
 * (action-required); at the stay's start the process manager fails it (FailPayment) while the
 * customer completes 3-D Secure (the webhook's AuthorizePayment). Two processes on one store, each
 * its own handler and cache: the payment's stream (its expected revision) takes one first, and the
 * other is decided on it. Either the authorization stands (the booking RESERVED, nothing failed),
 * or the failure does (the booking canceled, the authorization refused): never both, never neither.
 */

const LOT = "race-lot";
const AT = Date.parse("2026-11-27T01:00:00.000Z");
const at = (minutes: number) => new Date(AT + minutes * 60_000).toISOString();
const DAY = 24 * 60;
const TERMS = KRW_TERMS;

let one: ParkingLotCommandHandler;
let two: ParkingLotCommandHandler;
let close: () => Promise<void>;

beforeAll(async () => {
  const lot = await paidLotIn("saved-card-race-", {
    parkingLotId: LOT,
    name: "Race",
    now: at(0),
    terms: TERMS,
  });
  ({ handler: one, close } = lot);
  two = paidLotHandler(lot.store);
});
afterAll(async () => close());

/** A booking ten days on, its card saved, its hold before the stay waiting for its customer. */
async function waitingForCustomer(reservationId: string) {
  const about = { parkingLotId: LOT, reservationId };
  const starts = at(10 * DAY);
  await runAccepted(one, {
    type: "ReserveParking",
    ...about,
    customerId: `customer-${reservationId}`,
    carNumber: "12가3456",
    startsAt: starts,
    endsAt: at(10 * DAY + 60),
    paymentMethod: "pm_card_authenticationRequired",
    now: at(0),
  });
  const money = { amount: 6000, currency: "KRW" };
  const authorizeAt = at(9 * DAY);
  await runAccepted(one, {
    type: "AuthorizePayment",
    ...about,
    intentId: "seti_1",
    ...money,
    authorizeAt,
    now: at(1),
  });
  await runAccepted(one, {
    type: "AuthorizePayment",
    ...about,
    intentId: `pi_${reservationId}`,
    ...money,
    actionDeadline: starts,
    now: authorizeAt,
  });
  expect(await one.paymentStateOf(LOT, reservationId)).toMatchObject({ status: "action-required" });
  const fail: ParkingLotCommand = {
    type: "FailPayment",
    ...about,
    code: "authentication_required",
    holdBeforeStay: true,
    now: starts,
  };
  const complete: ParkingLotCommand = {
    type: "AuthorizePayment",
    ...about,
    intentId: `pi_${reservationId}`,
    ...money,
    now: starts,
  };
  return { fail, complete };
}

describe("the deadline race of a hold waiting for its customer (issue 71)", () => {
  it("the payment's stream decides one: authorized and kept, or failed and canceled, whichever it records first", async () => {
    const orders = ["fail-first", "complete-first", "together", "together", "together", "together"] as const;
    for (const [round, order] of orders.entries()) {
      const id = `race-${round}`;
      const { fail, complete } = await waitingForCustomer(id);
      // Each from its own process (its own handler and cache): one after the other, or started together.
      const sendFail = () => one.handle(fail, commandContext());
      const sendComplete = () => two.handle(complete, commandContext());
      const [failed, completed] =
        order === "fail-first"
          ? [await sendFail(), await sendComplete()]
          : order === "complete-first"
            ? await sendComplete().then(async (c) => [await sendFail(), c] as const)
            : await Promise.all([sendFail(), sendComplete()]);
      const payment = await one.paymentStateOf(LOT, id);
      const lot = await one.stateOf(LOT);
      const booking = lot.kind === "registered" ? lot.reservations.get(id) : undefined;
      const events = (o: typeof failed) => (o.ok ? o.events.map((e) => e.type) : []);
      if (order !== "together")
        expect(payment, order).toMatchObject({ status: order === "fail-first" ? "failed" : "authorized" });
      if (payment.kind === "open" && payment.status === "authorized") {
        expect(booking?.status).toBe("RESERVED");
        expect(events(completed)).toContain("PaymentAuthorized");
        expect(events(failed)).toEqual([]);
      } else {
        expect(payment).toMatchObject({ status: "failed" });
        expect(booking?.status).toBe("CANCELED");
        expect(events(failed)).toContain("PaymentFailed");
        expect(events(completed)).not.toContain("PaymentAuthorized");
      }
    }
  });
});

/**
 * Issue 71: a booking whose card's saving asks for 3-D Secure awaits its payment until the card is
 * saved (PENDING_PAYMENT, its spot held), so a cancel meanwhile is free by the lot's one rule
 * (settleAskOf): its answer states no fee, and its payment records none. Before, the lot confirmed it
 * at once and the answer stated the lot's fee, which nothing charged.
 */
describe("a cancel inside the fee window while the card's saving waits for its customer (issue 71)", () => {
  const FEES = "fee-window-lot";
  const wide = { ...TERMS, cancellation: { freeUntilMinutesBefore: 30 * DAY, feePercent: 50 } };

  /** A booking ten days on whose card's saving asked for its customer; `saved`: completed since. */
  async function savingAsked(reservationId: string, saved: boolean) {
    const about = { parkingLotId: FEES, reservationId };
    await runAccepted(one, {
      type: "ReserveParking",
      ...about,
      customerId: `customer-${reservationId}`,
      carNumber: "12가3456",
      startsAt: at(10 * DAY),
      endsAt: at(10 * DAY + 60),
      paymentMethod: "pm_card_threeDSecure2Required",
      now: at(0),
    });
    const setup = { ...about, intentId: `seti_${reservationId}`, amount: 6000, currency: "KRW" };
    const authorizeAt = at(9 * DAY);
    await runAccepted(one, {
      type: "AuthorizePayment",
      ...setup,
      authorizeAt,
      actionDeadline: at(DAY),
      now: at(1),
    });
    // The lot's own hold (ten minutes) runs out: the action's deadline, not it, ends the booking.
    await runAccepted(one, { type: "ExpirePaymentHold", ...about, now: at(30) });
    const status = async () => {
      const lot = await one.stateOf(FEES);
      return lot.kind === "registered" ? lot.reservations.get(reservationId)?.status : undefined;
    };
    expect(await status()).toBe("PENDING_PAYMENT");
    if (saved)
      await runAccepted(one, { type: "AuthorizePayment", ...setup, paymentMethod: "pm_1", now: at(40) });
    expect(await status()).toBe(saved ? "RESERVED" : "PENDING_PAYMENT");
    const cancel = { type: "CancelReservation" as const, ...about, reason: "plans changed", now: at(60) };
    const canceled = await one.handle(
      { ...cancel, requestedBy: `customer-${reservationId}` },
      commandContext("customer"),
    );
    if (!canceled.ok) throw new Error(canceled.rejection.code);
    const answered = cancelSettlementOf(canceled.state, canceled.events, reservationId, "customer");
    const [ended] = canceled.events;
    const end = ended && bookingEndOf(ended as ParkingLotEvent, "customer");
    if (!end) throw new Error("no end");
    const settled = await one.handle({ type: "SettleBooking", ...about, end, now: at(60) }, commandContext());
    const decided = settled.ok ? settled.events.map((e) => e.data) : [];
    return { answered, decided };
  }

  it("not saved yet: the booking awaits its payment, and its cancel's answer and its payment's settlement both owe nothing", async () => {
    await runAccepted(one, {
      type: "RegisterParkingLot",
      parkingLotId: FEES,
      name: "Fees",
      capacity: 10,
      hourlyRate: 6000,
      now: at(0),
    });
    await runAccepted(one, { type: "ChangePaymentTerms", parkingLotId: FEES, terms: wide, now: at(0) });
    const { answered, decided } = await savingAsked("unsaved", false);
    expect(answered).toBeUndefined(); // no `settlement` in the answer: nothing held, nothing owed
    expect(decided).toMatchObject([{ capture: 0, release: 0, offSession: 0, because: "operator-cancel" }]);
  });

  it("saved since: confirmed, so the same cancel's answer states the fee, which its payment charges off-session", async () => {
    const { answered, decided } = await savingAsked("saved", true);
    expect(answered).toMatchObject({ currency: "KRW", capture: 3000, release: 3000 });
    expect(decided).toMatchObject([{ capture: 0, release: 0, offSession: 3000, because: "customer-cancel" }]);
  });
});
